"""Search-and-cache against bare ``clp-s``, same data, same run.

Run (about a minute at the default 200,000 events; set LOGPAGER_BENCH_EVENTS=1000000 for the
1 M figure)::

    .venv/bin/pytest benchmarks/bench_search.py --benchmark-only -s \
        -o asyncio_default_fixture_loop_scope=function

``level: DEBUG`` matches ~18% of the synthetic events. The figures quoted in the report come
from ``test_search_ratio`` (medians of alternating runs) and ``test_search_peak_memory``
(a fresh subprocess, so the RSS high-water mark is this search's own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks._bench_common import bench_events, make_synthetic, median
from logpager.backends import ClpSBackend, find_clp_s
from logpager.cache import QueryResult
from logpager.ingest import ingest
from logpager.settings import Settings

QUERY = "level: DEBUG"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-search")
    ingest([make_synthetic(root, bench_events())], data_dir=root / "data")
    return root / "data"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, max_cached_results=max(200_000, bench_events() // 4))


def _bare(data_dir: Path) -> None:
    subprocess.run(
        [
            str(find_clp_s()),
            "s",
            "-i",
            str(data_dir / "archives"),
            " " + QUERY,
            "file",
            "--path",
            "/dev/null",
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def _search_and_cache(data_dir: Path) -> QueryResult:
    settings = _settings(data_dir)
    outcome = ClpSBackend(settings).search(QUERY)
    return QueryResult.from_batches(
        outcome.batches,
        query=QUERY,
        settings=settings,
        total_matches=outcome.total_matches,
        archive_ids=outcome.archive_ids,
        presorted=True,
    )


def test_bare_clp_s_to_devnull(benchmark, data_dir: Path) -> None:
    benchmark.pedantic(_bare, args=(data_dir,), rounds=5, warmup_rounds=1)


def test_search_only(benchmark, data_dir: Path) -> None:
    def run() -> int:
        outcome = ClpSBackend(_settings(data_dir)).search(QUERY)
        return sum(b.num_rows for b in outcome.batches)

    rows = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert rows > 0


def test_search_to_cached_result(benchmark, data_dir: Path) -> None:
    result = benchmark.pedantic(_search_and_cache, args=(data_dir,), rounds=5, warmup_rounds=1)
    assert result.get_page(0)["items"]


def test_search_ratio(benchmark, data_dir: Path) -> None:
    """Alternates bare clp-s and search-and-cache; the ratio of medians is the figure."""
    bare: list[float] = []
    ours: list[float] = []
    _search_and_cache(data_dir)
    for _ in range(5):
        began = time.perf_counter()
        _bare(data_dir)
        bare.append(time.perf_counter() - began)
        began = time.perf_counter()
        result = _search_and_cache(data_dir)
        ours.append(time.perf_counter() - began)
    ratio = median(ours) / median(bare)
    benchmark.extra_info.update(
        bare_s=median(bare),
        search_and_cache_s=median(ours),
        ratio=ratio,
        matches=result.get_page(0)["num_total_matches"],
    )
    print(
        f"\n{bench_events():,} events, {QUERY!r}: bare clp-s {median(bare):.3f} s, "
        f"search+cache {median(ours):.3f} s, ratio {ratio:.2f} (target <= 1.5)"
    )
    benchmark.pedantic(lambda: None, rounds=1)


_MEMORY_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
import pyarrow as pa
from logpager.backends import ClpSBackend
from logpager.cache import QueryResult
from logpager.settings import Settings

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

data_dir, cap = Path(sys.argv[1]), int(sys.argv[2])
settings = Settings(data_dir=data_dir, max_cached_results=cap)
# Warm up imports and kernels on a tiny query so the baseline holds the fixed costs.
ClpSBackend(settings).search("level: NOPE")
baseline = rss_kb()
outcome = ClpSBackend(settings).search("level: DEBUG")
result = QueryResult.from_batches(outcome.batches, query="q", settings=settings,
    total_matches=outcome.total_matches, presorted=True)
del outcome
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "compressed_bytes":
    result.compressed_bytes, "rows": result.get_page(0)["num_total_items"]}))
"""


def test_search_peak_memory(benchmark, data_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            str(data_dir),
            str(_settings(data_dir).max_cached_results),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    growth = (probe["peak_kb"] - probe["baseline_kb"]) * 1024
    compressed = probe["compressed_bytes"]
    benchmark.extra_info.update(probe, growth_bytes=growth)
    print(
        f"\npeak RSS growth {growth / 1e6:.1f} MB for {probe['rows']:,} rows; compressed "
        f"result {compressed / 1e6:.1f} MB; growth = 2 x compressed + "
        f"{(growth - 2 * compressed) / 1e6:.1f} MB"
    )
    benchmark.pedantic(lambda: None, rounds=1)
