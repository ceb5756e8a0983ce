"""What a fixed glibc mmap threshold costs and saves, in ``clp-s`` and in the server.

The edge profile fixes glibc's mmap threshold at 128 KiB for its ``clp-s`` searches
(``clp_s_mmap_threshold_bytes``, passed as ``GLIBC_TUNABLES``; glibc's own threshold grows to
32 MiB as large blocks are freed, and later large blocks then stay in the heap). Synthetic
events are ingested as an edge host would (2 MiB archives); rounds alternate with and without
the threshold:

- ``clp_s``: bare ``clp-s`` searches, each run's peak RSS read by GNU ``time``;
- ``server``: the alternative measured and rejected, the same threshold in the server
  (``mallopt``): a fresh Python process with the server's imports runs ``search_and_cache``
  of every event three times, reporting its median search time and its own peak RSS.

Run (about two minutes)::

    .venv/bin/pytest benchmarks/bench_malloc.py --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._bench_common import make_synthetic, median
from logpager.ingest import ingest
from logpager.memory.allocators import child_environment
from logpager.search import find_clp_s
from logpager.search.datadir import archives_dir
from logpager.settings import Settings, load_settings

EVENTS = int(os.environ.get("LOGPAGER_BENCH_MALLOC_EVENTS", "300000"))
ROUNDS = int(os.environ.get("LOGPAGER_BENCH_MALLOC_ROUNDS", "7"))
THRESHOLD = 128 * 1024

# One server-side run: the server's imports, the edge settings with or without the
# threshold, three searches of everything into a cached result.
_SERVER_RUN = """
import ctypes, json, resource, statistics, sys, time
import logpager.server.app
from logpager.memory.allocators import configure_allocators
from logpager.query import QuerySpec
from logpager.search.clp_s import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.settings import load_settings
threshold = None if sys.argv[2] == "none" else int(sys.argv[2])
settings = load_settings("edge")
configure_allocators(settings)
if threshold is not None:
    mallopt = ctypes.CDLL("libc.so.6").mallopt
    mallopt(-3, threshold)  # M_MMAP_THRESHOLD
    mallopt(-1, threshold)  # M_TRIM_THRESHOLD
backend = ClpSBackend(settings, data_dir=sys.argv[1])
times = []
for _ in range(3):
    began = time.perf_counter()
    result, _outcome = search_and_cache(backend, QuerySpec("*"), settings=settings)
    times.append(time.perf_counter() - began)
    del result, _outcome
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": statistics.median(times), "peak": peak}))
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("malloc")
    source = make_synthetic(root, EVENTS)
    ingest([source], data_dir=root / "data", settings=load_settings("edge"))
    return root / "data"


def _clp_s(data_dir: Path, threshold: int | None, scratch: Path) -> tuple[float, int]:
    """:return: Seconds and peak RSS (bytes) of one bare clp-s search of everything."""
    report = scratch / "time.txt"
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(report), str(find_clp_s(None)), "s"]
    argv += [str(archives_dir(data_dir)), "*", "file", "--path", "/dev/null"]
    env = child_environment(Settings(clp_s_mmap_threshold_bytes=threshold))
    began = time.perf_counter()
    subprocess.run(argv, check=True, env=env)
    took = time.perf_counter() - began
    return took, int(report.read_text().split()[-1]) * 1024


def _server(data_dir: Path, threshold: int | None, _scratch: Path) -> tuple[float, int]:
    """:return: Median seconds of a search into a cached result, and the process's peak."""
    argv = [sys.executable, "-c", _SERVER_RUN, str(data_dir), str(threshold or "none")]
    out = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
    return float(out["seconds"]), int(out["peak"])


RUNS = {"clp_s": _clp_s, "server": _server}


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs GNU time (Debian: time)")
@pytest.mark.parametrize("part", sorted(RUNS))
def test_mmap_threshold(benchmark: Any, data_dir: Path, part: str, tmp_path: Path) -> None:
    run = RUNS[part]
    seconds: dict[str, list[float]] = {"glibc": [], "fixed": []}
    peaks: dict[str, list[int]] = {"glibc": [], "fixed": []}

    def setup() -> None:
        took, peak = run(data_dir, None, tmp_path)
        seconds["glibc"].append(took)
        peaks["glibc"].append(peak)

    def timed() -> None:
        took, peak = run(data_dir, THRESHOLD, tmp_path)
        seconds["fixed"].append(took)
        peaks["fixed"].append(peak)

    benchmark.pedantic(timed, setup=setup, rounds=ROUNDS, iterations=1)
    figures = {
        "glibc_s": median(seconds["glibc"]),
        "fixed_s": median(seconds["fixed"]),
        "time_ratio": median(seconds["fixed"]) / median(seconds["glibc"]),
        "glibc_peak_mib": max(peaks["glibc"]) / 2**20,
        "fixed_peak_mib": max(peaks["fixed"]) / 2**20,
    }
    benchmark.extra_info.update(figures)
    spread = {k: (round(min(v), 3), round(max(v), 3)) for k, v in seconds.items()}
    print(f"\n{part}, {EVENTS:,} events: {figures}; time min/max {spread}")
