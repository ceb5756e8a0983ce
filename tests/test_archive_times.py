"""Tests of reading an archive's time range from its header, on archives real clp-s built."""

from __future__ import annotations

import subprocess
from pathlib import Path

from logpager.search import find_clp_s
from logpager.search.archive_times import read_time_range


def _compress(tmp_path: Path, text: str, key: str) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_text(text)
    out = tmp_path / "out"
    subprocess.run(
        [str(find_clp_s()), "c", "--timestamp-key", key, str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (archive,) = [p for p in out.iterdir() if p.is_dir()]
    return archive


def test_range_of_string_and_integer_timestamps(tmp_path: Path) -> None:
    archive = _compress(
        tmp_path,
        '{"ts": "2021-06-01T00:00:00Z"}\n{"ts": "2020-01-01T00:00:00Z"}\n{"m": 1}\n',
        "ts",
    )
    span = read_time_range(archive)
    assert span is not None
    assert (span.keys, span.begin, span.end) == (("ts",), 1_577_836_800_000, 1_622_505_600_000)


def test_integer_epochs(tmp_path: Path) -> None:
    archive = _compress(tmp_path, '{"t": 1600000005000}\n{"t": 1600000000000}\n', "t")
    span = read_time_range(archive)
    assert span is not None
    assert (span.begin, span.end) == (1_600_000_000_000, 1_600_000_005_000)


def test_a_key_no_event_has_leaves_no_range(tmp_path: Path) -> None:
    archive = _compress(tmp_path, '{"m": 1}\n', "nosuch")
    span = read_time_range(archive)
    assert span is not None
    assert (span.keys, span.begin, span.end) == ((), None, None)


def test_no_header_no_range(tmp_path: Path) -> None:
    assert read_time_range(tmp_path) is None
    (tmp_path / "header").write_bytes(b"not an archive header at all" * 3)
    assert read_time_range(tmp_path) is None
