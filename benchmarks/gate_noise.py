"""Tolerances of the benchmark gate, set from the measured run-to-run noise of its figures.

Several runs of the same suite on unchanged code give each figure a spread (largest value over
smallest, minus one). A figure's tolerance is :data:`MARGIN` times that spread, at least
:data:`FLOOR`: a single run at either end of the observed range then passes against a
baseline at the other end with room to spare, which is what keeps a busy CI host (other jobs
on the same cores) from failing unchanged code. The margin is 3 rather than 1-2 because a
handful of runs cannot cover every load a shared host sees; the cost is that a regression
must exceed three times the noise to be caught.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

from benchmarks.gate import GateError, collect

__all__ = ["FLOOR", "MARGIN", "set_tolerances", "tolerance_for"]

MARGIN = 3.0
FLOOR = 0.10


def tolerance_for(values: list[float]) -> float:
    """
    :param values: One figure's values over several runs of unchanged code.
    :return: Its tolerance: ``MARGIN`` x the spread, at least ``FLOOR``, rounded up to 0.05.
    :raise GateError: If fewer than two values are given (no spread to measure).
    """
    if len(values) < 2:
        msg = f"a tolerance needs the figure from at least two runs, not {len(values)}"
        raise GateError(msg)
    spread = max(values) / min(values) - 1
    return math.ceil(max(MARGIN * spread, FLOOR) * 20 - 1e-9) / 20


def set_tolerances(baseline: Path, section: str, runs: list[Path]) -> str:
    """
    Rewrites one section of the baseline from several runs: each figure's value becomes the
    median of the runs, its tolerance :func:`tolerance_for` their values, and its noise note
    says how.

    :param baseline: ``benchmarks/baseline.json`` (created if missing).
    :param section: The suite size the runs were made at.
    :param runs: pytest-benchmark JSON files of the runs.
    :return: A report, one line per figure.
    :raise GateError: If a figure is not in every run, or fewer than two runs are given.
    """
    collected = [collect(json.loads(p.read_text(encoding="utf-8")), str(p)) for p in runs]
    names = sorted(set().union(*collected))
    document: dict[str, Any] = (
        json.loads(baseline.read_text(encoding="utf-8")) if baseline.exists() else {}
    )
    figures: dict[str, Any] = {}
    lines = [f"{len(runs)} runs of the {section} suite:"]
    for name in names:
        missing = [str(p) for p, run in zip(runs, collected, strict=True) if name not in run]
        if missing:
            msg = f"figure {name!r} is missing from {', '.join(missing)}"
            raise GateError(msg)
        values = [run[name].value for run in collected]
        tolerance = tolerance_for(values)
        spread = max(values) / min(values) - 1
        figures[name] = {
            "value": round(statistics.median(values), 6),
            "better": collected[0][name].better,
            "tolerance": tolerance,
            "noise": (
                f"{len(values)} runs: {min(values):.4g}-{max(values):.4g} (spread "
                f"{100 * spread:.1f}%); tolerance = max({MARGIN:g} x spread, {FLOOR:g})"
            ),
        }
        lines.append(f"  {name:<40} {figures[name]['noise']} -> {tolerance:.2f}")
    note = f"median of {len(runs)} runs ({', '.join(p.name for p in runs)})"
    document[section] = {"run": note, "figures": figures}
    baseline.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    lines.append(
        f"wrote the {section} section of {baseline} (load average now {os.getloadavg()[0]:.1f})"
    )
    return "\n".join(lines)
