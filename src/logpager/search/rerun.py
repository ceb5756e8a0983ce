"""Re-running an evicted result from its spec, on the data it first ran on."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.query import QuerySpec
from logpager.search.backend import SearchBackend
from logpager.search.pipeline import search_and_cache
from logpager.settings import Settings

__all__ = ["make_rerunner"]


def make_rerunner(
    backend: SearchBackend,
    settings: Settings,
    *,
    max_result_bytes: Callable[[], int | None] = lambda: None,
    clock: Clock = time.monotonic,
) -> Callable[[QuerySpec], QueryResult]:
    """
    Builds the callback that rebuilds an evicted result.

    The spec a tombstone keeps is pinned to the archives that existed when the query first
    ran, its time range and page size, and a cap of the number of items it held, so the pages
    are the same as before the eviction even after new ingests.

    :param backend: The search engine.
    :param settings: Chunk layout and compression settings.
    :param max_result_bytes: The governor's current limit for one result (None: no limit).
    :param clock: Monotonic clock for the rebuilt result's timestamps.
    :return: A :data:`~logpager.sessions.Rerunner`; it raises what the search raises.
    """

    def rerun(spec: QuerySpec) -> QueryResult:
        # A spec pinned to no archive at all (rows that came from no search) searches all.
        pinned = spec if spec.archive_ids else dataclasses.replace(spec, archive_ids=None)
        result, _outcome = search_and_cache(
            backend, pinned, settings=settings, max_compressed_bytes=max_result_bytes(), clock=clock
        )
        return result

    return rerun
