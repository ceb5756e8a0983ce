"""Shared helpers of the benchmark suites (sizes, data generation)."""

from __future__ import annotations

import os
from pathlib import Path

from logpager.synthetic import write_events

__all__ = ["bench_events", "make_synthetic", "median"]


def bench_events() -> int:
    """:return: Synthetic events per suite: ``LOGPAGER_BENCH_EVENTS`` (default 200,000)."""
    return int(os.environ.get("LOGPAGER_BENCH_EVENTS", "200000"))


def make_synthetic(folder: Path, count: int) -> Path:
    """
    :param folder: Where to write.
    :param count: Events.
    :return: A JSON-lines file of ``count`` synthetic events (seed 0).
    """
    path = folder / f"synthetic-{count}.jsonl"
    if not path.exists():
        write_events(path, count, seed=0)
    return path


def median(values: list[float]) -> float:
    """:return: The median of ``values``."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
