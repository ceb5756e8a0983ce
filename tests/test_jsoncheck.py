"""Tests of the JSON-lines check: counts, keys, blank lines, where it falls back to json."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from logpager.errors import IngestError
from logpager.ingest.inputs import InputFile
from logpager.ingest.jsoncheck import check_json_lines, key_path


@pytest.mark.parametrize(
    ("key", "path"),
    [("ts", ["ts"]), ("a.b", ["a", "b"]), (r"a\.b", ["a.b"]), (r"\@timestamp", ["@timestamp"])],
)
def test_key_path_reads_clp_s_escapes(key: str, path: list[str]) -> None:
    assert key_path(key) == path


@pytest.mark.parametrize(
    "text",
    [
        '{"ts": 1}\n\n  \n{"x": 2}\n\t\r\n{"ts": 3}',
        '\n{"ts": 1}\n{"x": 2}\n{"ts": 3}\n\n',
        '{"ts": 1}\r\n{"x": 2}\r\n{"ts": 3}\r\n',
    ],
)
@pytest.mark.parametrize("compression", ["", "zstd"])
def test_blank_lines_are_not_events(tmp_path: Path, text: str, compression: str) -> None:
    source = tmp_path / "events.jsonl"
    raw = text.encode()
    source.write_bytes(zstandard.compress(raw) if compression else raw)
    checked = check_json_lines(InputFile(source, compression, "json", "ts"), source)
    assert (checked.events, checked.undated) == (3, 1)


def test_without_a_key_every_event_is_undated(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text('{"a": 1}\n{"a": 2}\n')
    checked = check_json_lines(InputFile(source, "", "json", None), source)
    assert (checked.events, checked.undated) == (2, 2)


def test_a_bad_first_line_is_named(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text('{"ts": 1,}\n{"ts": 2}\n')
    with pytest.raises(IngestError, match=r"events\.jsonl:1: not a valid JSON object \(Expect"):
        check_json_lines(InputFile(source, "", "json", "ts"), source)


@pytest.mark.parametrize("leading", [0, 5, 2000])
def test_events_before_the_first_with_a_key_are_counted_undated(
    tmp_path: Path, leading: int
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text('{"m": 0}\n' * leading + '{"ts": "2024-01-01T00:00:00Z"}\n{"m": 1}\n')
    checked = check_json_lines(InputFile(source, "", "json", "ts"), source)
    assert (checked.events, checked.undated) == (leading + 2, leading + 1)


def test_braces_inside_strings_are_not_two_objects(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text('{"ts": 1, "m": "a}{b"}\n\n{"ts": 2, "m": "} {"}\n')
    checked = check_json_lines(InputFile(source, "", "json", "ts"), source)
    assert (checked.events, checked.undated) == (2, 0)
