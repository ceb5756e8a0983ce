"""filter_result: a new result holding the matching events of a cached one, checked against
the same filter applied to the source lines, through the real engine and the MCP tool."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.analysis.filtering import FilterCriteria, filter_result
from logpager.analysis.jsonfields import event_texts
from logpager.cache import QueryResult
from logpager.errors import DerivedResultEvictedError, InvalidArgumentError, UnknownHandleError
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.server import create_server
from logpager.sessions import SessionManager, new_handle
from logpager.settings import Settings
from tests.support.analysis_data import json_data_dir, json_lines, loghub_lines
from tests.support.loghub import SAMPLES

LOGHUB_SAMPLES = [name.split("_")[0] for name in SAMPLES]
ALL = 100_000  # a cap above every test's matches: nothing truncated


def search(data_dir: Path, query: str) -> tuple[QueryResult, Settings]:
    config = Settings(data_dir=data_dir, max_cached_results=ALL)
    result, _ = search_and_cache(ClpSBackend(config), QuerySpec(query), settings=config)
    return result, config


def keep(source: QueryResult, settings: Settings, **criteria: Any) -> QueryResult:
    return filter_result(source, FilterCriteria.parse(**criteria), settings=settings)


def texts(result: QueryResult) -> list[str]:
    """The events' texts (a text log's line), in result order."""
    return [text for batch in result.record_batches() for text in event_texts(batch).to_pylist()]


def all_lines() -> list[str]:
    return [line for sample in LOGHUB_SAMPLES for line in loghub_lines(sample)]


@pytest.fixture(scope="module")
def json_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return json_data_dir(tmp_path_factory.mktemp("json-logs"))


# --- what is kept ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "regex",
    [
        r"PacketResponder \d+ for block blk_-\d+",
        r"^Dec 10 0[67]:",
        r"(?i)failed password for (invalid user )?root",
        r"session (opened|closed) for user \w+$",
        r"\[error\]",
    ],
)
def test_regex_keeps_what_the_regex_finds_in_the_source_lines(
    loghub_archives: Path, regex: str
) -> None:
    source, settings = search(loghub_archives, "*")
    derived = keep(source, settings, regex=regex)
    expected = Counter(line for line in all_lines() if re.search(regex, line))
    assert expected  # each pattern finds something
    kept = texts(derived)
    assert Counter(kept) == expected
    # The source's order (latest first), restricted to the matches.
    assert kept == [text for text in texts(source) if re.search(regex, text)]
    assert derived.num_items == derived.num_total_matches == sum(expected.values())
    assert not derived.truncated


def test_text_is_a_substring_in_any_case(loghub_archives: Path) -> None:
    source, settings = search(loghub_archives, "*")
    derived = keep(source, settings, text="AUTHENTICATION FAILURE")
    expected = Counter(line for line in all_lines() if "authentication failure" in line.lower())
    assert Counter(texts(derived)) == expected
    assert derived.num_items > 0


def test_criteria_combine_with_and(loghub_archives: Path) -> None:
    source, settings = search(loghub_archives, "*")
    regex = r"port \d+ ssh2$"
    derived = keep(source, settings, text="sshd", regex=regex)
    expected = Counter(
        line for line in all_lines() if "sshd" in line.lower() and re.search(regex, line)
    )
    assert Counter(texts(derived)) == expected
    assert derived.num_items > 0


def test_filter_of_a_query_result_keeps_its_spec(loghub_archives: Path) -> None:
    config = Settings(data_dir=loghub_archives, max_cached_results=ALL)
    spec = QuerySpec("*PacketResponder*", begin_ms=1_226_188_800_000, end_ms=1_226_361_599_999)
    source, _ = search_and_cache(ClpSBackend(config), spec, settings=config)
    derived = keep(source, config, regex="terminating$")
    assert derived.query == '*PacketResponder* | filter regex="terminating$"'
    assert (derived.begin_ms, derived.end_ms) == (spec.begin_ms, spec.end_ms)
    assert derived.archive_ids == source.archive_ids
    assert derived.page_size == source.page_size
    expected = [t for t in texts(source) if t.endswith("terminating")]
    assert texts(derived) == expected


@pytest.mark.parametrize(
    ("field", "value", "predicate"),
    [
        ("level", "ERROR", lambda e: e.get("level") == "ERROR"),
        ("status", 503, lambda e: e.get("status") == 503),
        ("status", "503", lambda e: e.get("status") == 503),
        ("service", "auth", lambda e: e.get("service") == "auth"),
        ("http.method", "POST", lambda e: e.get("http", {}).get("method") == "POST"),
        ("http.status", "n/a", lambda e: e.get("http", {}).get("status") == "n/a"),
        ("http.status", 404, lambda e: e.get("http", {}).get("status") == 404),
        ("user.name", "user-3", lambda e: e.get("user", {}).get("name") == "user-3"),
    ],
)
def test_field_value_keeps_exact_matches_of_the_jsonl_files(
    json_logs: tuple[Path, Path, Path], field: str, value: Any, predicate: Any
) -> None:
    data, synthetic, nested = json_logs
    source, settings = search(data, "*")
    derived = keep(source, settings, field=field, value=value)
    events = json_lines(synthetic) + json_lines(nested)
    expected = sum(1 for event in events if predicate(event))
    assert expected > 0
    assert derived.num_items == derived.num_total_matches == expected
    kept = [json.loads(t) for t in texts(derived)]
    assert all(predicate(event) for event in kept)


def test_json_text_reads_the_whole_event(json_logs: tuple[Path, Path, Path]) -> None:
    data, synthetic, _nested = json_logs
    source, settings = search(data, "*")
    derived = keep(source, settings, text='"level":"warn"', field="service", value="payments")
    expected = [
        e for e in json_lines(synthetic) if e["level"] == "WARN" and e["service"] == "payments"
    ]
    assert derived.num_items == len(expected) > 0


def test_nothing_matching_is_an_empty_result(loghub_archives: Path) -> None:
    source, settings = search(loghub_archives, "*PacketResponder*")
    derived = keep(source, settings, text="no line holds this text")
    assert derived.num_items == derived.num_total_matches == 0
    assert derived.get_page(0)["items"] == []


def test_verbatim_items_are_filtered_by_their_text() -> None:
    source = QueryResult.from_items([f"item {i} {'odd' if i % 2 else 'even'}" for i in range(25)])
    derived = keep(source, Settings(), regex=r"^item 1\d odd$")
    assert list(derived.iter_items()) == [f"item {i} odd" for i in (11, 13, 15, 17, 19)]
    with pytest.raises(InvalidArgumentError, match="Invalid field"):
        keep(source, Settings(), field="message", value="x")


# --- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "parameter"),
    [
        ({}, "text/regex/field"),
        ({"text": ""}, "text"),
        ({"text": 5}, "text"),
        ({"regex": ""}, "regex"),
        ({"regex": "a("}, "regex"),
        ({"regex": r"(\w)\1"}, "regex"),  # backreferences are not RE2
        ({"regex": "(?<=a)b"}, "regex"),
        ({"field": "level"}, "value"),
        ({"value": "ERROR"}, "field"),
        ({"field": "a..b", "value": "x"}, "field"),
        ({"field": "level", "value": ["ERROR"]}, "value"),
    ],
)
def test_bad_criteria_name_the_parameter(criteria: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        FilterCriteria.parse(**criteria)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"Invalid {parameter}: ")


def test_unknown_field_names_field(loghub_archives: Path) -> None:
    source, settings = search(loghub_archives, "*PacketResponder*")
    with pytest.raises(InvalidArgumentError) as caught:
        keep(source, settings, field="level", value="INFO")
    assert caught.value.parameter == "field"


# --- the MCP tool ------------------------------------------------------------------------------


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


async def test_tool_result_pages_and_is_analysable(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives, max_cached_results=ALL))
    async with Client(server, mode="legacy") as client:
        await call(client, "get_instructions")
        page = await call(client, "search_by_kql", kql_query="*")
        source_handle = page["result_handle"]
        regex = r"Failed password for \w+ from"
        first = await call(client, "filter_result", result_handle=source_handle, regex=regex)
        expected = [line for line in all_lines() if re.search(regex, line)]
        handle = first["result_handle"]
        assert handle != source_handle
        assert first["num_total_items"] == first["num_total_matches"] == len(expected)
        assert first["truncated"] is False
        # Every page of the new result, in order, holds exactly the matching events.
        items: list[str] = []
        for index in range(first["num_total_pages"]):
            paged = await call(client, "get_nth_page", page_index=index, result_handle=handle)
            items.extend(paged["items"])
        assert len(items) == len(expected)
        assert all(re.search(regex, item) for item in items)
        # It can be counted and filtered again; the source is still there.
        counts = await call(
            client, "aggregate_results", result_handle=handle, by="time", interval="1d"
        )
        assert sum(b["count"] for b in counts["buckets"]) == len(expected)
        again = await call(client, "filter_result", result_handle=handle, text="ROOT")
        assert again["num_total_items"] == sum("root" in line.lower() for line in expected)
        still = await call(client, "get_nth_page", page_index=0, result_handle=source_handle)
        assert still["num_total_items"] == 10_000
        # Without a handle: the caller's latest result (the last filter).
        latest = await call(client, "aggregate_results", by="message", top=1)
        assert latest["num_items"] == again["num_total_items"]


async def test_tool_bad_inputs_are_errors_naming_the_parameter(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives))
    async with Client(server, mode="legacy") as client:
        refused = await call(client, "filter_result", text="x")
        assert "get_instructions" in refused["Error"]
        await call(client, "get_instructions")
        page = await call(client, "search_by_kql", kql_query="*PacketResponder*")
        handle = page["result_handle"]
        cases: list[tuple[dict[str, Any], str]] = [
            ({}, "text/regex/field"),
            ({"regex": "([a-z]+"}, "regex"),
            ({"text": ""}, "text"),
            ({"text": 3}, "text"),
            ({"field": "level"}, "value"),
            ({"value": "INFO"}, "field"),
            ({"field": "level", "value": "INFO"}, "field"),
        ]
        for args, parameter in cases:
            answer = await call(client, "filter_result", result_handle=handle, **args)
            assert answer.keys() == {"Error"}, args
            assert answer["Error"].startswith(f"Invalid {parameter}: "), (args, answer)
        forged = await call(client, "filter_result", result_handle=new_handle(), text="x")
        assert forged == {"Error": str(UnknownHandleError())}


async def test_an_evicted_filtered_result_names_its_source(loghub_archives: Path) -> None:
    # A filtered result's spec describes a filter, not a search: once evicted it is not sent
    # to the engine; the error says how to make it again from its source.
    manager = SessionManager(settings=Settings(data_dir=loghub_archives))
    server = create_server(Settings(data_dir=loghub_archives), manager=manager)
    async with Client(server, mode="legacy") as c:
        await c.call_tool("get_instructions", {})
        source = (await c.call_tool("search_by_kql", {"kql_query": "*"})).data
        derived = (
            await c.call_tool(
                "filter_result", {"result_handle": source["result_handle"], "text": "error"}
            )
        ).data
        handle = derived["result_handle"]
        (session,) = manager.sessions.values()
        assert manager.evict_result(session, handle) > 0
        answer = (
            await c.call_tool("get_nth_page", {"page_index": 0, "result_handle": handle})
        ).data
    assert answer == {"Error": str(DerivedResultEvictedError(source["result_handle"]))}
    assert "filter_result" in answer["Error"]
