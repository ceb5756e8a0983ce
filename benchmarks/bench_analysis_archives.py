"""list_fields and get_log_context over a 100,000-event synthetic archive: time, and peak
memory above the process before the call.

Run::

    .venv/bin/pytest benchmarks/bench_analysis_archives.py --benchmark-only -s

``LOGPAGER_BENCH_ARCHIVE_EVENTS`` sets the archive's size (default 100,000). Peak memory is
tracemalloc's peak (Python objects) plus the peak of an Arrow pool that stands in for the
default one during the call. Both stream the archive, so the peak follows one read of
``clp-s``'s stream (``search_read_bytes``) and ``fields_batch_bytes`` (list_fields) or the
window (get_log_context), not the archive's size.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from benchmarks._bench_common import make_synthetic
from logpager.analysis.context import LogContext, log_context
from logpager.analysis.fields import FieldCatalog
from logpager.ingest import ingest
from logpager.search import ClpSBackend
from logpager.settings import Settings

ARCHIVE_EVENTS = int(os.environ.get("LOGPAGER_BENCH_ARCHIVE_EVENTS", "100000"))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """:return: A data directory of one synthetic archive, its id, and its source's bytes."""
    folder = tmp_path_factory.mktemp("bench-archives")
    source = make_synthetic(folder, ARCHIVE_EVENTS)
    data = folder / "data"
    report = ingest([source], data_dir=data, progress=None)
    return data, report.archive_ids[0], source.stat().st_size


def peak_bytes(work: Callable[[], Any]) -> int:
    """:return: Peak bytes above the process before ``work`` (Python heap + Arrow pool)."""
    gc.collect()
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        work()
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    return int(python_peak + pool.max_memory())


@pytest.mark.parametrize("batch_bytes", [1 << 20, 4 << 20])
def test_list_fields(benchmark: Any, archive: tuple[Path, str, int], batch_bytes: int) -> None:
    data, _archive_id, size = archive
    settings = Settings(data_dir=data, fields_batch_bytes=batch_bytes)
    backend = ClpSBackend(settings)

    def scan() -> dict[str, Any]:
        return FieldCatalog(settings).list_fields(backend)  # a new catalog: no cached answer

    answer = benchmark.pedantic(scan, rounds=3, iterations=1, warmup_rounds=1)
    assert answer["events_scanned"] == ARCHIVE_EVENTS
    peak = peak_bytes(scan)
    print(
        f"\nlist_fields: {ARCHIVE_EVENTS:,} events ({size / 1e6:.1f} MB of JSON), batch "
        f"{batch_bytes >> 20} MiB: median {benchmark.stats.stats.median:.2f} s, peak "
        f"{peak / 1e6:.1f} MB above the process"
    )
    # Bounded by one read of clp-s's stream and a batch (its text and its table), not the
    # archive.
    assert peak < 8 * settings.search_read_bytes + 4 * batch_bytes


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_get_log_context(benchmark: Any, archive: tuple[Path, str, int], where: str) -> None:
    data, archive_id, _size = archive
    settings = Settings(data_dir=data)
    backend = ClpSBackend(settings)
    index = {"start": 100, "middle": ARCHIVE_EVENTS // 2, "end": ARCHIVE_EVENTS - 101}[where]
    link = f"clp://{archive_id}/{index}"

    def around() -> LogContext:
        return log_context(backend, link, 100, 100)

    found = benchmark.pedantic(around, rounds=5, iterations=1, warmup_rounds=1)
    assert len(found.before) == len(found.after) == 100
    peak = peak_bytes(around)
    print(
        f"\nget_log_context 100+100 at the {where} of {ARCHIVE_EVENTS:,} events: median "
        f"{benchmark.stats.stats.median * 1000:.0f} ms, peak {peak / 1e6:.2f} MB above the "
        f"process"
    )
    assert peak < 8 * settings.search_read_bytes  # one read of the stream, and the window
