"""The benchmark regression gate (``benchmarks/gate*.py``, ``scripts/bench.sh``).

The comparison is tested on figures written here; the gate as a whole on a real benchmark
run (pages per server CPU second against a constant tool, a real server under a raw-HTTP
load, the quick size), once on the unchanged code, which must pass against the committed
baseline, and once with every page fetch 5 ms slower through the benchmark server's own
variable, which must fail naming the figure.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks.gate import (
    DEFAULT_TOLERANCE,
    BaselineEntry,
    Figure,
    GateError,
    collect,
    compare,
    failed,
    load_baseline,
    record,
    updated_baseline,
    worse_factor,
)
from benchmarks.gate_noise import FLOOR, MARGIN, set_tolerances, tolerance_for
from benchmarks.gate_results import percentile, render_results
from benchmarks.gate_run import BASELINE, REPO, SIZES, main, run_suite

PAGE_FIGURE = "page_vs_constant.http-auto"
CPU_FIGURE = "pages_per_cpu_s_vs_constant.http"


def _run(figures: dict[str, tuple[float, str]], data: list[float] | None = None) -> dict[str, Any]:
    """:return: A pytest-benchmark JSON document with one row per figure."""
    return {
        "datetime": "2026-12-02T10:00:00",
        "benchmarks": [
            {
                "fullname": f"benchmarks/bench_x.py::test_{i}",
                "stats": {"data": data or [0.001, 0.002, 0.003]},
                "extra_info": {"gate": {name: {"value": value, "better": better}}},
            }
            for i, (name, (value, better)) in enumerate(figures.items())
        ],
    }


def _entry(value: float, better: str, tolerance: float = 0.2) -> BaselineEntry:
    return BaselineEntry(value, better, tolerance)  # type: ignore[arg-type]


class _Bench:
    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}


def test_a_bytes_ratio_is_worse_when_larger_and_a_throughput_ratio_when_smaller() -> None:
    assert worse_factor(0.1, 0.12, "lower") == pytest.approx(1.2)
    assert worse_factor(0.1, 0.08, "lower") == pytest.approx(0.8)
    assert worse_factor(0.8, 0.64, "higher") == pytest.approx(1.25)
    assert worse_factor(0.8, 1.0, "higher") == pytest.approx(0.8)
    baseline = {"bytes": _entry(0.1, "lower"), "pages": _entry(0.8, "higher")}
    worse = compare(baseline, collect(_run({"bytes": (0.13, "lower"), "pages": (0.6, "higher")})))
    assert [(v.name, v.status) for v in worse] == [("bytes", "worse"), ("pages", "worse")]
    # The same distance the other way is an improvement, never a failure.
    better = compare(baseline, collect(_run({"bytes": (0.07, "lower"), "pages": (1.1, "higher")})))
    assert [v.status for v in better] == ["ok", "ok"]
    assert failed(better) == []


def test_the_tolerance_is_the_boundary() -> None:
    baseline = {"r": _entry(2.0, "lower", 0.25)}
    assert compare(baseline, {"r": Figure("r", 2.5, "lower")})[0].status == "ok"
    assert compare(baseline, {"r": Figure("r", 2.52, "lower")})[0].status == "worse"
    line = compare(baseline, {"r": Figure("r", 3.0, "lower")})[0].line()
    assert line.startswith("WORSE")
    assert "1.500x as bad (tolerance 1.25x)" in line


def test_a_figure_missing_from_the_run_fails_unless_allowed() -> None:
    baseline = {"a": _entry(1.0, "lower"), "b": _entry(1.0, "lower")}
    run = {"a": Figure("a", 1.0, "lower")}
    verdicts = compare(baseline, run)
    assert [(v.name, v.status) for v in failed(verdicts)] == [("b", "missing")]
    assert "MISSING b" in verdicts[1].line()
    assert failed(compare(baseline, run, allow_missing=True)) == []


def test_a_new_figure_is_reported_not_gated() -> None:
    verdicts = compare({}, {"fresh": Figure("fresh", 9.0, "lower")})
    assert [(v.name, v.status) for v in verdicts] == [("fresh", "new")]
    assert failed(verdicts) == []
    assert verdicts[0].line().startswith("NEW")


def test_collect_reads_rows_and_rejects_duplicates_and_bad_directions() -> None:
    figures = collect(_run({"x": (1.5, "lower"), "y": (0.5, "higher")}))
    assert figures == {"x": Figure("x", 1.5, "lower"), "y": Figure("y", 0.5, "higher")}
    twice = _run({"x": (1.5, "lower")})
    twice["benchmarks"].append(twice["benchmarks"][0])
    with pytest.raises(GateError, match="recorded by two rows"):
        collect(twice)
    with pytest.raises(GateError, match="'better' must be 'lower' or 'higher'"):
        collect(_run({"x": (1.5, "smaller")}))
    with pytest.raises(GateError, match="a positive number is needed"):
        collect(_run({"x": (0.0, "lower")}))


def test_record_puts_the_figure_on_the_row_and_rejects_non_ratios() -> None:
    bench = _Bench()
    record(bench, "r", 1.25, "lower")
    assert bench.extra_info == {"gate": {"r": {"value": 1.25, "better": "lower"}}}
    for bad in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(GateError, match="finite positive ratio"):
            record(bench, "r", bad, "lower")


def test_update_keeps_tolerances_adds_new_figures_and_drops_vanished_ones() -> None:
    old = {
        "quick": {
            "figures": {
                "kept": {"value": 1.0, "better": "lower", "tolerance": 0.3, "noise": "3 runs"},
                "gone": {"value": 1.0, "better": "lower", "tolerance": 0.3},
            }
        },
        "full": {"figures": {"other": {"value": 2.0}}},
    }
    run = {"kept": Figure("kept", 1.1, "lower"), "fresh": Figure("fresh", 0.5, "higher")}
    new = updated_baseline(old, "quick", run, "a note")
    figures = new["quick"]["figures"]
    assert figures["kept"] == {"value": 1.1, "better": "lower", "tolerance": 0.3, "noise": "3 runs"}
    assert figures["fresh"]["tolerance"] == DEFAULT_TOLERANCE
    assert "gone" not in figures
    assert new["full"] == old["full"]
    assert new["quick"]["run"] == "a note"


def test_load_baseline_names_the_file_and_what_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    assert load_baseline(path, "quick") == {}
    path.write_text("{not json")
    with pytest.raises(GateError, match=f"{path} is not valid JSON"):
        load_baseline(path, "quick")
    path.write_text(json.dumps({"quick": {"figures": {"r": {"value": 1, "better": "lower"}}}}))
    with pytest.raises(GateError, match="quick, figure 'r': 'tolerance' must be a number"):
        load_baseline(path, "quick")


def test_tolerances_come_from_the_spread_of_runs(tmp_path: Path) -> None:
    assert tolerance_for([1.0, 1.0, 1.0]) == FLOOR
    # Spread 7%: MARGIN x 7%, rounded up to a multiple of 0.05.
    tolerance = tolerance_for([1.0, 1.07, 1.05])
    assert MARGIN * 0.07 <= tolerance < MARGIN * 0.07 + 0.05
    assert tolerance * 20 == pytest.approx(round(tolerance * 20))
    with pytest.raises(GateError, match="at least two runs"):
        tolerance_for([1.0])
    runs = []
    for i, value in enumerate((1.0, 1.2, 1.1)):
        runs.append(tmp_path / f"run{i}.json")
        runs[-1].write_text(json.dumps(_run({"r": (value, "lower")})))
    baseline = tmp_path / "baseline.json"
    report = set_tolerances(baseline, "quick", runs)
    entry = load_baseline(baseline, "quick")["r"]
    assert entry.value == pytest.approx(1.1)
    assert entry.tolerance == tolerance_for([1.0, 1.2, 1.1])
    assert "3 runs: 1-1.2 (spread 20.0%)" in entry.noise
    assert "r" in report


def test_results_tables_hold_median_p90_p99_and_max() -> None:
    samples = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(samples, 0.9) == pytest.approx(0.090)
    assert percentile(samples, 0.99) == pytest.approx(0.099)
    text = render_results(
        _run({"r": (1.5, "lower")}, samples), {"r": _entry(1.0, "lower", 0.25)}, "quick", "cmd"
    )
    assert "| benchmark | rounds | median | p90 | p99 | max |" in text
    assert "| `bench_x.py::test_0` | 100 | 50.500 ms | 90.000 ms | 99.000 ms | 100.000 ms |" in text
    assert "| `r` | 1.5 | lower | 1 | 1.500 | 1.25x |" in text


def test_check_exits_1_naming_the_worse_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps({"quick": {"figures": {"r": {"value": 1, "better": "lower", "tolerance": 0.2}}}})
    )
    run = tmp_path / "run.json"
    run.write_text(json.dumps(_run({"r": (1.1, "lower")})))
    common = ["--quick", "--check", "--json", str(run), "--baseline", str(baseline)]
    assert main(common) == 0
    run.write_text(json.dumps(_run({"r": (1.3, "lower")})))
    assert main(common) == 1
    assert "benchmark gate FAILED: r" in capsys.readouterr().err
    assert main(["--check", "--json", str(run), "--baseline", str(baseline)]) == 2  # no full


def test_update_from_a_run_writes_its_section_and_the_results(tmp_path: Path) -> None:
    baseline, results, run = (tmp_path / n for n in ("baseline.json", "RESULTS.md", "run.json"))
    run.write_text(json.dumps(_run({"r": (1.5, "lower")})))
    argv = ["--quick", "--update", "--json", str(run), "--baseline", str(baseline)]
    assert main([*argv, "--results-file", str(results)]) == 0
    entry = load_baseline(baseline, "quick")["r"]
    assert (entry.value, entry.better, entry.tolerance) == (1.5, "lower", DEFAULT_TOLERANCE)
    assert "full" not in json.loads(baseline.read_text())
    assert "| `r` | 1.5 | lower | 1.5 | 1.000 |" in results.read_text()


def test_bench_sh_help_says_what_each_option_does() -> None:
    done = subprocess.run(
        ["bash", "scripts/bench.sh", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for option in ("--quick", "--check", "--update", "--results", "--set-tolerances"):
        assert option in done.stdout


def test_the_committed_baseline_has_both_sizes_with_measured_tolerances() -> None:
    sections = {size: load_baseline(BASELINE, size) for size in SIZES}
    assert PAGE_FIGURE in sections["quick"]
    # The quick size runs fewer datasets of the same benchmarks: no figure of its own.
    assert set(sections["quick"]) <= set(sections["full"])
    for entries in sections.values():
        assert all(e.tolerance > 0 and "runs" in e.noise for e in entries.values())


def _throughput_run(tmp_path: Path, name: str, slow_ms: float) -> int:
    """Runs the pages/s-vs-constant benchmark at the quick size, then ``--check`` on it."""
    out = tmp_path / f"{name}.json"
    env = {"LOGPAGER_BENCH_SLOW_PAGE_MS": str(slow_ms)} if slow_ms else {}
    run_suite("quick", out, ["benchmarks/bench_server.py::test_page_throughput"], env)
    return main(["--quick", "--check", "--allow-missing", "--json", str(out)])


@pytest.mark.slow
@pytest.mark.timeout(900)  # two benchmark runs of ~1 minute each, more on a busy host
def test_the_gate_passes_unchanged_code_and_fails_a_slowed_page_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The figure per server CPU second: on a busy host the elapsed figures stretch both sides
    # alike and hide even 10 ms more per page (measured: page vs constant 1.14 -> 1.65 at
    # load average ~8, inside its tolerance).
    assert _throughput_run(tmp_path, "unchanged", 0) == 0
    assert f"ok      {CPU_FIGURE}" in capsys.readouterr().out
    assert _throughput_run(tmp_path, "slowed", 5) == 1
    captured = capsys.readouterr()
    assert f"WORSE   {CPU_FIGURE}" in captured.out
    assert CPU_FIGURE in captured.err.rpartition("benchmark gate FAILED: ")[2]
