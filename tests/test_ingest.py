"""Tests of ingest: real clp-s, real Loghub samples, compressed inputs, failures."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard

from logpager.errors import IngestError
from logpager.ingest import detect_timestamp_key, ingest, ingest_samples, sample_files
from logpager.ingest import inputs as inputs_module
from logpager.ingest.inputs import iter_text_lines, open_binary
from logpager.query import QuerySpec
from logpager.search import ClpSBackend, list_archive_ids, staging_dir
from logpager.settings import Settings
from tests.support.loghub import LOGHUB

if not LOGHUB.is_dir():
    LOGHUB = Path(__file__).resolve().parents[1] / "src" / "logpager" / "samples" / "loghub"
SAMPLE_NAMES = [
    "Apache_2k.log",
    "HDFS_2k.log",
    "Linux_2k.log",
    "OpenSSH_2k.log",
    "Zookeeper_2k.log",
]


def _count(data_dir: Path, query: str = "*", **kw: Any) -> int:
    return ClpSBackend(Settings(data_dir=data_dir)).search(QuerySpec(query, **kw)).total_matches


def _staging_empty(data_dir: Path) -> bool:
    return not any(staging_dir(data_dir).iterdir()) if staging_dir(data_dir).exists() else True


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_loghub_sample_ingests(tmp_path: Path, name: str) -> None:
    report = ingest([LOGHUB / name], data_dir=tmp_path, default_year=2020)
    assert len(report.archive_ids) == 1
    assert report.text_lines == 2000
    raw_lines = [line for line in (LOGHUB / name).read_text().splitlines() if line.strip()]
    assert _count(tmp_path) == len(raw_lines)
    assert _staging_empty(tmp_path)


def test_bundled_samples_match_shared_copy() -> None:
    names = sorted(p.name for p in sample_files())
    assert names == SAMPLE_NAMES
    for path in sample_files():
        assert path.read_bytes() == (LOGHUB / path.name).read_bytes()
    assert (sample_files()[0].parent / "README.md").is_file()


def test_ingest_samples_once_with_their_true_years(tmp_path: Path) -> None:
    first = ingest_samples(tmp_path)
    assert len(first.archive_ids) == 1
    years = {Path(s.path).name: s.year for s in first.summaries}
    assert years["Linux_2k.log"] == "2005 (given)"
    assert years["OpenSSH_2k.log"] == "2015 (given)"
    assert ingest_samples(tmp_path).archive_ids == []
    assert _count(tmp_path) == 10_000
    # The latest events are OpenSSH's (December 2015), not a yearless sample dated this year.
    outcome = ClpSBackend(Settings(data_dir=tmp_path)).search(QuerySpec("*", max_results=1))
    (latest,) = outcome.batches[0].column("timestamp").to_pylist()
    assert latest == datetime(2015, 12, 10, 11, 4, 45, tzinfo=UTC).timestamp() * 1000


def test_ingest_is_repeatable_and_search_covers_all(tmp_path: Path) -> None:
    ingest([LOGHUB / "HDFS_2k.log"], data_dir=tmp_path)
    ingest([LOGHUB / "Apache_2k.log"], data_dir=tmp_path)
    ingest([LOGHUB / "HDFS_2k.log"], data_dir=tmp_path)
    assert len(list_archive_ids(tmp_path)) == 3
    assert _count(tmp_path) == 6000


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
@pytest.mark.parametrize("kind", ["text", "json"])
def test_compressed_inputs(tmp_path: Path, compression: str, kind: str) -> None:
    if kind == "text":
        raw = (LOGHUB / "Zookeeper_2k.log").read_bytes()
        expected = 2000
    else:
        lines = [
            json.dumps({"ts": f"2024-01-01T00:00:{i % 60:02d}Z", "msg": f"event {i}"})
            for i in range(500)
        ]
        raw = ("\n".join(lines) + "\n").encode()
        expected = 500
    packed = gzip.compress(raw) if compression == "gzip" else zstandard.compress(raw)
    source = tmp_path / "input.bin"
    source.write_bytes(packed)
    data = tmp_path / "data"
    ingest([source], data_dir=data)
    assert _count(data) == expected
    if kind == "json":
        # The detected key "ts" gives timestamps, so a time range narrows the hits.
        begin = 1_704_067_200_000  # 2024-01-01T00:00:00Z
        assert _count(data, begin_ms=begin, end_ms=begin + 9_999) == sum(
            1 for i in range(500) if i % 60 < 10
        )


def test_detect_timestamp_key() -> None:
    assert detect_timestamp_key(['{"@timestamp": "x", "time": 1}']) == "@timestamp"
    assert detect_timestamp_key(["not json", '{"ts": 5}']) == "ts"
    assert detect_timestamp_key(['{"msg": "x"}']) is None


def test_at_timestamp_key_is_escaped_for_clp_s(tmp_path: Path) -> None:
    source = tmp_path / "at.jsonl"
    source.write_text(
        '{"@timestamp": "2020-01-01T00:00:00Z", "m": "a"}\n'
        '{"@timestamp": "2021-01-01T00:00:00Z", "m": "b"}\n'
    )
    ingest([source], data_dir=tmp_path / "d")
    outcome = ClpSBackend(Settings(data_dir=tmp_path / "d")).search(QuerySpec("*"))
    assert outcome.batches[0].column("timestamp").to_pylist() == [
        1_609_459_200_000,
        1_577_836_800_000,
    ]


def test_bad_timestamp_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ts.jsonl"
    bad.write_text('{"timestamp": 1600000000000}\n{"timestamp": "garbage"}\n')
    with pytest.raises(IngestError, match=r"ts\.jsonl:2: timestamp \"garbage\""):
        ingest([bad], data_dir=tmp_path / "data")
    assert list_archive_ids(tmp_path / "data") == []
    assert _staging_empty(tmp_path / "data")


def test_missing_input_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest([tmp_path / "nope.log"], data_dir=tmp_path / "d")
    empty = tmp_path / "empty.log"
    empty.write_text("\n\n")
    report = ingest([empty], data_dir=tmp_path / "d")
    assert report.skipped == [str(empty)]
    assert report.archive_ids == []


def test_progress_is_reported(tmp_path: Path) -> None:
    said: list[str] = []
    ingest([LOGHUB / "Linux_2k.log"], data_dir=tmp_path, progress=said.append)
    assert any("converting" in s for s in said)
    assert any("ingested 1 file(s)" in s for s in said)


def test_directory_input_and_mixed_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.log").write_bytes((LOGHUB / "Apache_2k.log").read_bytes())
    (folder / "b.jsonl").write_text('{"time": "2024-01-01T00:00:00Z", "m": "x"}\n')
    (folder / ".hidden.log").write_text("ignored\n")
    report = ingest([folder], data_dir=tmp_path / "d")
    assert report.files == 2
    assert len(report.archive_ids) == 2  # one per timestamp key
    assert _count(tmp_path / "d") == 2001


MALFORMED = {
    "bare word": (
        '{"a": 1}\n{"level": "INFO", "message": broken}\n{"a": 3}\n',
        2,
        "Expecting value",
    ),
    "array": ('{"a": 1}\n[1,2,3]\n{"a": 3}\n', 2, "a JSON array"),
    "number": ('{"a": 1}\n{"a": 2}\n42\n', 3, "a JSON number"),
    "string": ('{"a": 1}\n\n"text"\n', 3, "a JSON string"),
    "two objects": ('{"a": 1}\n{"a": 2}{"a": 3}\n', 2, "Extra data"),
    "cut off last": ('{"a": 1}\n{"a": 2}\n{"a": 3, "b": \n', 3, "Expecting value"),
    "bad last": ('{"a": 1}\n{"a": 2, "b": nope}', 2, "Expecting value"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("compression", ["", "gzip", "zstd"])
def test_malformed_json_names_file_line_and_parser_and_leaves_nothing(
    tmp_path: Path, kind: str, compression: str
) -> None:
    text, line, parser_says = MALFORMED[kind]
    raw = text.encode()
    packed = {"": raw, "gzip": gzip.compress(raw), "zstd": zstandard.compress(raw)}[compression]
    good = tmp_path / "good.jsonl"
    good.write_text('{"a": 1}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(packed)
    data = tmp_path / "data"
    with pytest.raises(IngestError) as caught:
        ingest([good, bad], data_dir=data)
    message = str(caught.value)
    assert message.startswith(f"{bad}:{line}: ")
    assert parser_says in message
    assert "cut off at the end" not in message
    assert list_archive_ids(data) == []
    assert _staging_empty(data)


def test_many_events_then_a_bad_line_names_that_line(tmp_path: Path) -> None:
    # Past pyarrow's first block: the line number comes from the line-by-line reading.
    lines = [json.dumps({"ts": 1_600_000_000_000 + i, "m": f"event {i}"}) for i in range(60_000)]
    lines[54_321] = '{"ts": 1600000000000, "m": oops}'
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"big\.jsonl:54322: not a valid JSON object"):
        ingest([source], data_dir=tmp_path / "data")


def test_timestamp_key_no_event_has_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text('{"ts": "2024-01-01T00:00:00Z", "m": 1}\n{"ts": 5, "m": 2}\n')
    data = tmp_path / "data"
    with pytest.raises(IngestError, match=r"no event has the timestamp key 'nosuch'"):
        ingest([source], data_dir=data, timestamp_key="nosuch")
    assert list_archive_ids(data) == []
    assert _staging_empty(data)


def test_json_summary_counts_undated_events_and_gives_the_range(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(
        '{"ts": "2024-01-02T00:00:00Z", "m": 1}\n{"m": 2}\n\n'
        '{"ts": "2024-01-01T00:00:00Z", "m": 3}\n{"ts": null, "m": 4}\n'
    )
    report = ingest([source], data_dir=tmp_path / "data")
    (summary,) = report.summaries
    assert summary.layout == "json, timestamp key 'ts'"
    assert (summary.events, summary.undated) == (4, 2)
    assert (summary.first_ms, summary.last_ms) == (1_704_067_200_000, 1_704_153_600_000)
    assert not summary.range_shared
    assert report.warnings == [summary.warning]
    assert summary.warning is not None
    assert "2 of 4 event(s) have no timestamp" in summary.warning
    assert "--timestamp-key" in summary.warning


def test_nested_timestamp_key_is_counted(tmp_path: Path) -> None:
    source = tmp_path / "nested.jsonl"
    source.write_text(
        '{"meta": {"at": 1600000000000}, "m": 1}\n{"meta": {}, "m": 2}\n'
        '{"meta": {"at": 1600000005000}, "m": 3}\n'
    )
    report = ingest([source], data_dir=tmp_path / "data", timestamp_key="meta.at")
    (summary,) = report.summaries
    assert (summary.events, summary.undated) == (3, 1)
    assert (summary.first_ms, summary.last_ms) == (1_600_000_000_000, 1_600_000_005_000)


def test_mixed_value_types_of_the_key_are_counted_line_by_line(tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_text('{"ts": 1600000000000}\n{"ts": "2024-01-01T00:00:00Z"}\n{"other": 1}\n')
    (summary,) = ingest([source], data_dir=tmp_path / "data").summaries
    assert (summary.events, summary.undated) == (3, 1)


def test_json_files_compressed_together_share_a_range(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text('{"ts": "2024-01-01T00:00:00Z"}\n')
    second = tmp_path / "b.jsonl"
    second.write_text('{"ts": "2024-03-01T00:00:00Z"}\n')
    report = ingest([first, second], data_dir=tmp_path / "data")
    assert [s.range_shared for s in report.summaries] == [True, True]
    assert {(s.first_ms, s.last_ms) for s in report.summaries} == {
        (1_704_067_200_000, 1_709_251_200_000)
    }
    assert "(of all the files with this timestamp key)" in report.summaries[0].describe()


def test_text_summary_warns_about_undated_events(tmp_path: Path) -> None:
    source = tmp_path / "plain.log"
    source.write_text("starting\nno dates here\nat all\n")
    (summary,) = ingest([source], data_dir=tmp_path / "data").summaries
    assert summary.layout == "text, no timestamp found"
    assert (summary.events, summary.undated, summary.first_ms) == (3, 3, None)
    assert summary.warning is not None
    assert "all 3 event(s) have no timestamp" in summary.warning
    assert "--timestamp-format" in summary.warning


def test_text_lines_decode_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs_module, "READ_CHUNK_BYTES", 3)
    source = tmp_path / "utf8.log"
    source.write_bytes("héllo wörld\r\n\n€ end\nlast \xff".encode("utf-8", "surrogateescape"))
    with open_binary(source, "") as stream:
        assert list(iter_text_lines(stream)) == ["héllo wörld\r", "", "€ end", "last ÿ"]
    source.write_bytes(b"caf\xc3 broken\n")
    with open_binary(source, "") as stream:
        assert list(iter_text_lines(stream)) == ["caf\ufffd broken"]


def test_summaries_come_in_the_order_of_the_inputs(tmp_path: Path) -> None:
    events = tmp_path / "b.jsonl"
    events.write_text('{"ts": "2024-01-01T00:00:00Z"}\n')
    text = tmp_path / "a.log"
    text.write_text("2024-01-01 00:00:00 x\n")
    report = ingest([events, text, LOGHUB / "HDFS_2k.log"], data_dir=tmp_path / "data")
    assert [Path(s.path).name for s in report.summaries] == ["b.jsonl", "a.log", "HDFS_2k.log"]


def test_a_year_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="year 0 is not from 1970 to 9999"):
        ingest([LOGHUB / "Linux_2k.log"], data_dir=tmp_path, default_year=0)
    with pytest.raises(IngestError, match="year 10000 is not from 1970 to 9999"):
        ingest([LOGHUB / "Linux_2k.log"], data_dir=tmp_path, file_years={Path("x.log"): 10000})
