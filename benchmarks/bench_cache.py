"""Session cache versus the reference design: memory, page latency, build throughput.

Run::

    .venv/bin/pytest benchmarks/bench_cache.py --benchmark-only -s

``LOGPAGER_BENCH_PAGING_EVENTS`` sets the paging result size (default 1,000,000) and
``LOGPAGER_BENCH_CACHE_DATASETS`` (comma-separated) the datasets of the bytes benchmark
(default all). Each test prints the ratio of logpager to the reference baseline measured in
the same run; the bytes ratio is gated (``scripts/bench.sh --check``).

Memory is counted by :mod:`benchmarks._heap` in a fresh process, where every allocation,
C libraries' included, goes through ``malloc`` and is counted exactly. The in-process count
of tracemalloc plus Arrow's pool is printed beside it: it misses python-zstandard's
``malloc``-ed contexts (~96 KB a decompressor, ~27 KB more for a digested dictionary), which
made results held one context each look 2-3x smaller than they were.
"""

from __future__ import annotations

import gc
import json
import os
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks._heap import held_bytes_per_copy, write_batches
from benchmarks.gate import record
from benchmarks.reference_baseline import ReferenceResult, format_lines
from logpager.cache import QueryResult
from logpager.ingest import ingest, sample_files
from logpager.query import QuerySpec
from logpager.schema import RESULT_SCHEMA
from logpager.search import ClpSBackend
from logpager.settings import Settings
from logpager.synthetic import iter_events
from logpager.timeutil import parse_iso8601_ms

PAGING_EVENTS = int(os.environ.get("LOGPAGER_BENCH_PAGING_EVENTS", "1000000"))
ARCHIVE = "0b6f7c1e-8d4a-4c55-9a3e-2f1b7d9e6a10"


def synthetic_batch(n: int) -> pa.RecordBatch:
    messages = list(iter_events(n, seed=0))
    timestamps = [parse_iso8601_ms(json.loads(m)["timestamp"]) for m in messages]
    return pa.record_batch(
        [
            pa.array(timestamps, pa.int64()),
            pa.array(messages, pa.string()),
            pa.array([ARCHIVE] * n),
            pa.array(range(n), pa.int64()),
        ],
        schema=RESULT_SCHEMA,
    )


def retained_bytes(build: Callable[[], object]) -> tuple[int, object]:
    """
    Bytes a built object keeps as Python and Arrow see them: Python heap (tracemalloc) plus
    Arrow's pool. Blind to memory C libraries take with ``malloc``; see :mod:`benchmarks._heap`.
    """
    build()  # warm-up: module-level caches and lazy imports are not the object's bytes
    gc.collect()
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    obj = build()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current + pa.total_allocated_bytes() - arrow_before, obj


def loghub_batches(tmp: Path, name: str) -> list[pa.RecordBatch]:
    data_dir = tmp / name
    path = next(p for p in sample_files() if p.name.startswith(name))
    settings = Settings(data_dir=data_dir, max_cached_results=10**6)
    ingest([path], data_dir=data_dir, settings=settings, default_year=2020, progress=None)
    return list(ClpSBackend(settings).search(QuerySpec("*")).batches)


ALL_DATASETS = "synthetic,Apache,HDFS,Linux,OpenSSH,Zookeeper"
DATASETS = os.environ.get("LOGPAGER_BENCH_CACHE_DATASETS", ALL_DATASETS).split(",")


@pytest.mark.parametrize("dataset", DATASETS)
def test_bytes_per_1000_events(benchmark, dataset, tmp_path):
    batches = (
        [synthetic_batch(20_000)] if dataset == "synthetic" else loghub_batches(tmp_path, dataset)
    )
    n = sum(b.num_rows for b in batches)
    settings = Settings(max_cached_results=10**7)

    def build_ours() -> QueryResult:
        return QueryResult.from_batches(batches, settings=settings)

    rows_file = write_batches(tmp_path / "rows.arrow", batches)
    # Enough copies that the per-copy figure is not dominated by one-off allocations.
    ours = held_bytes_per_copy(rows_file, "logpager", max(200_000 // n, 4))["held_bytes"]
    theirs = held_bytes_per_copy(rows_file, "reference", 3)["held_bytes"]
    visible, result = retained_bytes(build_ours)
    assert isinstance(result, QueryResult)
    benchmark.pedantic(build_ours, rounds=3, iterations=1)
    ratio = ours / theirs
    benchmark.extra_info.update(
        events=n,
        logpager_bytes_per_1000=round(ours * 1000 / n),
        reference_bytes_per_1000=round(theirs * 1000 / n),
        exact_compressed_bytes_per_1000=round(result.compressed_bytes * 1000 / n),
        tracemalloc_bytes_per_1000=round(visible * 1000 / n),
        ratio=round(ratio, 4),
    )
    record(benchmark, f"cache_bytes_vs_reference.{dataset}", ratio, "lower")
    print(
        f"\n[{dataset}] {n} events: logpager {ours * 1000 // n:,} B/1000 "
        f"(compressed {result.compressed_bytes * 1000 // n:,}, tracemalloc sees "
        f"{visible * 1000 // n:,}), reference {theirs * 1000 // n:,} B/1000, "
        f"ratio 1/{1 / ratio:.1f}"
    )


@pytest.fixture(scope="module")
def big_results() -> tuple[QueryResult, ReferenceResult]:
    batch = synthetic_batch(PAGING_EVENTS)
    ours = QueryResult.from_batches([batch], settings=Settings(max_cached_results=10**7))
    theirs = ReferenceResult(format_lines([batch]))
    return ours, theirs


@pytest.mark.parametrize("impl", ["logpager", "reference"])
def test_random_page_cold(benchmark, big_results, impl):
    ours, theirs = big_results
    rng = random.Random(1)
    pages = ours.num_pages
    ours.drop_decoded()
    target = ours if impl == "logpager" else theirs

    def fetch() -> None:
        target.get_page(rng.randrange(pages))

    benchmark.pedantic(fetch, rounds=5000, iterations=1, warmup_rounds=10)


@pytest.mark.parametrize("impl", ["logpager", "reference"])
def test_sequential_page_warm(benchmark, big_results, impl):
    ours, theirs = big_results
    state = {"i": 0}
    target = ours if impl == "logpager" else theirs

    def fetch() -> None:
        target.get_page(state["i"] % 5000)
        state["i"] += 1

    benchmark.pedantic(fetch, rounds=5000, iterations=1, warmup_rounds=10)


@pytest.mark.parametrize("impl", ["logpager", "reference"])
def test_build_throughput(benchmark, impl):
    batch = synthetic_batch(min(PAGING_EVENTS, 500_000))
    settings = Settings(max_cached_results=10**7)
    if impl == "logpager":
        result = benchmark.pedantic(
            lambda: QueryResult.from_batches([batch], settings=settings), rounds=3, iterations=1
        )
        assert result.num_items == batch.num_rows
    else:
        benchmark.pedantic(lambda: format_lines([batch]), rounds=1, iterations=1)
    events_per_s = batch.num_rows / benchmark.stats.stats.median
    benchmark.extra_info["events_per_second"] = round(events_per_s)
    print(f"\n[{impl}] build: {events_per_s:,.0f} events/s")
