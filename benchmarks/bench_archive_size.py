"""What smaller archives cost and save: ``clp-s`` search time, its peak memory, disk.

The same synthetic events are ingested twice, once as clp-s makes archives by default (one
archive until 8 GiB of dictionaries and encoded messages) and once at ``archive_target_bytes``
(4 MiB); then rounds alternate bare ``clp-s`` searches of both, each run's peak RSS read
by GNU ``time`` (``/usr/bin/time -f %M``).

Run (about a minute)::

    .venv/bin/pytest benchmarks/bench_archive_size.py --benchmark-only -s
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._bench_common import make_synthetic, median
from logpager.ingest import ingest
from logpager.search import find_clp_s
from logpager.search.datadir import archives_dir
from logpager.settings import Settings

EVENTS = int(os.environ.get("LOGPAGER_BENCH_ARCHIVE_EVENTS", "300000"))
DEFAULT_CLP_S_TARGET = 8 << 30  # clp-s's own default
QUERIES = ["*", "level: DEBUG"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("archive-size")
    source = make_synthetic(root, EVENTS)
    dirs = {}
    for name, target in (("one", DEFAULT_CLP_S_TARGET), ("small", Settings().archive_target_bytes)):
        dirs[name] = root / name
        ingest([source], data_dir=dirs[name], settings=Settings(archive_target_bytes=target))
    return dirs


def _search(data_dir: Path, query: str, scratch: Path) -> tuple[float, int]:
    """:return: Seconds and peak RSS (bytes) of one bare clp-s search."""
    # GNU time reads clp-s's own peak; this process's rusage of its child would also count
    # the moment between fork and exec, when the child is a copy of this Python process.
    report = scratch / "time.txt"
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(report), str(find_clp_s(None)), "s"]
    argv += [str(archives_dir(data_dir)), query, "file", "--path", "/dev/null"]
    began = time.perf_counter()
    subprocess.run(argv, check=True)
    took = time.perf_counter() - began
    return took, int(report.read_text().split()[-1]) * 1024


def _disk(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in archives_dir(data_dir).rglob("*") if p.is_file())


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs GNU time (Debian: time)")
@pytest.mark.parametrize("query", QUERIES)
def test_archive_size(benchmark: Any, data: dict[str, Path], query: str, tmp_path: Path) -> None:
    seconds: dict[str, list[float]] = {"one": [], "small": []}
    peaks: dict[str, list[int]] = {"one": [], "small": []}

    def setup() -> None:
        took, peak = _search(data["one"], query, tmp_path)
        seconds["one"].append(took)
        peaks["one"].append(peak)

    def timed() -> None:
        took, peak = _search(data["small"], query, tmp_path)
        seconds["small"].append(took)
        peaks["small"].append(peak)

    benchmark.pedantic(timed, setup=setup, rounds=7, iterations=1)
    archives = {k: len(list(archives_dir(v).iterdir())) for k, v in data.items()}
    figures = {
        "one_s": median(seconds["one"]),
        "small_s": median(seconds["small"]),
        "time_ratio": median(seconds["small"]) / median(seconds["one"]),
        "one_peak_mb": max(peaks["one"]) / 1e6,
        "small_peak_mb": max(peaks["small"]) / 1e6,
        "one_disk_mb": _disk(data["one"]) / 1e6,
        "small_disk_mb": _disk(data["small"]) / 1e6,
        "archives": archives,
    }
    benchmark.extra_info.update(figures)
    spread = {k: (round(min(v), 3), round(max(v), 3)) for k, v in seconds.items()}
    print(f"\n{EVENTS:,} events, {query!r}: {figures}; time min/max {spread}")
