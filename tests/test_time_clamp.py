"""Time bounds beyond what clp-s represents (signed 64-bit ns) mean "unbounded", at the edges.

clp-s overflows one millisecond past 2262-04-11T23:47:16.854Z (and before
1677-09-21T00:12:43.146Z) and then silently matches nothing; the bounds are clamped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.clp_s import MAX_CLP_MS, MIN_CLP_MS
from logpager.server import INSTRUCTIONS, create_server
from logpager.settings import Settings
from logpager.timeutil import parse_iso8601_ms

QUERY = "message: *error*"  # 947 hits in the samples, all timestamped 2015-2020
LAST_END = "2262-04-11T23:47:16.854Z"
PAST_END = "2262-04-11T23:47:16.855Z"
FIRST_BEGIN = "1677-09-21T00:12:43.146Z"
PAST_BEGIN = "1677-09-21T00:12:43.145Z"
WIDE_BEGIN = "2000-01-01T00:00:00Z"
WIDE_END = "2100-01-01T00:00:00Z"


def test_edges_are_the_last_representable_milliseconds() -> None:
    assert parse_iso8601_ms(LAST_END) == MAX_CLP_MS == 9_223_372_036_854
    assert parse_iso8601_ms(FIRST_BEGIN) == MIN_CLP_MS == -9_223_372_036_854
    assert parse_iso8601_ms(PAST_END) == MAX_CLP_MS + 1
    assert parse_iso8601_ms(PAST_BEGIN) == MIN_CLP_MS - 1


def test_bounds_reach_clp_s_clamped(loghub_archives: Path) -> None:
    backend = ClpSBackend(Settings(data_dir=loghub_archives))
    root = backend.archives_dir
    for begin, end, want in [
        (MIN_CLP_MS - 1, MAX_CLP_MS + 1, [str(MIN_CLP_MS), str(MAX_CLP_MS)]),
        (MIN_CLP_MS, MAX_CLP_MS, [str(MIN_CLP_MS), str(MAX_CLP_MS)]),
        (-(2**70), 2**70, [str(MIN_CLP_MS), str(MAX_CLP_MS)]),
        (0, 5, ["0", "5"]),
    ]:
        argv = backend._argv(root, QUERY, QuerySpec(QUERY, begin, end), [], "/dev/null")
        assert [argv[argv.index("--tge") + 1], argv[argv.index("--tle") + 1]] == want


async def _matches(client: Client[Any], begin: str, end: str) -> int:
    page = (
        await client.call_tool(
            "search_by_kql_with_timestamp_range",
            {"kql_query": QUERY, "begin_timestamp": begin, "end_timestamp": end},
        )
    ).data
    assert "Error" not in page, page
    total: int = page["num_total_matches"]
    return total


async def test_far_bounds_mean_unbounded_through_the_tool(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives))
    async with Client(server, mode="legacy") as client:
        assert (await client.call_tool("get_instructions", {})).data == INSTRUCTIONS
        expected = await _matches(client, WIDE_BEGIN, WIDE_END)
        assert expected == 947
        # The end bound at the last representable ms, one past it, and the ISO maximum.
        for end in (LAST_END, PAST_END, "9999-12-31T23:59:59.999Z"):
            assert await _matches(client, WIDE_BEGIN, end) == expected, end
        # The begin bound at the first representable ms, one before it, and the ISO minimum.
        for begin in (FIRST_BEGIN, PAST_BEGIN, "0001-01-01T00:00:00Z"):
            assert await _matches(client, begin, WIDE_END) == expected, begin
        # Both far at once.
        assert await _matches(client, PAST_BEGIN, PAST_END) == expected
        widest = ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z")
        assert await _matches(client, *widest) == expected


@pytest.mark.parametrize("begin", [PAST_END, "9999-01-01T00:00:00Z"])
async def test_a_far_future_begin_matches_nothing(loghub_archives: Path, begin: str) -> None:
    server = create_server(Settings(data_dir=loghub_archives))
    async with Client(server, mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        assert await _matches(client, begin, "9999-12-31T23:59:59.999Z") == 0
