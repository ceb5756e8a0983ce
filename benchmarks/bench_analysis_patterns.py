"""summarize_patterns over a 100,000-event synthetic result: time, and peak memory above the
process before, to show it is bounded by a block of rows, not by the result.

Run::

    .venv/bin/pytest benchmarks/bench_analysis_patterns.py --benchmark-only -s

``LOGPAGER_BENCH_PATTERN_EVENTS`` sets the result size (default 100,000).
"""

from __future__ import annotations

import gc
import json
import os
import tracemalloc
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from logpager.analysis.patterns import summarize_patterns
from logpager.cache import QueryResult
from logpager.schema import RESULT_SCHEMA
from logpager.settings import Settings
from logpager.synthetic import iter_events
from logpager.timeutil import parse_iso8601_ms

EVENTS = int(os.environ.get("LOGPAGER_BENCH_PATTERN_EVENTS", "100000"))


def synthetic_result(n: int, settings: Settings) -> QueryResult:
    messages = [m.rstrip("\n") for m in iter_events(n, seed=0)]
    batch = pa.record_batch(
        [
            pa.array([parse_iso8601_ms(json.loads(m)["timestamp"]) for m in messages], pa.int64()),
            pa.array(messages, pa.string()),
            pa.array(["synthetic"] * n),
            pa.array(range(n), pa.int64()),
        ],
        schema=RESULT_SCHEMA,
    )
    return QueryResult.from_batches([batch], settings=settings)


def peak_bytes(run: Callable[[], Any]) -> int:
    """
    :return: Peak bytes ``run`` allocated above the process before it: Python's heap
        (tracemalloc) plus Arrow's, counted by a proxy pool of its own.
    """
    gc.collect()
    previous = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(previous)
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        run()
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    return int(python_peak + pool.max_memory())


@pytest.mark.parametrize("batch_rows", [1024, 8192, 32768])
def test_summarize_patterns(benchmark: Any, batch_rows: int) -> None:
    settings = Settings(max_cached_results=EVENTS, patterns_batch_rows=batch_rows)
    result = synthetic_result(EVENTS, settings)
    summary = benchmark.pedantic(
        lambda: summarize_patterns(result, 20, settings), rounds=3, iterations=1
    )
    assert summary["num_events"] == EVENTS
    peak = peak_bytes(lambda: summarize_patterns(result, 20, settings))
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(
        events=EVENTS,
        templates=summary["num_templates"],
        peak_bytes=peak,
        result_compressed_bytes=result.compressed_bytes,
    )
    print(
        f"\n[batch_rows={batch_rows}] {EVENTS:,} events: {seconds * 1000:.0f} ms "
        f"({EVENTS / seconds:,.0f} events/s), {summary['num_templates']} templates, "
        f"peak {peak / 2**20:.1f} MiB above the process "
        f"(result {result.compressed_bytes / 2**20:.1f} MiB compressed)"
    )
