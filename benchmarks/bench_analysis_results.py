"""Reusing an identical search's result against running it fresh, on 100,000 events.

Run::

    .venv/bin/pytest benchmarks/bench_analysis_results.py --benchmark-only -s

The data is 100,000 synthetic events ingested into one archive; the query ``*`` keeps them
all (cap 100,000). Both paths are what ``search_by_kql`` does, without the MCP transport:
the fresh one lists the archives, looks for a result to reuse (a miss), runs clp-s, builds
and files the result and serves its first page; the reused one lists the archives, finds
the live result and serves its first page from it. Also printed: the memory a reused search
takes above the process before (tracemalloc plus Arrow's pool), against the bytes of the
result it serves, and what ``list_results`` costs over a session-table of 1,000 results.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import pyarrow as pa
import pytest

from benchmarks._bench_common import make_synthetic, median
from logpager.cache import PageDict
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.sessions import SessionManager
from logpager.sessions.query_key import ReuseKey
from logpager.settings import Settings

EVENTS = 100_000
QUERY = "*"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[SessionManager, ClpSBackend]:
    folder = tmp_path_factory.mktemp("bench-results")
    data = folder / "data"
    ingest([make_synthetic(folder, EVENTS)], data_dir=data, progress=None)
    settings = Settings(data_dir=data, require_instructions=False, max_cached_results=EVENTS)
    return SessionManager(settings=settings), ClpSBackend(settings)


def _wanted(manager: SessionManager, backend: ClpSBackend, query: str) -> ReuseKey:
    return ReuseKey.of(
        QuerySpec(query, max_results=manager.max_cached_results),
        backend.list_archives(),
        ignore_case=True,
        max_results=manager.max_cached_results,
        page_size=manager.page_size,
    )


def _fresh(manager: SessionManager, backend: ClpSBackend, session: str) -> PageDict:
    miss = manager.reuse_result(session, _wanted(manager, backend, QUERY), principal=None)
    assert miss is None
    spec = QuerySpec(QUERY, max_results=manager.max_cached_results)
    result, _ = search_and_cache(backend, spec, settings=manager.settings)
    key = manager.search_key(result, ignore_case=True)
    return manager.cache_search_result(session, result, key)


def _reused(manager: SessionManager, backend: ClpSBackend, session: str) -> PageDict:
    page = manager.reuse_result(session, _wanted(manager, backend, " * "), principal=None)
    assert page is not None
    return page


def test_reused_search_against_fresh(
    setup: tuple[SessionManager, ClpSBackend], benchmark: object
) -> None:
    manager, backend = setup
    fresh_times = []
    for i in range(5):
        # Each fresh run must miss: drop what the last one filed.
        for session in list(manager.sessions.values()):
            for handle in list(session.results):
                manager.evict_result(session, handle)
        started = time.perf_counter()
        first = _fresh(manager, backend, f"fresh-{i}")
        fresh_times.append(time.perf_counter() - started)
    assert first["num_total_items"] == EVENTS
    held = manager.total_bytes()

    # Reused into 8 sessions, round robin (each keeps its 8 newest handles): the session
    # table stays the size of a few agents', as in the fresh runs.
    counter = iter(range(10**9))
    benchmark(lambda: _reused(manager, backend, f"reuse-{next(counter) % 8}"))  # type: ignore[operator]
    reused_times = []
    for i in range(200):
        started = time.perf_counter()
        _reused(manager, backend, f"reuse-{i % 8}")
        reused_times.append(time.perf_counter() - started)
    assert manager.total_bytes() == held

    gc.collect()
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    _reused(manager, backend, "memory")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak += max(pa.total_allocated_bytes() - arrow_before, 0)

    fresh, reused = median(fresh_times), median(reused_times)
    print(
        f"\n{EVENTS:,} events: fresh search {fresh * 1000:.1f} ms, reused "
        f"{reused * 1000:.3f} ms ({fresh / reused:,.0f}x faster); result {held:,} bytes held "
        f"once by {len(manager.sessions)} sessions; a reused search's peak {peak:,} bytes "
        f"above the process before"
    )


def test_list_results_over_many(
    setup: tuple[SessionManager, ClpSBackend], benchmark: object
) -> None:
    manager, backend = setup
    if not any(s.results for s in manager.sessions.values()):
        _fresh(manager, backend, "seed")
    for i in range(1_000):
        _reused(manager, backend, f"many-{i}")
    # A reused search looks through every live result (no index): its cost with 1,000 more
    # sessions of one result each.
    times = []
    for i in range(200):
        started = time.perf_counter()
        _reused(manager, backend, f"many-{i}")
        times.append(time.perf_counter() - started)
    sessions = [f"many-{i}" for i in range(100)]
    listing = benchmark(lambda: manager.list_results(sessions, 50))  # type: ignore[operator]
    started = time.perf_counter()
    manager.list_results(sessions, 50)
    elapsed = time.perf_counter() - started
    print(
        f"\nreused search among {len(manager.sessions)} sessions: {median(times) * 1000:.3f} ms; "
        f"list_results over {len(sessions)} sessions ({listing['num_results']} live, "
        f"{listing['num_dropped']} dropped): {elapsed * 1000:.2f} ms"
    )
