"""list_fields: the fields of the archives, checked against counts taken from the files."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.analysis.fields import FieldCatalog
from logpager.ingest import ingest
from logpager.search import ClpSBackend
from logpager.search.child import RunToken, SearchCancelledError
from logpager.search.failures import no_archives_error
from logpager.server import create_server
from logpager.settings import Settings
from logpager.synthetic import write_events
from tests.support.loghub import LOGHUB, SAMPLES


def _fields(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in answer["fields"]}


def test_text_logs_show_timestamp_and_message(loghub_archives: Path) -> None:
    settings = Settings(data_dir=loghub_archives)
    answer = FieldCatalog(settings).list_fields(ClpSBackend(settings))
    lines = sum(len((LOGHUB / n).read_text(encoding="utf-8").splitlines()) for n in SAMPLES)
    assert lines == 10_000  # each sample line is one event (none spans lines)
    fields = _fields(answer)
    assert sorted(fields) == ["message", "timestamp"]
    assert fields["message"]["count"] == lines
    assert fields["message"]["types"] == ["string"]
    assert fields["timestamp"]["count"] == lines  # every sample line has a timestamp
    assert fields["timestamp"]["types"] == ["number"]
    assert answer["events_scanned"] == lines
    assert answer["all_events_scanned"] is True
    assert answer["archives"] == 5
    assert "note" not in answer
    assert 1 <= len(fields["message"]["examples"]) <= 3


def _nested(line: str, rng: random.Random) -> dict[str, Any]:
    """A synthetic event reshaped into nested JSON, with arrays, nulls and a dotted key."""
    event = json.loads(line)
    shaped: dict[str, Any] = {
        "timestamp": event["timestamp"],
        "level": event["level"],
        "message": event["message"],
        "http": {"status": event["status"], "duration_ms": event["duration_ms"]},
        "always_null": None,
        # Strings Arrow reads as timestamps, alone and in an array.
        "second": event["timestamp"][:19],
        "seconds": [event["timestamp"][:19]],
    }
    if rng.random() < 0.5:
        shaped["client"] = {"ip": event["client_ip"], "geo": {"zone": event["service"]}}
    if rng.random() < 0.3:
        shaped["tags"] = [event["service"], event["host"]]
    if rng.random() < 0.2:
        shaped["k8s.pod"] = event["host"]
    if rng.random() < 0.1:
        shaped["http"]["retry"] = None
    return shaped


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def _oracle(path: Path) -> tuple[Counter[str], dict[str, set[str]]]:
    """Counts and types of every dotted path, walked in Python straight from the file."""
    counts: Counter[str] = Counter()
    types: dict[str, set[str]] = defaultdict(set)

    def walk(prefix: str, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            name = key.replace(".", "\\.")
            dotted = f"{prefix}.{name}" if prefix else name
            types[dotted].add(_JSON_TYPES[type(value)])
            if value is not None:
                counts[dotted] += 1
            if isinstance(value, dict):
                walk(dotted, value)

    for line in path.read_text().splitlines():
        walk("", json.loads(line))
    return counts, types


@pytest.fixture(scope="module")
def nested_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("nested")
    raw = folder / "raw.jsonl"
    write_events(raw, 3_000, seed=5)
    rng = random.Random(3)
    events = [_nested(line, rng) for line in raw.read_text().splitlines()]
    for event in events[2_700:]:  # a number, then a string: Arrow cannot type these batches
        event["http"]["status"] = str(event["http"]["status"])
    source = folder / "nested.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events))
    data = folder / "data"
    ingest([source], data_dir=data, progress=None)
    return source, data


@pytest.mark.parametrize("batch_bytes", [4_096, 4 << 20])
def test_nested_json_shows_dotted_paths_with_the_files_counts(
    nested_data: tuple[Path, Path], batch_bytes: int
) -> None:
    source, data = nested_data
    settings = Settings(data_dir=data, fields_batch_bytes=batch_bytes)
    answer = FieldCatalog(settings).list_fields(ClpSBackend(settings))
    counts, types = _oracle(source)
    fields = _fields(answer)
    assert sorted(fields) == sorted(types)
    assert "client.geo.zone" in fields
    assert "k8s\\.pod" in fields
    for path, listed in fields.items():
        assert listed["count"] == counts[path], path
        # "null" shows where Arrow saw a field only as null in a batch; other types exactly.
        assert set(listed["types"]) - {"null"} == types[path] - {"null"}, path
        assert len(listed["examples"]) <= 3
    assert fields["always_null"]["types"] == ["null"]
    assert fields["always_null"]["count"] == 0
    assert fields["http.status"]["types"] == ["number", "string"]
    assert answer["events_scanned"] == 3_000
    events = [json.loads(line) for line in source.read_text().splitlines()]
    zones = {e["client"]["geo"]["zone"] for e in events if "client" in e}
    assert set(fields["client.geo.zone"]["examples"]) <= zones
    seconds = {e["second"] for e in events}
    assert fields["second"]["types"] == ["string"]
    assert fields["second"]["examples"]
    assert set(fields["second"]["examples"]) <= seconds
    assert fields["seconds"]["types"] == ["array"]
    assert fields["seconds"]["count"] == 3_000


def test_cached_per_set_of_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_events(tmp_path / "a.jsonl", 100, seed=1)
    data = tmp_path / "data"
    ingest([tmp_path / "a.jsonl"], data_dir=data, progress=None)
    settings = Settings(data_dir=data)
    backend = ClpSBackend(settings)
    catalog = FieldCatalog(settings)
    first = catalog.list_fields(backend)
    assert catalog.list_fields(backend) is first  # no second scan
    (tmp_path / "b.jsonl").write_text('{"timestamp": 1714521600000, "extra": {"x": 1}}\n')
    ingest([tmp_path / "b.jsonl"], data_dir=data, progress=None)
    second = catalog.list_fields(backend)
    assert second["events_scanned"] == 101
    assert _fields(second)["extra.x"]["count"] == 1
    assert _fields(second)["timestamp"]["count"] == 101


def test_a_cancelled_scan_caches_nothing(nested_data: tuple[Path, Path]) -> None:
    _source, data = nested_data
    settings = Settings(data_dir=data)
    backend = ClpSBackend(settings)
    catalog = FieldCatalog(settings)
    token = RunToken()
    token.cancel()
    with pytest.raises(SearchCancelledError):
        catalog.list_fields(backend, token=token)
    assert catalog.list_fields(backend)["events_scanned"] == 3_000


def test_scan_cap_says_counts_are_over_that_many(nested_data: tuple[Path, Path]) -> None:
    _source, data = nested_data
    settings = Settings(data_dir=data, fields_max_events_scanned=1_000, fields_max_listed=3)
    answer = FieldCatalog(settings).list_fields(ClpSBackend(settings))
    assert answer["events_scanned"] == 1_000
    assert answer["all_events_scanned"] is False
    assert "first 1000 events" in answer["note"]
    assert "not listed" in answer["note"]
    assert len(answer["fields"]) == 3
    assert all(f["count"] <= 1_000 for f in answer["fields"])


async def test_tool_lists_fields_without_a_result_handle(loghub_archives: Path) -> None:
    async with Client(create_server(Settings(data_dir=loghub_archives)), mode="legacy") as c:
        await c.call_tool("get_instructions", {})
        answer = (await c.call_tool("list_fields", {})).data
    assert sorted(_fields(answer)) == ["message", "timestamp"]
    assert answer["events_scanned"] == 10_000


async def test_tool_without_archives_answers_no_archives(tmp_path: Path) -> None:
    data = tmp_path / "empty"
    async with Client(create_server(Settings(data_dir=data)), mode="legacy") as c:
        await c.call_tool("get_instructions", {})
        answer = (await c.call_tool("list_fields", {})).data
    assert answer == {"Error": str(no_archives_error(data))}
