"""``scripts/bench.sh``: runs the gated benchmark suite and checks, records or reports its figures.

The suite (:data:`SUITE`) runs in one pytest process at one of two sizes (:data:`SIZES`):
``full`` (a few minutes) or ``quick`` (CI's check, ~2 minutes on a quiet 2-core host, ~3
under load).
Sizes are ``LOGPAGER_BENCH_*`` variables; one already set in the environment wins. Each run
writes pytest-benchmark's JSON under ``.benchmarks/gate/`` and prints its figures; the
baseline (``benchmarks/baseline.json``) holds one section per size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.gate import (
    Figure,
    GateError,
    collect,
    compare,
    failed,
    load_baseline,
    updated_baseline,
)
from benchmarks.gate_noise import FLOOR, MARGIN, set_tolerances
from benchmarks.gate_results import render_results

__all__ = ["SIZES", "SUITE", "main", "run_suite"]

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "benchmarks" / "baseline.json"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
RUNS = REPO / ".benchmarks" / "gate"

SUITE = (
    "benchmarks/bench_cache.py::test_bytes_per_1000_events",
    "benchmarks/bench_cache.py::test_random_page_cold",
    "benchmarks/bench_search.py::test_search_ratio",
    "benchmarks/bench_server.py::test_roundtrip[http-auto-get_nth_page]",
    "benchmarks/bench_server.py::test_page_throughput",
    "benchmarks/bench_governor.py::test_governor_overhead",
)
"""The gated benchmarks (pytest node ids). The ratios the other benchmarks print cost
minutes each (soaks, Redis replicas, ingest of every sample) and stay out of the gate."""

SIZES: dict[str, dict[str, str]] = {
    "full": {
        "LOGPAGER_BENCH_EVENTS": "200000",
        "LOGPAGER_BENCH_SEARCH_ROUNDS": "11",
        "LOGPAGER_BENCH_PAGING_EVENTS": "300000",
        "LOGPAGER_BENCH_CACHE_DATASETS": "synthetic,Apache,HDFS,Linux,OpenSSH,Zookeeper",
        "LOGPAGER_BENCH_SERVER_EVENTS": "100000",
        "LOGPAGER_BENCH_SERVER_ROUNDS": "1500",
        "LOGPAGER_BENCH_LOAD_SECONDS": "3",
        "LOGPAGER_BENCH_LOAD_WINDOWS": "8",
        "LOGPAGER_BENCH_GOVERNOR_BLOCKS": "40",
    },
    "quick": {
        "LOGPAGER_BENCH_EVENTS": "100000",
        "LOGPAGER_BENCH_SEARCH_ROUNDS": "15",
        "LOGPAGER_BENCH_PAGING_EVENTS": "100000",
        "LOGPAGER_BENCH_CACHE_DATASETS": "synthetic,HDFS,OpenSSH",
        "LOGPAGER_BENCH_SERVER_EVENTS": "20000",
        "LOGPAGER_BENCH_SERVER_ROUNDS": "1000",
        "LOGPAGER_BENCH_LOAD_SECONDS": "2",
        "LOGPAGER_BENCH_LOAD_WINDOWS": "8",
        "LOGPAGER_BENCH_GOVERNOR_BLOCKS": "16",
    },
}


def run_suite(
    size: str, out: Path, nodes: Sequence[str] = SUITE, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """
    Runs benchmarks in a pytest subprocess with pytest-benchmark's JSON output.

    :param size: A key of :data:`SIZES`.
    :param out: Where the JSON goes.
    :param nodes: The pytest node ids to run.
    :param env: Extra environment variables (over the size's and the caller's).
    :return: The run's JSON document.
    :raise GateError: If pytest fails (a benchmark's assertion or error: no figures to trust).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    environ = {**SIZES[size], **os.environ, **(env or {})}
    command = [
        sys.executable,
        "-m",
        "pytest",
        *nodes,
        "--benchmark-only",
        f"--benchmark-json={out}",
        "--benchmark-columns=median,iqr,min,max,rounds",
        "--benchmark-sort=fullname",
        "-p",
        "no:cacheprovider",
        "-o",
        "timeout=1800",
        "-q",
        "-s",
    ]
    done = subprocess.run(command, cwd=REPO, env=environ, check=False)
    if done.returncode != 0:
        msg = f"the benchmarks failed (pytest exit {done.returncode}); see its output above"
        raise GateError(msg)
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


def _print_figures(figures: dict[str, Figure]) -> None:
    print("\nfigures (ratios within this run):")
    for name, figure in sorted(figures.items()):
        print(f"  {name:<40} {figure.value:>10.4g}  ({figure.better} is better)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        description=(
            "Runs logpager's gated benchmark suite and prints its figures (ratios measured "
            "within one run). Without --check/--update/--results it only runs and prints."
        ),
        epilog=(
            "Exit status: 0 passed, 1 a figure is worse than the baseline by more than its "
            "tolerance (or missing), 2 the benchmarks or the files could not be used. "
            "Refresh the baseline after an intended change: bash scripts/bench.sh --update"
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smaller size, CI's check (~2 minutes, ~3 under load; default: the full "
        "size, a few minutes)",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check", action="store_true", help="fail (exit 1) naming each figure worse than baseline"
    )
    action.add_argument(
        "--update",
        action="store_true",
        help="rewrite the baseline on purpose (tolerances kept) and benchmarks/RESULTS.md; "
        "without --quick it runs the full size, then the quick one, and writes both sections",
    )
    action.add_argument(
        "--results", action="store_true", help="write benchmarks/RESULTS.md from this run"
    )
    action.add_argument(
        "--set-tolerances",
        nargs="+",
        type=Path,
        metavar="RUN_JSON",
        help="rewrite the size's baseline section from these runs' JSON (no run): each "
        f"figure's value becomes their median, its tolerance {MARGIN:g}x their spread (at "
        f"least {FLOOR * 100:g}%%)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="RUN_JSON", help="use this run's JSON instead of running"
    )
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="default: %(default)s")
    parser.add_argument("--results-file", type=Path, default=RESULTS, help="default: %(default)s")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="with --check: a baseline figure the run lacks passes (partial runs)",
    )
    return parser


def _load_run(args: argparse.Namespace, size: str) -> tuple[dict[str, Any], str]:
    """:return: The run's JSON (from --json or a new run) and the command that made it."""
    flags = " --quick" if size == "quick" else ""
    if args.json is not None:
        run = json.loads(args.json.read_text(encoding="utf-8"))
        return run, f"bash scripts/bench.sh{flags} --results --json {args.json}"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run = run_suite(size, RUNS / f"{size}-{stamp}.json")
    return run, f"bash scripts/bench.sh{flags}"


def _read_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _update(args: argparse.Namespace, sizes: list[str]) -> None:
    for size in sizes:
        run, command = _load_run(args, size)
        figures = collect(run)
        _print_figures(figures)
        note = f"{command} at {run.get('datetime', '?')}"
        document = updated_baseline(_read_document(args.baseline), size, figures, note)
        args.baseline.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the {size} section of {args.baseline}")
        if size == sizes[0]:
            baseline = load_baseline(args.baseline, size)
            args.results_file.write_text(render_results(run, baseline, size, command))
            print(f"wrote {args.results_file}")


def main(argv: Sequence[str] | None = None) -> int:
    """
    :param argv: Command-line arguments (default: ``sys.argv[1:]``).
    :return: The exit status: 0 passed, 1 the gate failed, 2 unusable benchmarks or files.
    """
    args = _parser().parse_args(argv)
    size = "quick" if args.quick else "full"
    try:
        if args.set_tolerances is not None:
            print(set_tolerances(args.baseline, size, args.set_tolerances))
            return 0
        if args.update:
            _update(args, ["full", "quick"] if size == "full" and args.json is None else [size])
            return 0
        run, command = _load_run(args, size)
        figures = collect(run)
        _print_figures(figures)
        baseline = load_baseline(args.baseline, size)
        if args.results:
            args.results_file.write_text(render_results(run, baseline, size, command))
            print(f"wrote {args.results_file}")
        if not args.check:
            return 0
        if not baseline:
            print(f"no {size} baseline in {args.baseline}: make one with --update", file=sys.stderr)
            return 2
        verdicts = compare(baseline, figures, allow_missing=args.allow_missing)
        print(f"\ngate ({size} size) against {args.baseline}:")
        for verdict in verdicts:
            print("  " + verdict.line())
        bad = failed(verdicts)
        if bad:
            names = ", ".join(v.name for v in bad)
            print(f"\nbenchmark gate FAILED: {names}", file=sys.stderr)
            return 1
        print("\nbenchmark gate passed")
        return 0
    except (GateError, OSError, json.JSONDecodeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
