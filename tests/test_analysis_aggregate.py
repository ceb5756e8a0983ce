"""aggregate_results: counts over a whole cached result, checked against counts made
independently from the source lines, through the real engine and the MCP tool."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastmcp import Client

from logpager.analysis.aggregate import aggregate, parse_interval
from logpager.analysis.counting import ValueCounter
from logpager.analysis.jsonfields import FieldReader, field_values, value_text
from logpager.cache import QueryResult
from logpager.errors import InvalidArgumentError, UnknownHandleError
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.server import create_server
from logpager.sessions import new_handle
from logpager.settings import Settings
from logpager.timeutil import format_epoch_ms
from tests.support.analysis_data import (
    NESTED_EVENTS,
    SYNTHETIC_EVENTS,
    json_data_dir,
    json_lines,
    loghub_lines,
    loghub_timestamp_ms,
)
from tests.support.loghub import SAMPLES

LOGHUB_SAMPLES = [name.split("_")[0] for name in SAMPLES]
ALL = 100_000  # a cap above every test's matches: nothing truncated


def search(data_dir: Path, query: str, **settings: Any) -> QueryResult:
    config = Settings(data_dir=data_dir, max_cached_results=ALL, **settings)
    result, _ = search_and_cache(ClpSBackend(config), QuerySpec(query), settings=config)
    return result


def count(result: QueryResult, **args: Any) -> dict[str, Any]:
    settings = args.pop("settings", Settings())
    args.setdefault("top", 10)
    args.setdefault("interval", None)
    return aggregate(result, settings=settings, **args)


def expected_top(counts: Counter[str], top: int) -> list[dict[str, Any]]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"value": v, "count": c} for v, c in ordered[:top]]


@pytest.fixture(scope="module")
def json_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return json_data_dir(tmp_path_factory.mktemp("json-logs"))


# --- by time -----------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["1h", "1d", "30m"])
def test_histogram_of_everything_equals_the_source_lines(
    loghub_archives: Path, interval: str
) -> None:
    result = search(loghub_archives, "*")
    step = parse_interval(interval)
    expected: Counter[str] = Counter()
    for sample in LOGHUB_SAMPLES:
        for line in loghub_lines(sample):
            expected[format_epoch_ms(loghub_timestamp_ms(sample, line) // step * step)] += 1
    answer = count(
        result, by="time", interval=interval, settings=Settings(aggregate_max_buckets=10_000)
    )
    assert {b["start"]: b["count"] for b in answer["buckets"]} == expected
    starts = [b["start"] for b in answer["buckets"]]
    assert starts == sorted(starts)  # oldest first
    assert answer["no_timestamp"] == 0
    assert answer["num_items"] == answer["num_total_matches"] == sum(expected.values())
    assert answer["truncated"] is False
    assert "note" not in answer


def test_histogram_of_a_query_on_hdfs_by_hour(loghub_archives: Path) -> None:
    result = search(loghub_archives, "*PacketResponder*")
    expected = Counter(
        format_epoch_ms(loghub_timestamp_ms("HDFS", line) // 3_600_000 * 3_600_000)
        for line in loghub_lines("HDFS")
        if "PacketResponder" in line
    )
    answer = count(result, by="time", interval="1h")
    assert {b["start"]: b["count"] for b in answer["buckets"]} == expected
    assert answer["num_items"] == sum(expected.values()) > 0


@pytest.mark.parametrize("batch_rows", [1, 250, ALL])
def test_answers_do_not_depend_on_how_many_rows_are_read_at_a_time(
    json_logs: tuple[Path, Path, Path], batch_rows: int
) -> None:
    result = search(json_logs[0], "*")
    settings = Settings(aggregate_batch_rows=batch_rows)
    for args in ({"by": "service"}, {"by": "http.status"}, {"by": "time", "interval": "1h"}):
        assert count(result, settings=settings, **args) == count(result, **args)


def test_histogram_counts_events_without_a_timestamp_apart() -> None:
    items = [{"timestamp": 90_000 * i, "message": f'{{"n":{i}}}'} for i in range(10)] + [
        {"timestamp": None, "message": '{"n":-1}'},
        {"timestamp": -1, "message": '{"n":-2}'},  # before 1970: rounds down
    ]
    answer = count(QueryResult.from_items(items), by="time", interval="5m")
    assert answer["no_timestamp"] == 1
    assert answer["buckets"] == [
        {"start": "1969-12-31T23:55:00.000Z", "count": 1},
        {"start": "1970-01-01T00:00:00.000Z", "count": 4},  # 0, 1.5, 3, 4.5 min
        {"start": "1970-01-01T00:05:00.000Z", "count": 3},
        {"start": "1970-01-01T00:10:00.000Z", "count": 3},
    ]


def test_histogram_over_too_many_buckets_asks_for_a_longer_interval(
    loghub_archives: Path,
) -> None:
    result = search(loghub_archives, "*")
    with pytest.raises(InvalidArgumentError, match=r"Invalid interval: .* more than 1000 buckets"):
        count(result, by="time", interval="1s")


# --- by field ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["level", "service", "status", "host", "duration_ms"])
def test_top_values_of_synthetic_json_equal_the_jsonl_file(
    json_logs: tuple[Path, Path, Path], field: str
) -> None:
    data, synthetic, _nested = json_logs
    result = search(data, "*")
    expected = Counter(str(value_text(event[field])) for event in json_lines(synthetic))
    answer = count(result, by=field, top=5)
    assert answer["values"] == expected_top(expected, 5)
    assert answer["other"] == SYNTHETIC_EVENTS - sum(v["count"] for v in answer["values"])
    assert answer["missing"] == NESTED_EVENTS  # the nested file's events have no such field
    assert answer["num_distinct_values"] == len(expected)
    assert answer["approximate"] is False
    assert answer["num_items"] == SYNTHETIC_EVENTS + NESTED_EVENTS


@pytest.mark.parametrize("path", ["http.method", "http.status", "user.name", "http"])
def test_top_values_of_nested_fields_with_mixed_types(
    json_logs: tuple[Path, Path, Path], path: str
) -> None:
    data, _synthetic, nested = json_logs
    result = search(data, "*")
    expected: Counter[str] = Counter()
    for event in json_lines(nested):
        value: Any = event
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            expected[value_text(value) or ""] += 1
    answer = count(result, by=path, top=1000)
    assert answer["values"] == expected_top(expected, 1000)
    assert answer["other"] == 0
    assert answer["missing"] == SYNTHETIC_EVENTS + NESTED_EVENTS - sum(expected.values())


def test_query_result_by_level_counts_only_the_matches(
    json_logs: tuple[Path, Path, Path],
) -> None:
    data, synthetic, _nested = json_logs
    result = search(data, "status >= 500")
    expected = Counter(e["level"] for e in json_lines(synthetic) if e["status"] >= 500)
    answer = count(result, by="level")
    assert answer["values"] == expected_top(expected, 10)
    assert answer["missing"] == 0


def test_text_log_fields_are_timestamp_and_message(loghub_archives: Path) -> None:
    result = search(loghub_archives, "*PacketResponder*")
    lines = [line for line in loghub_lines("HDFS") if "PacketResponder" in line]
    by_time = Counter(str(loghub_timestamp_ms("HDFS", line)) for line in lines)
    answer = count(result, by="timestamp", top=20)
    assert answer["values"] == expected_top(by_time, 20)
    assert answer["other"] == len(lines) - sum(v["count"] for v in answer["values"])
    by_message = count(result, by="message", top=1000)
    assert by_message["values"] == expected_top(Counter(lines), 1000)
    with pytest.raises(InvalidArgumentError, match=r"Invalid by: no event .* 'level'"):
        count(result, by="level")


def test_truncated_result_counts_the_kept_events_and_says_so(loghub_archives: Path) -> None:
    config = Settings(data_dir=loghub_archives, max_cached_results=500)
    result, _ = search_and_cache(ClpSBackend(config), QuerySpec("*"), settings=config)
    answer = count(result, by="time", interval="1d")
    assert answer["truncated"] is True
    assert answer["num_items"] == 500
    assert answer["num_total_matches"] == 10_000
    assert sum(b["count"] for b in answer["buckets"]) == 500
    assert "kept events only" in answer["note"]


def test_past_the_distinct_limit_counts_are_approximate_within_the_bound(
    json_logs: tuple[Path, Path, Path],
) -> None:
    data, synthetic, _nested = json_logs
    result = search(data, "*")
    true = Counter(e["user_id"] for e in json_lines(synthetic))
    answer = count(
        result, by="user_id", top=20, settings=Settings(aggregate_max_distinct_values=200)
    )
    assert answer["approximate"] is True
    assert answer["num_distinct_values"] is None
    bound = answer["count_error_bound"]
    assert bound > 0
    for listed in answer["values"]:
        assert listed["count"] <= true[listed["value"]] <= listed["count"] + bound
    listed_total = sum(v["count"] for v in answer["values"])
    assert listed_total + answer["other"] + answer["missing"] == answer["num_items"]


def test_counter_is_exact_up_to_capacity_and_independent_of_batching() -> None:
    values = [f"v{i % 37}" for i in range(1000)]
    whole = ValueCounter(pa.string(), 100, approximate=False)
    whole.add(pa.array(values))
    pieces = ValueCounter(pa.string(), 100, approximate=False)
    for start in range(0, 1000, 7):
        pieces.add(pa.array([*values[start : start + 7], None]))
    assert whole.most_common(50) == pieces.most_common(50)
    assert whole.num_values() == 37
    assert pieces.total == 1000


def test_field_values_reads_what_arrow_cannot_type_row_by_row() -> None:
    batch = pa.record_batch(
        {
            "message": [
                '{"a":{"b":1}}',
                '{"a":"flat"}',
                '{"a":{"b":2.5}}',
                '{"a":{"b":[1,2]}}',
                "not json",
                '{"a":{"b":null}}',
            ]
        }
    )
    assert field_values(batch, ("a", "b")).to_pylist() == ["1", None, "2.5", "[1,2]", None, None]
    assert field_values(batch.slice(0, 1), ("a", "b")).to_pylist() == ["1"]


def test_field_reader_follows_the_type_from_batch_to_batch() -> None:
    reader = FieldReader(("s",))
    for messages, expected in [
        (['{"s":"a"}', "{}"], ["a", None]),
        (['{"s":5}'], ["5"]),
        (['{"s":1.5}', '{"s":2}'], ["1.5", "2"]),
        (['{"s":true}'], ["true"]),
        (['{"s":"x"}', '{"s":1}'], ["x", "1"]),
        (['{"s":{"t":1}}'], ['{"t":1}']),
        (['{"s":"back"}'], ["back"]),
    ]:
        batch = pa.record_batch({"message": messages})
        assert reader.values(batch).to_pylist() == expected


def test_verbatim_items_have_no_fields_and_no_time() -> None:
    result = QueryResult.from_items(["first item", "second item"])
    answer = count(result, by="time", interval="1m")
    assert answer["buckets"] == []
    assert answer["no_timestamp"] == 2
    with pytest.raises(InvalidArgumentError, match="Invalid by"):
        count(result, by="message")


def test_empty_result_counts_nothing() -> None:
    result = QueryResult.from_items([])
    assert count(result, by="level")["values"] == []
    assert count(result, by="time", interval="1h")["buckets"] == []


# --- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"by": "time"}, "interval"),
        ({"by": "time", "interval": "1H"}, "interval"),
        ({"by": "time", "interval": "0m"}, "interval"),
        ({"by": "time", "interval": "1.5h"}, "interval"),
        ({"by": "time", "interval": "1 h"}, "interval"),
        ({"by": "time", "interval": "1w"}, "interval"),
        ({"by": "time", "interval": 60}, "interval"),
        ({"by": "level", "interval": "1h"}, "interval"),
        ({"by": "level", "top": 0}, "top"),
        ({"by": "level", "top": 1001}, "top"),
        ({"by": "level", "top": "5"}, "top"),
        ({"by": "level", "top": 2.0}, "top"),
        ({"by": "level", "top": True}, "top"),
        ({"by": ""}, "by"),
        ({"by": "http..method"}, "by"),
        ({"by": 3}, "by"),
        ({"by": "no_such_field"}, "by"),
    ],
)
def test_bad_arguments_name_the_parameter(
    json_logs: tuple[Path, Path, Path], args: dict[str, Any], parameter: str
) -> None:
    result = search(json_logs[0], "level: ERROR")
    with pytest.raises(InvalidArgumentError) as caught:
        count(result, **args)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"Invalid {parameter}: ")


def test_accepted_intervals() -> None:
    assert [parse_interval(i) for i in ("30s", "1m", "5m", "1h", "1d", "90s")] == [
        30_000,
        60_000,
        300_000,
        3_600_000,
        86_400_000,
        90_000,
    ]


# --- the MCP tool ------------------------------------------------------------------------------


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


async def test_tools_are_listed_read_only_with_their_parameters(loghub_archives: Path) -> None:
    async with Client(create_server(Settings(data_dir=loghub_archives))) as client:
        tools = {t.name: t for t in await client.list_tools()}
    for name, parameters in (
        ("aggregate_results", {"result_handle", "by", "top", "interval"}),
        ("filter_result", {"result_handle", "text", "regex", "field", "value"}),
    ):
        tool = tools[name]
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert set(tool.input_schema["properties"]) == parameters
        assert not tool.input_schema.get("required")
        assert tool.description
    top = tools["aggregate_results"].input_schema["properties"]["top"]
    assert top["type"] == "integer"
    assert top["minimum"] == 1


async def test_tool_counts_the_whole_result_not_a_page(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives, max_cached_results=ALL))
    async with Client(server, mode="legacy") as client:
        await call(client, "get_instructions")
        page = await call(client, "search_by_kql", kql_query="*PacketResponder*")
        handle = page["result_handle"]
        answer = await call(
            client, "aggregate_results", result_handle=handle, by="time", interval="1h"
        )
        lines = [line for line in loghub_lines("HDFS") if "PacketResponder" in line]
        assert sum(b["count"] for b in answer["buckets"]) == len(lines) > len(page["items"])
        assert answer["result_handle"] == handle
        # Without a handle: the caller's latest result.
        latest = await call(client, "aggregate_results", by="message", top=3)
        assert latest["num_items"] == len(lines)
        assert latest["values"][0]["count"] == 1


async def test_tool_bad_inputs_are_errors_naming_the_parameter(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives))
    async with Client(server, mode="legacy") as client:
        refused = await call(client, "aggregate_results", by="time", interval="1h")
        assert "get_instructions" in refused["Error"]
        await call(client, "get_instructions")
        page = await call(client, "search_by_kql", kql_query="*PacketResponder*")
        handle = page["result_handle"]
        cases: list[tuple[dict[str, Any], str]] = [
            ({"by": "time"}, "interval"),
            ({"by": "time", "interval": "an hour"}, "interval"),
            ({"by": "time", "interval": 5}, "interval"),
            ({"by": "message", "top": 0}, "top"),
            ({"by": "message", "top": "ten"}, "top"),
            ({"by": "message", "top": 10_000}, "top"),
            ({"by": "level"}, "by"),
            ({"by": ["message"]}, "by"),
        ]
        for args, parameter in cases:
            answer = await call(client, "aggregate_results", result_handle=handle, **args)
            assert answer.keys() == {"Error"}, args
            assert answer["Error"].startswith(f"Invalid {parameter}: "), (args, answer)
        forged = await call(
            client, "aggregate_results", result_handle=new_handle(), by="time", interval="1h"
        )
        assert forged == {"Error": str(UnknownHandleError())}
