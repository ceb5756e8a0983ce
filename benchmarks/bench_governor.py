"""The memory governor: its cost on get_nth_page, and the edge-profile soak.

Run::

    .venv/bin/pytest benchmarks/bench_governor.py --benchmark-only -s

``test_governor_overhead`` pages one cached result through a manager with the governor on
(budget far above the cache, so it only watches) and through one without a governor, in
alternating blocks (``LOGPAGER_BENCH_GOVERNOR_BLOCKS``, default 40, of 500 calls each), and
prints the ratio of the medians (target: under 5% more; gated by ``scripts/bench.sh``).
``test_edge_soak`` runs the soak of tests/test_governor_soak.py (set
``LOGPAGER_BENCH_SOAK_SESSIONS`` to change its 200 sessions) and prints its figures.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from benchmarks._bench_common import median
from benchmarks.gate import record
from harness.rows import make_events
from harness.soak import make_soak_data, run_soak
from logpager.cache import QueryResult
from logpager.memory.governor import MemoryGovernor
from logpager.sessions import SessionManager
from logpager.settings import Settings

EVENTS = 100_000
BLOCKS = int(os.environ.get("LOGPAGER_BENCH_GOVERNOR_BLOCKS", "40"))
CALLS_PER_BLOCK = 500


def _manager(governed: bool) -> SessionManager:
    settings = Settings(
        require_instructions=False,
        max_cached_results=EVENTS,
        memory_budget_bytes=1 << 34,
        probe_interval_seconds=0.5,
    )
    manager = SessionManager(settings=settings)
    if governed:
        MemoryGovernor(manager)
    result = QueryResult.from_batches([make_events(EVENTS)], settings=settings)
    manager.cache_query_result("s", "q", result)
    return manager


def _block(manager: SessionManager, pages: list[int]) -> float:
    """:return: Median seconds of one get_nth_page over ``pages``."""
    times = []
    for page in pages:
        started = time.perf_counter()
        manager.get_nth_page("s", page)
        times.append(time.perf_counter() - started)
    return median(times)


@pytest.mark.parametrize("access", ["sequential", "random"])
def test_governor_overhead(benchmark, access):
    governed, bare = _manager(True), _manager(False)
    rng = random.Random(3)
    num_pages = EVENTS // 10
    if access == "sequential":
        pages = [i % num_pages for i in range(CALLS_PER_BLOCK)]
    else:
        pages = [rng.randrange(num_pages) for _ in range(CALLS_PER_BLOCK)]
    with_gov: list[float] = []
    without: list[float] = []
    for block in range(BLOCKS):
        # Alternate which goes first so drift in the machine's speed hits both alike.
        order = [(governed, with_gov), (bare, without)]
        for manager, out in order if block % 2 else order[::-1]:
            out.append(_block(manager, pages))
    benchmark.pedantic(lambda: _block(governed, pages), rounds=5, iterations=1)
    ratio = median(with_gov) / median(without)
    benchmark.extra_info.update(
        governed_median_us=round(median(with_gov) * 1e6, 2),
        bare_median_us=round(median(without) * 1e6, 2),
        ratio=round(ratio, 4),
    )
    record(benchmark, f"governor_on_vs_off.{access}", ratio, "lower")
    print(
        f"\n[{access}] get_nth_page median: governor on {median(with_gov) * 1e6:.2f} us, "
        f"no governor {median(without) * 1e6:.2f} us, overhead {100 * (ratio - 1):+.1f}%"
    )


def test_edge_soak(benchmark, tmp_path: Path):
    sessions = int(os.environ.get("LOGPAGER_BENCH_SOAK_SESSIONS", "200"))
    data = make_soak_data(tmp_path)
    reports = {}

    def soak() -> None:
        reports["on"] = asyncio.run(run_soak(data, sessions=sessions))

    benchmark.pedantic(soak, rounds=1, iterations=1)
    off = asyncio.run(run_soak(data, sessions=sessions, governor=False, stop_when_exceeded=True))
    on = reports["on"]
    gov = on.metrics.get("governor", {})
    sess = on.metrics.get("sessions", {})
    benchmark.extra_info.update(
        peak_rss_mib=round(on.peak_rss_bytes / 2**20, 1),
        peak_cache_items=gov.get("peak_cache_items"),
        reruns=sess.get("reruns"),
        no_governor_peak_rss_mib=round(off.peak_rss_bytes / 2**20, 1),
    )
    print(
        f"\n[edge soak] {sessions} sessions x 100,000 events, {on.pages_served} random pages, "
        f"{on.seconds:.0f} s: peak RSS {on.peak_rss_bytes / 2**20:.1f} MiB "
        f"(limit 256 MiB, idle {on.baseline_rss_bytes / 2**20:.1f} MiB, {on.samples} samples); "
        f"events cached at the peak {gov.get('peak_cache_items')}, "
        f"peak cache {gov.get('peak_cache_bytes', 0) / 2**20:.1f} MiB; "
        f"evictions {gov.get('results_evicted')}, re-runs {sess.get('reruns')}, "
        f"errors {len(on.errors)}, wrong pages {len(on.wrong_pages)}\n"
        f"[edge soak, governor off] peak RSS {off.peak_rss_bytes / 2**20:.1f} MiB, "
        f"over the limit after {off.exceeded_after_sessions} sessions"
    )
