"""Re-running an evicted result from its tombstone, on the data it first ran on."""

from __future__ import annotations

import time
from collections.abc import Callable

from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.search import SearchBackend
from logpager.search.pipeline import search_and_cache
from logpager.sessions import Rerunner, Tombstone
from logpager.settings import Settings

__all__ = ["make_rerunner"]


def make_rerunner(
    backend: SearchBackend,
    settings: Settings,
    *,
    max_result_bytes: Callable[[], int | None] = lambda: None,
    clock: Clock = time.monotonic,
) -> Rerunner:
    """
    Builds the callback that rebuilds an evicted result.

    The query runs against the tombstone's ``archive_ids`` (the archives that existed when it
    first ran), with its time range, page size and its cap (the number of items it held), so
    the pages are the same as before the eviction even after new ingests.

    :param backend: The search engine.
    :param settings: Chunk layout and compression settings.
    :param max_result_bytes: The governor's current limit for one result (None: no limit).
    :param clock: Monotonic clock for the rebuilt result's timestamps.
    :return: A :data:`~logpager.sessions.Rerunner`; it raises what the search raises.
    """

    def rerun(tombstone: Tombstone) -> QueryResult:
        result, _outcome = search_and_cache(
            backend,
            tombstone.query,
            settings=settings,
            begin_ms=tombstone.begin_ms,
            end_ms=tombstone.end_ms,
            archive_ids=tombstone.archive_ids or None,
            max_results=tombstone.max_cached_results,
            page_size=tombstone.page_size,
            max_compressed_bytes=max_result_bytes(),
            clock=clock,
        )
        return result

    return rerun
