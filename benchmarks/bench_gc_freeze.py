"""Pages under concurrent load with the startup heap frozen (``gc_freeze``) and without.

Two real ``logpager serve --transport http`` processes over the same archives, one with
``LOGPAGER_GC_FREEZE=false``; each caches one 100,000-event result, then
``LOGPAGER_BENCH_GC_CLIENTS`` (8) threads of raw HTTP clients page it at random for
``LOGPAGER_BENCH_GC_SECONDS`` (8 s) a window, windows alternating between the two servers
(3 each). Figures: pages per second, p50 and p99 latency of each.

Run (about a minute)::

    .venv/bin/pytest benchmarks/bench_gc_freeze.py --benchmark-only -s
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from benchmarks._bench_common import make_synthetic
from harness.mcp_http import McpHttpClient
from harness.serve_proc import serve_http
from logpager.ingest import ingest

EVENTS = 100_000
CLIENTS = int(os.environ.get("LOGPAGER_BENCH_GC_CLIENTS", "8"))
SECONDS = float(os.environ.get("LOGPAGER_BENCH_GC_SECONDS", "8"))
WINDOWS = 3


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    root = tmp_path_factory.mktemp("gc-freeze")
    data = root / "data"
    ingest([make_synthetic(root, EVENTS)], data_dir=data)
    found: dict[str, tuple[str, str]] = {}
    with ExitStack() as stack:
        for name, freeze in (("frozen", "true"), ("unfrozen", "false")):
            url = stack.enter_context(
                serve_http(data, settings={"gc_freeze": freeze, "max_cached_results": "100000"})
            )
            client = McpHttpClient(url).open()
            first = client.call("search_by_kql", kql_query="*")
            assert first["num_total_items"] == EVENTS, first
            found[name] = (url, first["result_handle"])
            client.close()
        yield found


def _window(url: str, handle: str, pages: int) -> tuple[list[float], float]:
    """:return: Every call's latency of CLIENTS threads paging for SECONDS, and the span."""
    latencies: list[float] = []
    lock = threading.Lock()
    clients = [McpHttpClient(url).open() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def run(client: McpHttpClient, seed: int) -> None:
        pick = random.Random(seed)
        mine: list[float] = []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            page = client.call(
                "get_nth_page", page_index=pick.randrange(pages), result_handle=handle
            )
            mine.append(time.perf_counter() - began)
            assert "Error" not in page, page
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + SECONDS
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    span = time.perf_counter() - began
    for client in clients:
        client.close()
    return latencies, span


def test_gc_freeze_under_load(benchmark: Any, servers: dict[str, tuple[str, str]]) -> None:
    samples: dict[str, list[float]] = {"frozen": [], "unfrozen": []}
    spans: dict[str, float] = {"frozen": 0.0, "unfrozen": 0.0}
    pages = EVENTS // 10

    def one_round() -> None:
        for name in ("unfrozen", "frozen"):
            latencies, span = _window(*servers[name], pages)
            samples[name] += latencies
            spans[name] += span

    benchmark.pedantic(one_round, rounds=WINDOWS, iterations=1)
    figures = {}
    for name, values in samples.items():
        cuts = statistics.quantiles(values, n=100)
        figures[name] = {
            "pages_per_s": len(values) / spans[name],
            "p50_ms": cuts[49] * 1e3,
            "p99_ms": cuts[98] * 1e3,
            "max_ms": max(values) * 1e3,
            "calls": len(values),
        }
    benchmark.extra_info.update(figures=figures, load_average=os.getloadavg())
    print(f"\n{CLIENTS} clients, random pages of {EVENTS:,} events, {WINDOWS} windows of "
          f"{SECONDS:.0f} s each, alternating; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    for name, row in figures.items():
        print(
            f"  {name:<9} {row['pages_per_s']:.0f} pages/s, p50 {row['p50_ms']:.1f} ms, "
            f"p99 {row['p99_ms']:.1f} ms, max {row['max_ms']:.1f} ms ({row['calls']} calls)"
        )
