"""The streaming build against the build after the search, and both against bare ``clp-s``.

Run (about a minute at the default 200,000 events; LOGPAGER_BENCH_EVENTS=1000000 for the
1 M figure)::

    .venv/bin/pytest benchmarks/bench_streaming.py --benchmark-only -s

Each round runs bare ``clp-s`` (``file --path /dev/null``), the same search into a pipe
that this process only drains (what ``clp-s`` pays for writing to any reader), then
search-and-cache with ``streaming_build`` on, on with its pipe read by the decoding thread
(``search_read_ahead_bytes=0``: "on, no read-ahead") and off, in alternating order, on the same
archives (the synthetic set: one schema, archives that do not overlap in time, which
``clp-s`` visits in an order of its own). Printed per mode: the wall time (median, IQR,
min-max) and its ratio to bare ``clp-s`` and to the drained pipe, the time left after
``clp-s`` exits (what the build still does then), and this process's CPU time per search
(``clp-s``'s own is not counted). On a loaded host the wall ratios move with the load; the
time after exit and the CPU time move much less.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import logpager.search.child as child_module
from benchmarks._bench_common import bench_events, make_synthetic, median
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend, find_clp_s
from logpager.search.pipeline import search_and_cache
from logpager.search.read_ahead import grow_pipe
from logpager.settings import Settings

QUERY = "level: DEBUG"
ROUNDS = 7
NO_READ_AHEAD = "on, no read-ahead"
MODES = ("on", NO_READ_AHEAD, "off")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = make_synthetic(tmp_path_factory.mktemp("bench-streaming"), bench_events())
    ingest([source], data_dir=source.parent / "data")
    os.sync()
    return source.parent / "data"


def _search_argv(data_dir: Path) -> list[str]:
    """:return: ``clp-s``'s own command line for the search, without its output."""
    return [str(find_clp_s()), "s", "-i", str(data_dir / "archives"), " " + QUERY]


def _bare(data_dir: Path) -> float:
    began = time.perf_counter()
    argv = _search_argv(data_dir)
    subprocess.run([*argv, "file", "--path", "/dev/null"], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def _drained(data_dir: Path) -> float:
    """The same search into a pipe that this process empties and discards, as the backend
    reads it (pipe grown to ``search_read_bytes``, reads of that size): the floor for any
    reader, since ``clp-s`` then pays for the pipe's copies and wake-ups."""
    began = time.perf_counter()
    argv = _search_argv(data_dir)
    read_bytes = Settings().search_read_bytes
    with subprocess.Popen(
        [*argv, "file", "--path", "/dev/stdout"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    ) as proc:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        grow_pipe(fd, read_bytes)
        while os.read(fd, read_bytes):
            pass
    return time.perf_counter() - began


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    n = len(ordered)
    return (
        f"median {median(ordered):.3f} s, IQR {ordered[n // 4]:.3f}-{ordered[3 * n // 4]:.3f}, "
        f"min-max {ordered[0]:.3f}-{ordered[-1]:.3f}"
    )


def test_streaming_build_against_build_after_search(
    benchmark: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exited = [0.0]
    run_search = child_module.run_search

    def timed_run_search(*args: Any, **kwargs: Any) -> Any:
        outcome = run_search(*args, **kwargs)
        exited[0] = time.perf_counter()
        return outcome

    monkeypatch.setattr("logpager.search.clp_s.run_search", timed_run_search)

    def search(mode: str) -> tuple[float, float, float, bool]:
        overrides: dict[str, Any] = {"streaming_build": mode != "off"}
        if mode == NO_READ_AHEAD:
            overrides["search_read_ahead_bytes"] = 0
        settings = Settings(
            data_dir=data_dir, max_cached_results=max(200_000, bench_events() // 4), **overrides
        )
        began, cpu = time.perf_counter(), _cpu()
        result, outcome = search_and_cache(
            ClpSBackend(settings), QuerySpec(QUERY), settings=settings
        )
        ended = time.perf_counter()
        assert result.num_items > 0
        return ended - began, ended - exited[0], _cpu() - cpu, outcome.streamed

    figures: dict[str, list[float]] = {}
    streamed: list[bool] = []

    def round_(index: int) -> None:
        figures.setdefault("bare", []).append(_bare(data_dir))
        figures.setdefault("drained", []).append(_drained(data_dir))
        modes = MODES if index % 2 == 0 else MODES[::-1]
        for mode in modes:
            wall, after, cpu, was_streamed = search(mode)
            figures.setdefault(mode, []).append(wall)
            figures.setdefault(f"{mode} after exit", []).append(after)
            figures.setdefault(f"{mode} cpu", []).append(cpu)
            if mode != "off":
                streamed.append(was_streamed)

    for mode in MODES:
        search(mode)
    rounds = iter(range(ROUNDS))
    runner: Callable[[], None] = lambda: round_(next(rounds))  # noqa: E731
    benchmark.pedantic(runner, rounds=ROUNDS, iterations=1)
    assert all(streamed), "the synthetic archives should stream"
    bare = median(figures["bare"])
    lines = [f"\n{bench_events():,} events, {QUERY!r}, {ROUNDS} rounds:"]
    for name, values in figures.items():
        ratio = ""
        if name in (*MODES, "drained"):
            ratio = f"; ratio to bare {median(values) / bare:.2f}"
        if name in MODES:
            ratio += f", to drained {median(values) / median(figures['drained']):.2f}"
        lines.append(f"  {name:26s} {_spread(values)}{ratio}")
    on_off = median(figures["on"]) / median(figures["off"])
    read_ahead = median(figures["on"]) / median(figures[NO_READ_AHEAD])
    lines.append(f"  on/off wall: {on_off:.2f}; on/(on, no read-ahead) wall: {read_ahead:.2f}")
    benchmark.extra_info.update(
        {name: median(values) for name, values in figures.items()},
        on_off=on_off,
        read_ahead=read_ahead,
    )
    print("\n".join(lines))
