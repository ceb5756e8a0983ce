"""What a session accepts as a new result, and how it becomes a :class:`QueryResult`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.query import QuerySpec
from logpager.settings import Settings

__all__ = ["Results", "build_result"]

Results = QueryResult | Sequence[str] | Sequence[dict[str, Any]] | Iterable[pa.RecordBatch]
"""What :meth:`SessionManager.cache_query_result` accepts."""


def build_result(
    results: Results,
    query: str,
    *,
    page_size: int | None,
    begin_ms: int | None,
    end_ms: int | None,
    total_matches: int | None,
    archive_ids: Sequence[str],
    settings: Settings,
    clock: Clock,
) -> QueryResult:
    """
    Builds a result from what a caller handed over (a built result is taken as it is).

    :param results: A built :class:`QueryResult`, formatted strings, event dicts, or record
        batches with :data:`~logpager.schema.RESULT_SCHEMA`.
    :param query: The query text (kept for re-runs and reports).
    :param page_size: Items per page for this result (default: the setting).
    :param begin_ms: Lower time bound of the search, if any.
    :param end_ms: Upper time bound of the search, if any.
    :param total_matches: All matches the engine counted (when more than given).
    :param archive_ids: The archives searched, for re-runs on the same data.
    :param settings: Chunk layout and compression settings.
    :param clock: The clock the result's TTL and recency are read from.
    :return: The result.
    :raise TypeError: If ``results`` mixes strings and dicts.
    """
    if isinstance(results, QueryResult):
        return results
    spec = QuerySpec(query, begin_ms, end_ms, archive_ids=tuple(archive_ids), page_size=page_size)
    if isinstance(results, Sequence) and (not results or isinstance(results[0], str | dict)):
        return QueryResult.from_items(results, spec, settings=settings, clock=clock)
    return QueryResult.from_batches(
        results, spec, settings=settings, total_matches=total_matches, clock=clock
    )
