"""get_log_context: the events around a hit, checked against the sample files' own lines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.analysis import context as context_module
from logpager.analysis.context import log_context
from logpager.errors import INSTRUCTIONS_REQUIRED_TEXT, InvalidArgumentError
from logpager.ingest import ingest
from logpager.search import ClpSBackend, parse_link
from logpager.server import create_server
from logpager.settings import Settings
from logpager.synthetic import write_events
from tests.support.loghub import LOGHUB, SAMPLES


def _inner(item: str) -> tuple[str, str, int]:
    """:return: An item's timestamp, its text-log line, and its link's index."""
    stamp, rest = item.removeprefix("timestamp: ").split(", message: ", 1)
    line, link = rest.rsplit(", link: ", 1)
    return stamp, line, parse_link(link)[1]


@pytest.fixture(scope="module")
def archive_of(loghub_archives: Path) -> dict[str, str]:
    """Each sample's archive, found by the text of its first event."""
    backend = ClpSBackend(Settings(data_dir=loghub_archives))
    first_lines = {
        (LOGHUB / name).read_text(encoding="utf-8").splitlines()[0]: name for name in SAMPLES
    }
    found = {}
    for archive_id in backend.list_archives():
        event = log_context(backend, f"clp://{archive_id}/0", 0, 0).event
        found[first_lines[_inner(event)[1]]] = archive_id
    assert sorted(found) == sorted(SAMPLES)
    return found


def _lines(name: str) -> list[str]:
    return (LOGHUB / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(
    ("index", "before", "after"),
    [(0, 5, 5), (1, 3, 2), (1000, 7, 4), (1998, 2, 5), (1999, 5, 5), (500, 0, 0), (3, 100, 100)],
)
def test_context_is_the_neighbouring_lines_of_the_source_file(
    loghub_archives: Path,
    archive_of: dict[str, str],
    name: str,
    index: int,
    before: int,
    after: int,
) -> None:
    lines = _lines(name)
    assert len(lines) == 2000
    backend = ClpSBackend(Settings(data_dir=loghub_archives))
    link = f"clp://{archive_of[name]}/{index}"
    found = log_context(backend, link, before, after)
    first, last = max(index - before, 0), min(index + after, len(lines) - 1)
    got = [_inner(item) for item in (*found.before, found.event, *found.after)]
    assert [text for _, text, _ in got] == lines[first : last + 1]
    assert [i for _, _, i in got] == list(range(first, last + 1))
    assert _inner(found.event)[1] == lines[index]
    answer = found.as_dict(before, after)
    assert answer["reached_start_of_file"] is (index - before < 0)
    assert answer["reached_end_of_file"] is (index + after > len(lines) - 1)
    assert answer["link"] == link
    assert "source_file" not in answer  # text is staged: its file name would mislead


def test_context_stays_within_its_source_file(tmp_path: Path) -> None:
    # Two JSON files in one ingest: one archive, one range of events per file.
    write_events(tmp_path / "a.jsonl", 30, seed=1)
    write_events(tmp_path / "b.jsonl", 20, seed=2)
    data = tmp_path / "data"
    report = ingest([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], data_dir=data, progress=None)
    assert len(report.archive_ids) == 1
    backend = ClpSBackend(Settings(data_dir=data))
    a_lines = (tmp_path / "a.jsonl").read_text().splitlines()
    b_lines = (tmp_path / "b.jsonl").read_text().splitlines()
    # The archive's first 30 events are a.jsonl's and the next 20 b.jsonl's, in order.
    archive = report.archive_ids[0]

    def texts(index: int, before: int, after: int) -> tuple[list[Any], dict[str, Any]]:
        found = log_context(backend, f"clp://{archive}/{index}", before, after)
        items = (*found.before, found.event, *found.after)
        events = [item.split(", message: ", 1)[1].rsplit(", link: ", 1)[0] for item in items]
        return [json.loads(e) for e in events], found.as_dict(before, after)

    got, answer = texts(29, 3, 3)  # a.jsonl's last event: nothing of b.jsonl after it
    assert got == [json.loads(x) for x in a_lines[26:30]]
    assert answer["reached_end_of_file"] is True
    assert answer["source_file"] == str(tmp_path / "a.jsonl")
    got, answer = texts(30, 3, 3)  # b.jsonl's first event: nothing of a.jsonl before it
    assert got == [json.loads(x) for x in b_lines[0:4]]
    assert answer["reached_start_of_file"] is True
    assert answer["source_file"] == str(tmp_path / "b.jsonl")


def test_without_a_range_index_the_archive_bounds_the_window(
    loghub_archives: Path, archive_of: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "read_source_ranges", lambda *_: None)
    backend = ClpSBackend(Settings(data_dir=loghub_archives))
    archive = archive_of["HDFS_2k.log"]
    found = log_context(backend, f"clp://{archive}/1997", 1, 10)
    assert [_inner(i)[1] for i in found.after] == _lines("HDFS_2k.log")[1998:]
    with pytest.raises(InvalidArgumentError, match=r"Invalid link: .* holds 2000 events"):
        log_context(backend, f"clp://{archive}/2000", 1, 1)


@pytest.mark.parametrize(
    "link",
    ["", "nonsense", "clp://", "clp://abc", "clp://abc/-1", "clp://abc/x", "http://a/1", "clp://a/1/2"],
)
def test_malformed_links_name_link(loghub_archives: Path, link: str) -> None:
    backend = ClpSBackend(Settings(data_dir=loghub_archives))
    with pytest.raises(InvalidArgumentError, match=r"^Invalid link: "):
        log_context(backend, link, 1, 1)


# --- the MCP tool --------------------------------------------------------------------------


@pytest.fixture
async def client(loghub_archives: Path) -> AsyncIterator[Client[Any]]:
    async with Client(create_server(Settings(data_dir=loghub_archives)), mode="legacy") as c:
        assert isinstance((await c.call_tool("get_instructions", {})).data, str)
        yield c


async def _call(client: Client[Any], **args: Any) -> dict[str, Any]:
    result = await client.call_tool("get_log_context", args)
    assert isinstance(result.data, dict)
    return result.data


async def test_tool_answers_the_context_of_a_search_hit(
    client: Client[Any], archive_of: dict[str, str]
) -> None:
    page = (await client.call_tool("search_by_kql", {"kql_query": "message: *error*"})).data
    item = page["items"][0]
    link = item.rsplit(", link: ", 1)[1]
    archive, index = parse_link(link)
    name = next(n for n, a in archive_of.items() if a == archive)
    lines = _lines(name)
    answer = await _call(client, link=link, before=2, after=3)
    assert answer["event"] == item  # formatted exactly like the page's item
    got = [_inner(i)[1] for i in (*answer["before"], answer["event"], *answer["after"])]
    assert got == lines[max(index - 2, 0) : index + 4]
    default = await _call(client, link=link)  # 5 and 5 by default
    assert len(default["before"]) == min(index, 5)
    assert len(default["after"]) == min(1999 - index, 5)


async def test_tool_at_the_files_ends(client: Client[Any], archive_of: dict[str, str]) -> None:
    archive = archive_of["Zookeeper_2k.log"]
    lines = _lines("Zookeeper_2k.log")
    start = await _call(client, link=f"clp://{archive}/0", before=5, after=1)
    assert start["before"] == []
    assert start["reached_start_of_file"] is True
    assert [_inner(i)[1] for i in (start["event"], *start["after"])] == lines[:2]
    end = await _call(client, link=f"clp://{archive}/1999", before=1, after=5)
    assert end["after"] == []
    assert end["reached_end_of_file"] is True
    assert [_inner(i)[1] for i in (*end["before"], end["event"])] == lines[-2:]


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"link": "not a link"}, "link"),
        ({"link": 42}, "link"),
        ({"link": "clp://no-such-archive/3"}, "link"),
        ({"before": 101}, "before"),
        ({"before": -1}, "before"),
        ({"before": "3"}, "before"),
        ({"before": True}, "before"),
        ({"after": 2.5}, "after"),
        ({"after": 1000}, "after"),
        ({"after": None}, "after"),
    ],
    ids=repr,
)
async def test_tool_names_the_bad_parameter(
    client: Client[Any], archive_of: dict[str, str], args: dict[str, Any], parameter: str
) -> None:
    call = {"link": f"clp://{archive_of['Apache_2k.log']}/10", **args}
    answer = await _call(client, **call)
    assert list(answer) == ["Error"]
    assert answer["Error"].startswith(f"Invalid {parameter}: ")


async def test_tool_index_out_of_range_names_link(
    client: Client[Any], archive_of: dict[str, str]
) -> None:
    answer = await _call(client, link=f"clp://{archive_of['Linux_2k.log']}/2000")
    assert answer["Error"].startswith("Invalid link: ")
    assert "2000 events" in answer["Error"]


async def test_tools_are_registered_read_only(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    for name in ("get_log_context", "list_fields"):
        annotations = tools[name].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True
    schema = tools["get_log_context"].input_schema
    assert schema["required"] == ["link"]
    for count in ("before", "after"):
        assert schema["properties"][count]["type"] == "integer"
        assert schema["properties"][count]["minimum"] == 0
        assert schema["properties"][count]["maximum"] == 100
        assert schema["properties"][count]["default"] == 5


async def test_tool_follows_the_instructions_rule(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives))
    async with Client(server, mode="legacy") as c:
        link = "clp://whatever/1"
        await c.call_tool("get_log_context", {"link": link})  # a first call is served
        second = (await c.call_tool("get_log_context", {"link": link})).data
        assert second == {"Error": INSTRUCTIONS_REQUIRED_TEXT}
