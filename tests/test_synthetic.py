"""Tests of the synthetic log generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logpager.synthetic import iter_events, write_events


def test_deterministic_and_valid_json() -> None:
    first = list(iter_events(2000, seed=5))
    assert first == list(iter_events(2000, seed=5))
    assert first != list(iter_events(2000, seed=6))
    events = [json.loads(line) for line in first]
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert {e["level"] for e in events} == {"INFO", "DEBUG", "WARN", "ERROR"}
    debug = sum(e["level"] == "DEBUG" for e in events) / len(events)
    assert 0.15 < debug < 0.21
    assert all(isinstance(e["duration_ms"], int) and e["message"] for e in events)


def test_negative_count_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        list(iter_events(-1))


def test_cli(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "logpager.synthetic",
            "300",
            str(out),
            "--seed",
            "1",
            "--start",
            "2020-01-01T00:00:00Z",
            "--span-hours",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 300 events" in done.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 300
    assert json.loads(lines[0])["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert (
        write_events(
            tmp_path / "again.jsonl", 300, seed=1, start_ms=1_577_836_800_000, span_ms=3_600_000
        )
        == out.stat().st_size
    )
