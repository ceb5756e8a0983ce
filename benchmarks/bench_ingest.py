"""Ingest against bare ``clp-s c`` on the same JSON file, and plain-text throughput.

Run (about a minute at the default size; LOGPAGER_BENCH_EVENTS=1000000 for the 1 M figure,
LOGPAGER_BENCH_ROUNDS for more or fewer than 7 rounds, LOGPAGER_BENCH_TEXT_DIR for a folder
of ``*.log`` samples other than the five bundled ones, e.g. the twelve of the shared loghub
set)::

    .venv/bin/pytest benchmarks/bench_ingest.py --benchmark-only -s \
        -o asyncio_default_fixture_loop_scope=function

Rounds alternate (bare, ingest, bare, ingest, ...) so that a slow spell of a shared host
falls on both sides; each side's noise is its interquartile range over its median.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks._bench_common import bench_events, make_synthetic, median
from logpager.ingest import ingest, sample_files
from logpager.search import find_clp_s


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-ingest")


@pytest.fixture(scope="module")
def json_file(workdir: Path) -> Path:
    return make_synthetic(workdir, bench_events())


@pytest.fixture(scope="module")
def text_files(workdir: Path) -> tuple[list[Path], int]:
    # Each real sample in a file of its own (so each is read in its own layout), repeated up
    # to about as many lines in all as the JSON suite's events. One file of all five
    # concatenated measured mostly lines that matched no layout and joined the event before.
    folder = os.environ.get("LOGPAGER_BENCH_TEXT_DIR")
    samples = sorted(Path(folder).glob("*.log")) if folder else sample_files()
    paths: list[Path] = []
    lines = 0
    for sample in samples:
        raw = sample.read_bytes()
        raw = raw if raw.endswith(b"\n") else raw + b"\n"
        copies = max(bench_events() // len(samples) // raw.count(b"\n"), 1)
        path = workdir / f"text-{sample.name}"
        path.write_bytes(raw * copies)
        paths.append(path)
        lines += raw.count(b"\n") * copies
    return paths, lines


def _rounds() -> int:
    return int(os.environ.get("LOGPAGER_BENCH_ROUNDS", "7"))


def _noise(values: list[float]) -> float:
    ordered = sorted(values)
    quarter = len(ordered) // 4
    return (ordered[-1 - quarter] - ordered[quarter]) / median(values)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _bare(json_file: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [str(find_clp_s()), "c", "--timestamp-key", "timestamp", str(out), str(json_file)],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def _ours(json_file: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    ingest([json_file], data_dir=out)


def test_ingest_json_ratio(benchmark, json_file: Path, workdir: Path) -> None:
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(_rounds()):
        began = time.perf_counter()
        _bare(json_file, workdir / "bare")
        bare.append(time.perf_counter() - began)
        began = time.perf_counter()
        _ours(json_file, workdir / "ours")
        ours.append(time.perf_counter() - began)
    ratio = median(ours) / median(bare)
    benchmark.extra_info.update(bare_s=median(bare), ingest_s=median(ours), ratio=ratio)
    print(
        f"\n{bench_events():,} JSON events, {len(bare)} alternating rounds: bare clp-s c "
        f"median {median(bare):.3f} s (noise {_noise(bare):.0%}), ingest median "
        f"{median(ours):.3f} s (noise {_noise(ours):.0%}), ratio {ratio:.2f} (target <= 1.3)"
    )
    benchmark.pedantic(lambda: None, rounds=1)


def test_ingest_text_throughput(
    benchmark, text_files: tuple[list[Path], int], workdir: Path
) -> None:
    paths, lines = text_files
    seconds: list[float] = []
    cpu: list[float] = []

    def run() -> None:
        shutil.rmtree(workdir / "text-data", ignore_errors=True)
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        ingest(paths, data_dir=workdir / "text-data", default_year=2020)
        seconds.append(time.perf_counter() - began)
        cpu.append(_cpu_seconds() - cpu_began)

    benchmark.pedantic(run, rounds=_rounds(), warmup_rounds=0)
    rate = lines / median(seconds)
    benchmark.extra_info.update(lines=lines, lines_per_s=rate, cpu_s=median(cpu))
    # The CPU time (this process and clp-s) does not grow when other jobs share the host, so
    # it says what the wall-clock rate would be on an idle one.
    print(
        f"\n{lines:,} text lines in {len(paths)} files, {len(seconds)} rounds: median "
        f"{median(seconds):.3f} s (noise {_noise(seconds):.0%}), {rate:,.0f} lines/s "
        f"(target >= 100,000); CPU median {median(cpu):.3f} s, {lines / median(cpu):,.0f} "
        "lines per CPU second"
    )
