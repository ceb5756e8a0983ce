"""Tests of ingest: real clp-s, real Loghub samples, compressed inputs, failures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from logpager.errors import IngestError
from logpager.ingest import detect_timestamp_key, ingest, ingest_samples, sample_files
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


def test_ingest_samples_once(tmp_path: Path) -> None:
    first = ingest_samples(tmp_path)
    assert len(first.archive_ids) == 1
    assert ingest_samples(tmp_path).archive_ids == []
    assert _count(tmp_path) == 10_000


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


def test_bad_json_names_file_and_line_and_leaves_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"a": 1}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{"a": 2}\n{"a": 3\n{"a": 4}\n')
    data = tmp_path / "data"
    with pytest.raises(IngestError, match=r"bad\.jsonl:3: not a valid JSON object"):
        ingest([good, bad], data_dir=data)
    assert list_archive_ids(data) == []
    assert not any((data / "archives").iterdir())
    assert _staging_empty(data)


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


def test_truncated_last_object_is_an_error(tmp_path: Path) -> None:
    # clp-s itself only warns and drops the cut-off object; ingest must refuse the file.
    bad = tmp_path / "cut.jsonl"
    bad.write_text('{"a": 1}\n{"a": 2}\n{"a": 3, "b": \n')
    with pytest.raises(IngestError, match=r"cut\.jsonl:3: the JSON object is cut off"):
        ingest([bad], data_dir=tmp_path / "data")
    assert list_archive_ids(tmp_path / "data") == []
