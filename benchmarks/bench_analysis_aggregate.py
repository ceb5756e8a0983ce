"""aggregate_results and filter_result over a 100,000-event result: time and peak memory.

Run::

    .venv/bin/pytest benchmarks/bench_analysis_aggregate.py --benchmark-only -s

The result is a real one: ``LOGPAGER_BENCH_ANALYSIS_EVENTS`` (default 100,000) synthetic JSON
events (:func:`logpager.synthetic.write_events`), ingested and searched with ``*``, every
event kept. What is timed is the analysis function the tool runs, on the cached result.

Peak memory is what the call adds to the process while it runs: Python's heap (tracemalloc's
peak) plus Arrow's pool, sampled every millisecond by a thread (the pool's own high-water
mark cannot be reset, and building the result set it first). It is printed beside the size
of one group of decoded chunks the analyses read at a time (``aggregate_batch_rows`` rows,
see :mod:`logpager.analysis.batches`) and of the whole decoded result, to show that it
follows the group, not the result. The counting's cap (``aggregate_max_distinct_values``)
and, for filters, the new result's builder bound the rest.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from benchmarks._bench_common import make_synthetic
from logpager.analysis.aggregate import aggregate
from logpager.analysis.batches import grouped_batches
from logpager.analysis.filtering import FilterCriteria, filter_result
from logpager.cache import QueryResult
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.settings import Settings

EVENTS = int(os.environ.get("LOGPAGER_BENCH_ANALYSIS_EVENTS", "100000"))


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> tuple[QueryResult, Settings]:
    folder = tmp_path_factory.mktemp("bench-analysis")
    data = folder / "data"
    ingest([make_synthetic(folder, EVENTS)], data_dir=data, progress=None)
    settings = Settings(data_dir=data, max_cached_results=EVENTS)
    result, _ = search_and_cache(ClpSBackend(settings), QuerySpec("*"), settings=settings)
    assert result.num_items == EVENTS
    return result, settings


def peak_added_bytes(run: Callable[[], object]) -> int:
    """Peak bytes ``run`` adds: tracemalloc's peak plus Arrow's pool, sampled each ms."""
    gc.collect()
    arrow_before = pa.total_allocated_bytes()
    arrow_peak = [arrow_before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            arrow_peak[0] = max(arrow_peak[0], pa.total_allocated_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    try:
        kept = run()
    finally:
        done.set()
        sampler.join()
        _, python_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    arrow_peak[0] = max(arrow_peak[0], pa.total_allocated_bytes())
    del kept
    return int(python_peak + arrow_peak[0] - arrow_before)


def decoded_sizes(result: QueryResult, settings: Settings) -> tuple[int, int]:
    """:return: The largest group's decoded bytes (its record batch) and all of them."""
    sizes = [batch.nbytes for batch in grouped_batches(result, settings.aggregate_batch_rows)]
    return max(sizes), sum(sizes)


CASES: dict[str, Callable[[QueryResult, Settings], Any]] = {
    "histogram_5m": lambda r, s: aggregate(r, by="time", top=10, interval="5m", settings=s),
    "top_level": lambda r, s: aggregate(r, by="level", top=10, interval=None, settings=s),
    "top_status": lambda r, s: aggregate(r, by="status", top=10, interval=None, settings=s),
    # ~100,000 different values: past the exact-count cap, so the lossy counting is timed.
    "top_trace_id": lambda r, s: aggregate(r, by="trace_id", top=10, interval=None, settings=s),
    "filter_regex": lambda r, s: filter_result(
        r, FilterCriteria.parse(regex=r"(?i)timeout calling \w+"), settings=s
    ),
    "filter_text": lambda r, s: filter_result(r, FilterCriteria.parse(text="declined"), settings=s),
    "filter_field": lambda r, s: filter_result(
        r, FilterCriteria.parse(field="level", value="ERROR"), settings=s
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_analysis_time_and_peak_memory(
    benchmark: Any, cached: tuple[QueryResult, Settings], case: str
) -> None:
    result, settings = cached
    analysis = CASES[case]
    analysis(result, settings)  # warm-up: lazy imports, kernel registries
    peak = peak_added_bytes(lambda: analysis(result, settings))
    group_bytes, all_bytes = decoded_sizes(result, settings)
    benchmark.pedantic(lambda: analysis(result, settings), rounds=3, iterations=1)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(
        events=result.num_items,
        peak_added_bytes=peak,
        decoded_group_bytes=group_bytes,
        decoded_result_bytes=all_bytes,
    )
    print(
        f"\n[{case}] {result.num_items:,} events in {result.num_chunks:,} chunks: "
        f"{seconds * 1000:.0f} ms ({result.num_items / seconds / 1e6:.2f} M events/s), "
        f"peak +{peak / 1e6:.2f} MB; a group of {settings.aggregate_batch_rows:,} rows "
        f"{group_bytes / 1e6:.2f} MB decoded, "
        f"all decoded {all_bytes / 1e6:.1f} MB, compressed {result.compressed_bytes / 1e6:.1f} MB"
    )
