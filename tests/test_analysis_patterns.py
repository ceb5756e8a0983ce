"""Log templates: masking, summarize_patterns and compare_patterns, over the real engine's
results on the loghub samples, with figures computed independently from the source lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastmcp import Client

from logpager.analysis.patterns import compare_patterns, count_patterns, summarize_patterns
from logpager.analysis.templates import mask_texts
from logpager.cache import QueryResult
from logpager.errors import UnknownHandleError
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.server import access, create_server
from logpager.settings import Settings
from tests.support.loghub import LOGHUB

# HDFS: "081109 204005 35 INFO dfs.DataNode$DataXceiver: Receiving block blk_-16... src:
# /10.251.71.16:41245 dest: /10.251.71.16:50010", block ids of both signs.
RECEIVING = re.compile(
    r"^\d{6} \d{6} \d+ INFO dfs\.DataNode\$DataXceiver: Receiving block blk_(-?)\d+ "
    r"src: /[\d.]+:\d+ dest: /[\d.]+:\d+$"
)
RECEIVING_TEMPLATE = (
    "<NUM> <NUM> <NUM> INFO dfs.DataNode$DataXceiver: Receiving block blk_<NUM> "
    "src: /<IP>:<NUM> dest: /<IP>:<NUM>"
)


def masked(*lines: str) -> list[str]:
    return list(mask_texts(pa.array(lines), pa.array([True] * len(lines)), 1000).to_pylist())


def source_lines(name: str) -> list[str]:
    return (LOGHUB / name).read_text(encoding="utf-8", errors="replace").splitlines()


@pytest.fixture(scope="module")
def settings(loghub_archives: Path) -> Settings:
    return Settings(data_dir=loghub_archives, max_cached_results=100_000)


def search(settings: Settings, query: str) -> QueryResult:
    result, _ = search_and_cache(ClpSBackend(settings), QuerySpec(query), settings=settings)
    return result


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        # HDFS block ids, either sign, and IPs with ports.
        [
            "PacketResponder 1 for block blk_38865049064139660 terminating",
            "PacketResponder 0 for block blk_-6952295868487656571 terminating",
        ],
        # PIDs, syslog timestamps (one padded), IPv4.
        [
            "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
            "Jan  2 16:01:02 LabSZ sshd[7]: Invalid user webmaster from 10.0.0.1",
        ],
        # IPv6 (full, compressed, mapped), UUIDs, hex ids, e-mail addresses.
        [
            "peer 2001:db8::8a2e:370:7334 job 123e4567-e89b-12d3-a456-426614174000 id 0x1f "
            "trace 5f0c1a2b mail bob@example.com",
            "peer ::ffff:10.1.2.3 job 00000000-0000-0000-0000-000000000000 id 0xABCDEF "
            "trace 12345678 mail a.b+c@mail.example.org",
        ],
        # Paths, quoted values, ISO and Apache timestamps, decimals.
        [
            '[Sun Dec 04 04:47:44 2005] open /etc/httpd/conf/workers2.properties "GET /" '
            "at 2020-01-02T03:04:05.123Z took 1.5 ms for 'alice'",
            '[Mon Jan 16 23:01:59 2006] open /var/x.log "POST /api/v1/cart" '
            "at 2015-07-29 17:41:44,747 took 12 ms for 'bob smith'",
        ],
    ],
)
def test_lines_that_differ_only_in_variables_share_a_template(lines: list[str]) -> None:
    assert len(set(masked(*lines))) == 1


def test_lines_with_different_constant_text_do_not() -> None:
    templates = masked(
        "PacketResponder 1 for block blk_388 terminating",
        "PacketResponder 1 for block blk_388 starting",
        "Invalid user admin from 10.0.0.1",
        "Invalid user oracle from 10.0.0.1",
        "can't open 'x'",
        "won't open 'x'",
    )
    assert len(set(templates)) == 6
    assert templates[0] == "PacketResponder <NUM> for block blk_<NUM> terminating"


# --- summarize_patterns over the real engine -----------------------------------------------


def test_counts_sum_to_the_result_and_match_the_source_lines(settings: Settings) -> None:
    result = search(settings, "*")
    assert result.num_items == 10_000
    summary = summarize_patterns(result, 5, settings)
    counts = [t["count"] for t in summary["templates"]]
    assert len(counts) == 5
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) + summary["other_count"] == summary["num_events"] == result.num_items
    full = count_patterns(result, settings)
    assert sum(t.count for t in full.templates.values()) == result.num_items
    assert summary["num_templates"] == len(full.templates)

    # The HDFS "Receiving block" lines, counted from the source file, are one template: the
    # line masked (not its JSON wrapper), block ids of both signs together.
    matches = [RECEIVING.match(line) for line in source_lines("HDFS_2k.log")]
    signs = {m.group(1) for m in matches if m}
    assert signs == {"", "-"}
    assert full.templates[RECEIVING_TEMPLATE].count == sum(1 for m in matches if m)


def test_timestamps_and_example_are_the_templates_own(settings: Settings) -> None:
    result = search(settings, "*")
    summary = summarize_patterns(result, 500, settings)
    entry = next(t for t in summary["templates"] if t["template"] == RECEIVING_TEMPLATE)
    # Its events, found by matching each item's line independently, latest first.
    items = [
        item
        for item in result.iter_items()
        if RECEIVING.match(item.split(", message: ", 1)[1].rsplit(", link: ", 1)[0])
    ]
    assert entry["count"] == len(items)
    assert entry["example"] == items[0]
    assert entry["link"] == items[0].rsplit(", link: ", 1)[1]
    assert entry["link"].startswith("clp://")
    stamps = sorted(item[len("timestamp: ") :].split(",", 1)[0] for item in items)
    assert (entry["first_timestamp"], entry["last_timestamp"]) == (stamps[0], stamps[-1])


def test_json_events_are_masked_by_their_message_field() -> None:
    settings = Settings()
    result = QueryResult.from_items(
        [
            {"timestamp": 3, "message": '{"level":"INFO","message":"user 5 in","trace":"ab12"}'},
            {"timestamp": 2, "message": '{"level":"WARN","msg":"user 77 in","host":"h-1"}'},
            {"timestamp": 1, "message": '{"level":"INFO","status":503}'},
            {"timestamp": 0, "message": '{"level":"INFO","status":200}'},
        ],
        settings=settings,
    )
    summary = summarize_patterns(result, 10, settings)
    found = {t["template"]: t["count"] for t in summary["templates"]}
    assert found == {"user <NUM> in": 2, '{"level":"INFO","status":<NUM>}': 2}
    first = summary["templates"][0]
    assert first["first_timestamp"] == "1970-01-01T00:00:00.002Z"
    assert first["last_timestamp"] == "1970-01-01T00:00:00.003Z"


def test_a_message_that_is_not_text_falls_back_to_the_event() -> None:
    settings = Settings()
    result = QueryResult.from_items(
        [
            {"timestamp": 1, "message": '{"message":5}'},
            {"timestamp": 0, "message": '{"message":"disk 3 full"}'},
            {"timestamp": 0, "message": "not JSON: 'a b' 7"},
        ],
        settings=settings,
    )
    found = {t.template for t in count_patterns(result, settings).templates.values()}
    assert found == {'{"message":<NUM>}', "disk <NUM> full", "not JSON: '<STR>' <NUM>"}


def test_verbatim_items_are_grouped_without_timestamps() -> None:
    settings = Settings()
    result = QueryResult.from_items(["job 1 done", "job 22 done", "job failed"], settings=settings)
    summary = summarize_patterns(result, 1, settings)
    assert summary["templates"][0]["template"] == "job <NUM> done"
    assert summary["templates"][0]["count"] == 2
    assert summary["templates"][0]["first_timestamp"] is None
    assert summary["other_count"] == 1


def test_templates_past_the_cap_count_as_other(settings: Settings) -> None:
    capped = settings.model_copy(update={"patterns_max_templates": 3})
    result = search(settings, "*")
    summary = summarize_patterns(result, 500, capped)
    assert summary["num_templates"] == 3
    assert summary["templates_capped"] is True
    assert sum(t["count"] for t in summary["templates"]) + summary["other_count"] == 10_000


def test_compare_finds_templates_only_in_one_result(settings: Settings) -> None:
    ssh = count_patterns(search(settings, "message: *sshd*"), settings)
    hdfs = count_patterns(search(settings, "message: *blk_*"), settings)
    comparison = compare_patterns(ssh, hdfs, 500)
    only_b = {e["template"]: e for e in comparison["only_in_b"]}
    assert only_b[RECEIVING_TEMPLATE]["count_a"] == 0
    assert only_b[RECEIVING_TEMPLATE]["count_b"] == hdfs.templates[RECEIVING_TEMPLATE].count
    assert comparison["num_only_in_a"] == len(ssh.templates)
    assert comparison["num_in_both"] == 0


# --- the MCP tools ---------------------------------------------------------------------------


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


async def test_tools_over_mcp(settings: Settings) -> None:
    async with Client(create_server(settings), mode="legacy") as c:
        await call(c, "get_instructions")
        everything = (await call(c, "search_by_kql", kql_query="*"))["result_handle"]
        ssh = (await call(c, "search_by_kql", kql_query="message: *sshd*"))["result_handle"]
        summary = await call(c, "summarize_patterns", result_handle=everything, top=3)
        assert summary["result_handle"] == everything
        assert len(summary["templates"]) == 3
        assert sum(t["count"] for t in summary["templates"]) + summary["other_count"] == 10_000
        latest = await call(c, "summarize_patterns")
        assert latest["result_handle"] == ssh
        comparison = await call(
            c, "compare_patterns", result_handle_a=everything, result_handle_b=ssh, top=500
        )
        # Every sshd event is among all events: nothing only in B, HDFS only in A.
        assert comparison["only_in_b"] == []
        only_a = {e["template"]: e for e in comparison["only_in_a"]}
        matches = sum(1 for line in source_lines("HDFS_2k.log") if RECEIVING.match(line))
        assert only_a[RECEIVING_TEMPLATE]["count_a"] == matches
        assert all(e["count_a"] >= e["count_b"] > 0 for e in comparison["changed"])


@pytest.mark.parametrize("top", [0, -1, 501, "5", 2.5, True, None])
async def test_bad_top_is_named(settings: Settings, top: object) -> None:
    async with Client(create_server(settings), mode="legacy") as c:
        await call(c, "get_instructions")
        handle = (await call(c, "search_by_kql", kql_query="message: *sshd*"))["result_handle"]
        for answer in (
            await call(c, "summarize_patterns", result_handle=handle, top=top),
            await call(
                c, "compare_patterns", result_handle_a=handle, result_handle_b=handle, top=top
            ),
        ):
            assert answer["Error"].startswith("Invalid top: ")
            assert "1 to 500" in answer["Error"]


async def test_unknown_and_foreign_handles_are_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = {"principal": "alice"}
    monkeypatch.setattr(access, "current_principal", lambda: who["principal"])
    unknown = {"Error": str(UnknownHandleError())}
    async with Client(create_server(settings), mode="legacy") as c:
        await call(c, "get_instructions")
        alices = (await call(c, "search_by_kql", kql_query="message: *sshd*"))["result_handle"]
        who["principal"] = "bob"
        await call(c, "get_instructions")
        bobs = (await call(c, "search_by_kql", kql_query="*"))["result_handle"]
        assert await call(c, "summarize_patterns", result_handle=alices) == unknown
        assert await call(c, "summarize_patterns", result_handle="no-such-handle") == unknown
        answer = await call(c, "compare_patterns", result_handle_a=bobs, result_handle_b=alices)
        assert answer["Error"] == f"Invalid result_handle_b: {unknown['Error']}"
        answer = await call(c, "compare_patterns", result_handle_a="x", result_handle_b=bobs)
        assert answer["Error"].startswith("Invalid result_handle_a: ")
        assert "result_handle_a" in (
            await call(c, "compare_patterns", result_handle_a="", result_handle_b=bobs)
        )["Error"]
        # Bob's own pair is served.
        assert "changed" in await call(
            c, "compare_patterns", result_handle_a=bobs, result_handle_b=bobs
        )
