"""From a query to a cached result: the search and the streaming build, overlapped.

The engine runs in its own process, so the work of this one can overlap it. While ``clp-s``
reports each archive's hits oldest first and the archives do not overlap in time (text logs,
one schema), the hits go straight to a :class:`~logpager.cache.streaming.StreamingBuild`
(``settings.streaming_build``; :mod:`logpager.search.in_order`), which lays out and
compresses the result's chunks while the engine runs, so that only the newest chunks of the
last archive are left to compress when it exits. Otherwise, from the first hits that do not
fit (what was streamed is handed back and becomes one run), the hits are sorted and
compressed into runs (:mod:`logpager.search.runs`). The result's zstd dictionary is trained
on the first hits either way (``on_sample`` hands them to :meth:`ResultBuilder.prime`, which
trains in a worker thread). Once the search has ended, the runs are merged latest first and
handed over batch by batch (``iter_batches(release=True)``) to the
:class:`~logpager.cache.ResultBuilder`, which encodes each group of chunks and compresses it
in worker threads while the next rows are merged; each compressed run piece is freed as soon
as it has been read, so the runs and the result are never both held whole.
"""

from __future__ import annotations

import asyncio
import time

from logpager.cache import QueryResult, ResultBuilder
from logpager.cache.streaming import StreamingBuild
from logpager.clock import Clock
from logpager.memory.allocators import release_free_memory
from logpager.query import QuerySpec
from logpager.search.backend import SearchBackend, SearchOutcome
from logpager.settings import Settings

__all__ = ["search_and_cache", "search_and_cache_async"]


def search_and_cache(
    backend: SearchBackend,
    spec: QuerySpec,
    *,
    settings: Settings,
    max_compressed_bytes: int | None = None,
    clock: Clock = time.monotonic,
) -> tuple[QueryResult, SearchOutcome]:
    """
    Runs a search and builds its cached result.

    :param backend: The search engine.
    :param spec: What to search: query, time range, archives (``None``: all), the rows to
        keep and the page size (``None``: the settings').
    :param settings: The cache's settings (chunk layout, compression, cap).
    :param max_compressed_bytes: Limit of the result's compressed bytes (see
        :class:`~logpager.cache.ResultBuilder`); ``None``: no limit.
    :param clock: Monotonic clock for the result's timestamps.
    :return: The result (its spec pinned to the archives searched), and the search's outcome
        (its batches already handed over).
    :raise SearchError: Or a subclass, when the search cannot run or finish.
    """
    builder = _builder(spec, settings, max_compressed_bytes, clock)
    stream = StreamingBuild(builder, settings) if settings.streaming_build else None
    try:
        outcome = backend.search(builder.spec, on_sample=builder.prime, stream=stream)
        return _build(builder, stream, outcome), outcome
    finally:
        _close(builder, stream)


async def search_and_cache_async(
    backend: SearchBackend,
    spec: QuerySpec,
    *,
    settings: Settings,
    max_compressed_bytes: int | None = None,
    clock: Clock = time.monotonic,
) -> tuple[QueryResult, SearchOutcome]:
    """
    :func:`search_and_cache` without blocking the event loop: the search runs through
    ``search_async`` (cancelling it stops the engine), the build in a worker thread.

    :param backend: The search engine.
    :param spec: What to search, as :func:`search_and_cache`.
    :param settings: The cache's settings (chunk layout, compression, cap).
    :param max_compressed_bytes: Limit of the result's compressed bytes; ``None``: no limit.
    :param clock: Monotonic clock for the result's timestamps.
    :return: As :func:`search_and_cache`.
    :raise SearchError: Or a subclass, when the search cannot run or finish.
    """
    builder = _builder(spec, settings, max_compressed_bytes, clock)
    stream = StreamingBuild(builder, settings) if settings.streaming_build else None
    try:
        outcome = await backend.search_async(builder.spec, on_sample=builder.prime, stream=stream)
        # Merging, encoding and compressing is CPU work; keep it off the event loop.
        result = await asyncio.to_thread(_build, builder, stream, outcome)
        return result, outcome
    finally:
        # Does not wait for the worker threads, so it is safe on the event loop.
        _close(builder, stream)


def _builder(
    spec: QuerySpec, settings: Settings, max_compressed_bytes: int | None, clock: Clock
) -> ResultBuilder:
    # Made before the search so that its dictionary is trained while the engine runs; its
    # spec, with the cap and page size resolved, is what the backend is asked to search.
    return ResultBuilder(
        spec, settings=settings, max_compressed_bytes=max_compressed_bytes, clock=clock
    )


def _close(builder: ResultBuilder, stream: StreamingBuild | None) -> None:
    builder.close()
    if stream is not None:
        stream.close()


def _build(
    builder: ResultBuilder, stream: StreamingBuild | None, outcome: SearchOutcome
) -> QueryResult:
    try:
        if outcome.streamed:
            assert stream is not None
            result = stream.finish(
                total_matches=outcome.total_matches, archive_ids=outcome.archive_ids
            )
        else:
            result = builder.build(
                # release=True frees the search's compressed runs as the result takes them in.
                outcome.iter_batches(release=True),
                total_matches=outcome.total_matches,
                archive_ids=outcome.archive_ids,
            )
        result.skipped_archives = outcome.skipped_archives
        return result
    finally:
        # The search's blocks, runs and groups are freed by now; glibc keeps freed memory in
        # its arenas unless asked. Returning it (~2 ms) is what lets a server's RSS fall back
        # to its cache between searches (12 MB less after the search benchmark's warm-up
        # search of 12,000 events).
        release_free_memory()
