"""From a query to a cached result: the search and the streaming build, overlapped.

The engine runs in its own process, so the work of this one can overlap it. While ``clp-s``
searches, its hits are sorted and compressed into runs (:mod:`logpager.search.runs`) and
the result's zstd dictionary is trained on the first hits (``on_sample`` hands them to
:meth:`ResultBuilder.prime`, which trains in a worker thread). Once the search has ended,
the runs are merged latest first and handed over batch by batch
(``iter_batches(release=True)``) to the :class:`~logpager.cache.ResultBuilder`, which encodes
each group of chunks and compresses it in worker threads while the next rows are merged; each
compressed run piece is freed as soon as it has been read, so the runs and the result are
never both held whole.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from logpager.cache import QueryResult, ResultBuilder
from logpager.clock import Clock
from logpager.memory.allocators import release_free_memory
from logpager.search.backend import SearchBackend, SearchOutcome
from logpager.settings import Settings

__all__ = ["search_and_cache", "search_and_cache_async"]


def search_and_cache(
    backend: SearchBackend,
    query: str,
    *,
    settings: Settings,
    begin_ms: int | None = None,
    end_ms: int | None = None,
    archive_ids: Sequence[str] | None = None,
    max_results: int | None = None,
    page_size: int | None = None,
    max_compressed_bytes: int | None = None,
    clock: Clock = time.monotonic,
) -> tuple[QueryResult, SearchOutcome]:
    """
    Runs a search and builds its cached result.

    :param backend: The search engine.
    :param query: KQL.
    :param settings: The cache's settings (chunk layout, compression, cap).
    :param begin_ms: Earliest timestamp (epoch ms, inclusive), if any.
    :param end_ms: Latest timestamp (epoch ms, inclusive), if any.
    :param archive_ids: Search only these archives (``None``: all).
    :param max_results: Rows to keep (``None``: ``settings.max_cached_results``).
    :param page_size: Overrides ``settings.page_size``.
    :param max_compressed_bytes: Limit of the result's compressed bytes (see
        :class:`~logpager.cache.ResultBuilder`); ``None``: no limit.
    :param clock: Monotonic clock for the result's timestamps.
    :return: The result, and the search's outcome (its batches already handed over).
    :raise SearchError: Or a subclass, when the search cannot run or finish.
    """
    builder = _builder(settings, max_results, page_size, max_compressed_bytes)
    try:
        outcome = backend.search(
            query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            archive_ids=archive_ids,
            max_results=builder.cap,
            on_sample=builder.prime,
        )
        return _build(builder, outcome, query, begin_ms, end_ms, clock), outcome
    finally:
        builder.close()


async def search_and_cache_async(
    backend: SearchBackend,
    query: str,
    *,
    settings: Settings,
    begin_ms: int | None = None,
    end_ms: int | None = None,
    archive_ids: Sequence[str] | None = None,
    max_results: int | None = None,
    page_size: int | None = None,
    max_compressed_bytes: int | None = None,
    clock: Clock = time.monotonic,
) -> tuple[QueryResult, SearchOutcome]:
    """
    :func:`search_and_cache` without blocking the event loop: the search runs through
    ``search_async`` (cancelling it stops the engine), the build in a worker thread.

    :param backend: The search engine.
    :param query: KQL.
    :param settings: The cache's settings (chunk layout, compression, cap).
    :param begin_ms: Earliest timestamp (epoch ms, inclusive), if any.
    :param end_ms: Latest timestamp (epoch ms, inclusive), if any.
    :param archive_ids: Search only these archives (``None``: all).
    :param max_results: Rows to keep (``None``: ``settings.max_cached_results``).
    :param page_size: Overrides ``settings.page_size``.
    :param max_compressed_bytes: Limit of the result's compressed bytes; ``None``: no limit.
    :param clock: Monotonic clock for the result's timestamps.
    :return: As :func:`search_and_cache`.
    :raise SearchError: Or a subclass, when the search cannot run or finish.
    """
    builder = _builder(settings, max_results, page_size, max_compressed_bytes)
    try:
        outcome = await backend.search_async(
            query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            archive_ids=archive_ids,
            max_results=builder.cap,
            on_sample=builder.prime,
        )
        # Merging, encoding and compressing is CPU work; keep it off the event loop.
        result = await asyncio.to_thread(_build, builder, outcome, query, begin_ms, end_ms, clock)
        return result, outcome
    finally:
        # Does not wait for the worker threads, so it is safe on the event loop.
        builder.close()


def _builder(
    settings: Settings,
    max_results: int | None,
    page_size: int | None,
    max_compressed_bytes: int | None,
) -> ResultBuilder:
    # Made before the search so that its dictionary is trained while the engine runs.
    return ResultBuilder(
        settings=settings,
        page_size=page_size,
        max_cached_results=max_results,
        max_compressed_bytes=max_compressed_bytes,
    )


def _build(
    builder: ResultBuilder,
    outcome: SearchOutcome,
    query: str,
    begin_ms: int | None,
    end_ms: int | None,
    clock: Clock,
) -> QueryResult:
    try:
        return builder.build(
            # release=True frees the search's compressed runs as the result takes them in.
            outcome.iter_batches(release=True),
            query=query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            total_matches=outcome.total_matches,
            archive_ids=outcome.archive_ids,
            clock=clock,
        )
    finally:
        # The search's blocks, runs and groups are freed by now; glibc keeps freed memory in
        # its arenas unless asked. Returning it (~2 ms) is what lets a server's RSS fall back
        # to its cache between searches (12 MB less after the search benchmark's warm-up
        # search of 12,000 events).
        release_free_memory()
