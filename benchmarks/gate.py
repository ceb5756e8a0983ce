"""The benchmark regression gate's figures: how a benchmark records one, how a run's figures are
collected from pytest-benchmark's JSON, and how they are compared with the committed baseline.

A gated figure is a ratio measured within one run (logpager against a reference measured in
the same rounds: bare ``clp-s``, a constant tool, the reference design, the governor off), never
an absolute time, so that a slower or busier machine moves both sides alike. A benchmark
records it with :func:`record` into its row's ``extra_info``; the run's JSON
(``--benchmark-json``) carries it to :func:`collect`.

Each figure says which way is better: a bytes or time ratio is worse when larger
(``lower``), a throughput ratio worse when smaller (``higher``). A figure fails the gate when
it is worse than the baseline by more than the baseline's tolerance for it, measured as the
factor ``value / baseline`` (``lower``) or ``baseline / value`` (``higher``): a tolerance of
0.25 lets a ``lower`` figure grow to 1.25x the baseline, and a ``higher`` one shrink to
1/1.25 of it. Tolerances are set from measured run-to-run noise and kept by ``--update``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_TOLERANCE",
    "GATE_KEY",
    "BaselineEntry",
    "Figure",
    "GateError",
    "Verdict",
    "collect",
    "compare",
    "failed",
    "load_baseline",
    "record",
    "updated_baseline",
    "worse_factor",
]

Better = Literal["lower", "higher"]
GATE_KEY = "gate"
"""The ``extra_info`` key under which a benchmark row carries its gated figures."""
DEFAULT_TOLERANCE = 0.5
"""Tolerance a new figure gets in the baseline until its noise is measured."""


class GateError(ValueError):
    """A run or baseline the gate cannot read: the message names the file and what to fix."""


@dataclass(frozen=True)
class Figure:
    """One gated figure of a run: its value and which way is better."""

    name: str
    value: float
    better: Better


@dataclass(frozen=True)
class BaselineEntry:
    """One figure of the baseline: the value to compare with, its direction and tolerance."""

    value: float
    better: Better
    tolerance: float
    noise: str = ""
    """How the tolerance was set (measured spread), for the reader."""


@dataclass(frozen=True)
class Verdict:
    """One figure's outcome: ``ok``, ``worse``, ``missing`` (in the baseline, not the run) or
    ``new`` (in the run, not the baseline: reported, not gated)."""

    name: str
    status: Literal["ok", "worse", "missing", "new"]
    value: float | None
    baseline: float | None
    factor: float | None
    """How many times worse than the baseline (below 1: better)."""
    tolerance: float | None

    def line(self) -> str:
        """:return: One human-readable line about this figure."""
        if self.status == "missing":
            return f"MISSING {self.name}: in the baseline ({self.baseline:.4g}), not in this run"
        if self.status == "new":
            return f"NEW     {self.name} = {self.value:.4g} (not in the baseline; not gated)"
        assert self.factor is not None
        assert self.tolerance is not None
        word = "WORSE  " if self.status == "worse" else "ok     "
        return (
            f"{word} {self.name} = {self.value:.4g}, baseline {self.baseline:.4g}: "
            f"{self.factor:.3f}x as bad (tolerance {1 + self.tolerance:.2f}x)"
        )


def record(benchmark: Any, name: str, value: float, better: Better) -> None:
    """
    Records a gated figure on a benchmark row (``benchmark.extra_info``).

    :param benchmark: pytest-benchmark's fixture.
    :param name: The figure's name, unique in the suite (e.g. ``search_vs_clp_s``).
    :param value: The ratio measured in this run.
    :param better: ``lower`` if a smaller value is better, ``higher`` otherwise.
    :raise GateError: If the value is not a finite positive number.
    """
    if not math.isfinite(value) or value <= 0:
        msg = f"gated figure {name!r} must be a finite positive ratio, not {value!r}"
        raise GateError(msg)
    figures = benchmark.extra_info.setdefault(GATE_KEY, {})
    figures[name] = {"value": value, "better": better}


def _better(value: object, where: str) -> Better:
    if value not in ("lower", "higher"):
        msg = f"{where}: 'better' must be 'lower' or 'higher', not {value!r}"
        raise GateError(msg)
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"{where}: a positive number is needed, not {value!r}"
        raise GateError(msg)
    return float(value)


def collect(run: dict[str, Any], source: str = "the run") -> dict[str, Figure]:
    """
    :param run: A pytest-benchmark JSON document (``--benchmark-json``).
    :param source: Its name, for errors.
    :return: Every gated figure of its rows, by name.
    :raise GateError: If a figure is malformed or two rows record the same name.
    """
    figures: dict[str, Figure] = {}
    for row in run.get("benchmarks", []):
        for name, raw in (row.get("extra_info") or {}).get(GATE_KEY, {}).items():
            where = f"{source}, row {row.get('fullname')!r}, figure {name!r}"
            if name in figures:
                msg = f"{where}: recorded by two rows; give each figure its own name"
                raise GateError(msg)
            figures[name] = Figure(
                name, _number(raw.get("value"), where), _better(raw.get("better"), where)
            )
    return figures


def load_baseline(path: Path, section: str) -> dict[str, BaselineEntry]:
    """
    :param path: ``benchmarks/baseline.json``.
    :param section: The suite size (``quick`` or ``full``).
    :return: The section's figures (empty if the file or section does not exist yet).
    :raise GateError: If the file is not valid JSON or an entry is malformed.
    """
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{path} is not valid JSON ({exc}); fix it or rewrite it with --update"
        raise GateError(msg) from exc
    entries: dict[str, BaselineEntry] = {}
    for name, raw in document.get(section, {}).get("figures", {}).items():
        where = f"{path}, {section}, figure {name!r}"
        tolerance = raw.get("tolerance")
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            msg = f"{where}: 'tolerance' must be a number >= 0, not {tolerance!r}"
            raise GateError(msg)
        entries[name] = BaselineEntry(
            _number(raw.get("value"), where),
            _better(raw.get("better"), where),
            float(tolerance),
            str(raw.get("noise", "")),
        )
    return entries


def worse_factor(baseline: float, value: float, better: Better) -> float:
    """
    :param baseline: The baseline's value.
    :param value: This run's value.
    :param better: The figure's direction.
    :return: How many times worse ``value`` is than ``baseline`` (1: equal, below 1: better).
    """
    return value / baseline if better == "lower" else baseline / value


def compare(
    baseline: dict[str, BaselineEntry], figures: dict[str, Figure], *, allow_missing: bool = False
) -> list[Verdict]:
    """
    :param baseline: The committed figures.
    :param figures: This run's figures.
    :param allow_missing: Whether a baseline figure absent from the run passes (a partial run).
    :return: One verdict per figure of either, baseline order first; the gate fails if any
        is ``worse``, or ``missing`` unless allowed.
    """
    verdicts: list[Verdict] = []
    for name, entry in baseline.items():
        figure = figures.get(name)
        if figure is None:
            if not allow_missing:
                verdicts.append(Verdict(name, "missing", None, entry.value, None, None))
            continue
        factor = worse_factor(entry.value, figure.value, entry.better)
        status: Literal["ok", "worse"] = "worse" if factor > 1 + entry.tolerance else "ok"
        verdicts.append(Verdict(name, status, figure.value, entry.value, factor, entry.tolerance))
    verdicts.extend(
        Verdict(name, "new", figure.value, None, None, None)
        for name, figure in figures.items()
        if name not in baseline
    )
    return verdicts


def failed(verdicts: list[Verdict]) -> list[Verdict]:
    """:return: The verdicts that fail the gate (``worse`` or ``missing``)."""
    return [v for v in verdicts if v.status in ("worse", "missing")]


def updated_baseline(
    document: dict[str, Any], section: str, figures: dict[str, Figure], run_note: str
) -> dict[str, Any]:
    """
    :param document: The baseline file's current content (``{}`` if none).
    :param section: The suite size the figures were measured at.
    :param figures: This run's figures, the new baseline values.
    :param run_note: What was run and when (stored beside the section's figures).
    :return: The document with the section's values replaced by ``figures``: each figure
        keeps its tolerance and noise note; a new one gets ``DEFAULT_TOLERANCE``; figures the
        run lacks are dropped.
    """
    old = document.get(section, {}).get("figures", {})
    section_figures = {
        name: {
            "value": round(figure.value, 6),
            "better": figure.better,
            "tolerance": old.get(name, {}).get("tolerance", DEFAULT_TOLERANCE),
            "noise": old.get(name, {}).get("noise", "not measured yet"),
        }
        for name, figure in sorted(figures.items())
    }
    return {**document, section: {"run": run_note, "figures": section_figures}}
