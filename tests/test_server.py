"""The MCP server over the real protocol (in memory) and real clp-s archives of the samples.

Every behaviour is checked on both protocol eras: FastMCP 4's default client (stateless,
MCP 2026-07-28) and ``mode="legacy"`` (the initialize handshake).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from harness.ports import free_port, wait_for_port
from logpager.errors import INSTRUCTIONS_REQUIRED_TEXT, NoResultError, UnknownHandleError
from logpager.query import QuerySpec
from logpager.search import ClpSBackend, parse_link
from logpager.server import INSTRUCTIONS, create_server
from logpager.sessions import SessionManager, new_handle
from logpager.settings import Settings
from tests.support.rawhttp import post_jsonrpc
from tests.support.toolnames import TOOL_NAMES

MODES = ["auto", "legacy"]
UNKNOWN_HANDLE = str(UnknownHandleError())
NO_RESULT = str(NoResultError())
ERROR_QUERY = "message: *error*"  # 947 hits in the samples: 95 pages of 10


@pytest.fixture
def data_dir(loghub_archives: Path) -> Path:
    return loghub_archives


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@pytest.fixture
def manager(settings: Settings) -> SessionManager:
    return SessionManager(settings=settings)


@pytest.fixture
def server(settings: Settings, manager: SessionManager) -> Any:
    return create_server(settings, manager=manager)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(server: Any, mode: str) -> AsyncIterator[Client[Any]]:
    async with Client(server, mode=mode) as c:
        yield c


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    result = await client.call_tool(tool, args)
    return result.data


async def ready(client: Client[Any]) -> None:
    text = await call(client, "get_instructions")
    assert text == INSTRUCTIONS


def links(page: dict[str, Any]) -> list[tuple[str, int]]:
    return [parse_link(item.rsplit(", link: ", 1)[1]) for item in page["items"]]


def backend_links(settings: Settings, query: str, **kw: Any) -> list[tuple[str, int]]:
    outcome = ClpSBackend(settings).search(QuerySpec(query, **kw))
    return [
        (row["archive_id"], row["log_event_index"])
        for batch in outcome.batches
        for row in batch.to_pylist()
    ]


async def all_pages(client: Client[Any], first: dict[str, Any]) -> list[tuple[str, int]]:
    handle = first["result_handle"]
    seen = links(first)
    for index in range(1, first["num_total_pages"]):
        page = await call(client, "get_nth_page", page_index=index, result_handle=handle)
        assert page["page_index"] == index
        assert page["has_previous"] is True
        assert page["has_next"] is (index < first["num_total_pages"] - 1)
        assert page["result_handle"] == handle
        seen.extend(links(page))
    return seen


# --- instructions first ----------------------------------------------------------------------


async def test_handshake_era_paging_without_handle_needs_instructions_first(
    server: Any,
) -> None:
    # The reference's order: before get_instructions(), get_nth_page answers with its text,
    # not "Session not found".
    async with Client(server, mode="legacy") as c:
        assert await call(c, "get_nth_page", page_index=0) == {"Error": INSTRUCTIONS_REQUIRED_TEXT}
        assert await call(c, "search_by_kql", kql_query=ERROR_QUERY) == {
            "Error": INSTRUCTIONS_REQUIRED_TEXT
        }
        await ready(c)
        page = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert page["num_total_items"] == 947


async def test_handshake_era_connection_is_held_to_instructions_from_its_second_call(
    server: Any,
) -> None:
    # A connection's first call may be a per-call client's only one (hosted connectors, MCP
    # Inspector's CLI): it is served. A connection that goes on without get_instructions()
    # is refused from its second call on.
    async with Client(server, mode="legacy") as c:
        first = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert first["num_total_items"] == 947
        assert await call(c, "search_by_kql", kql_query=ERROR_QUERY) == {
            "Error": INSTRUCTIONS_REQUIRED_TEXT
        }
        assert await call(
            c, "get_nth_page", page_index=1, result_handle=first["result_handle"]
        ) == {"Error": INSTRUCTIONS_REQUIRED_TEXT}
        await ready(c)
        page = await call(c, "get_nth_page", page_index=1, result_handle=first["result_handle"])
        assert page["page_index"] == 1


async def test_stateless_rule_is_met_by_discover_instructions(server: Any) -> None:
    # Nothing can remember a get_instructions() call across stateless requests; the client got
    # the same text with server/discover, so a stateless search is served at once.
    async with Client(server) as c:
        assert c.instructions == INSTRUCTIONS
        page = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert page["num_total_items"] == 947


async def test_instructions_are_not_required_when_turned_off(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, require_instructions=False)
    async with Client(create_server(settings), mode="legacy") as c:
        page = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert page["num_total_pages"] == 95


# --- search and page ---------------------------------------------------------------------------


async def test_every_page_matches_the_backend(client: Client[Any], settings: Settings) -> None:
    await ready(client)
    first = await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    assert first["num_total_pages"] == 95
    assert first["has_previous"] is False
    assert len(first["items"]) == 10
    assert await all_pages(client, first) == backend_links(settings, ERROR_QUERY)


async def test_time_range_pages_match_the_backend(client: Client[Any], settings: Settings) -> None:
    await ready(client)
    begin, end = "2015-07-29T17:00:00Z", "2015-07-30T23:59:59.999Z"
    first = await call(
        client,
        "search_by_kql_with_timestamp_range",
        kql_query="*",
        begin_timestamp=begin,
        end_timestamp=end,
    )
    expected = backend_links(settings, "*", begin_ms=1_438_189_200_000, end_ms=1_438_300_799_999)
    assert 0 < first["num_total_items"] == len(expected)
    assert await all_pages(client, first) == expected


async def test_capped_result_keeps_the_latest(client: Client[Any], settings: Settings) -> None:
    await ready(client)
    first = await call(client, "search_by_kql", kql_query="*")
    assert first["truncated"] is True
    assert first["num_total_items"] == settings.max_cached_results
    assert first["num_total_matches"] > settings.max_cached_results
    assert await all_pages(client, first) == backend_links(settings, "*")


async def test_manager_settings_rule_the_cache(settings: Settings) -> None:
    manager = SessionManager(page_size=7, max_cached_results=50, settings=settings)
    async with Client(create_server(settings, manager=manager)) as c:
        first = await call(c, "search_by_kql", kql_query="*")
        assert (first["num_total_items"], first["num_total_pages"]) == (50, 8)
        assert first["num_items_per_page"] == 7
        assert await all_pages(c, first) == backend_links(settings, "*", max_results=50)


async def test_legacy_pages_the_latest_result_without_a_handle(server: Any) -> None:
    async with Client(server, mode="legacy") as c:
        await ready(c)
        first = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        page = await call(c, "get_nth_page", page_index=0)
        assert page == first


async def test_stateless_paging_needs_the_handle(server: Any) -> None:
    async with Client(server) as c:
        await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        refused = await call(c, "get_nth_page", page_index=0)
        assert refused == {"Error": NO_RESULT}
        assert "result_handle=" in refused["Error"]


async def test_search_with_handle_stays_in_the_session(client: Client[Any]) -> None:
    await ready(client)
    first = await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    second = await call(
        client, "search_by_kql", kql_query="*PacketResponder*", result_handle=first["result_handle"]
    )
    assert second["result_handle"] != first["result_handle"]
    # Both results stay pageable by their handles.
    again = await call(client, "get_nth_page", page_index=0, result_handle=first["result_handle"])
    assert again == first


# --- invalid page indexes ----------------------------------------------------------------------


INVALID_INDEX_95 = {"Error": "Invalid page index. Valid range: 0-94"}
MALFORMED_INDEXES = [True, False, "3", "0", 3.0, 0.0, -1, 2**70, -(2**70), None, [1], {"n": 1}]


async def test_page_index_schema_says_non_negative_integer(client: Client[Any]) -> None:
    # What agents read: an integer from 0, required, with no null or string alternative.
    tools = {t.name: t for t in await client.list_tools()}
    schema = tools["get_nth_page"].input_schema
    page_index = schema["properties"]["page_index"]
    assert page_index["type"] == "integer"
    assert page_index["minimum"] == 0
    assert set(page_index) <= {"type", "minimum", "description"}
    # The docstring's description survives the explicit schema.
    assert "num_total_pages" in page_index["description"]
    assert "page_index" in schema["required"]


@pytest.mark.parametrize("bad", MALFORMED_INDEXES, ids=repr)
async def test_malformed_page_index_gets_the_reference_error_page(
    client: Client[Any], mode: str, bad: Any
) -> None:
    # Regression: FastMCP's strict validation used to refuse these with a protocol error
    # (isError) before the tool ran, so the agent never saw the valid range.
    await ready(client)
    first = await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    handle = first["result_handle"]
    result = await client.call_tool(
        "get_nth_page", {"page_index": bad, "result_handle": handle}, raise_on_error=False
    )
    assert not result.is_error
    assert result.data == INVALID_INDEX_95
    if mode == "legacy":  # the connection's latest result, without a handle
        assert await call(client, "get_nth_page", page_index=bad) == INVALID_INDEX_95
    # The result is untouched and still pages.
    assert await call(client, "get_nth_page", page_index=0, result_handle=handle) == first


async def test_missing_page_index_is_an_error_naming_it(client: Client[Any]) -> None:
    # The schema requires it; leaving it out is answered in the reference's {"Error"} shape
    # (logpager.server.arguments), naming the parameter.
    await ready(client)
    result = await client.call_tool("get_nth_page", {}, raise_on_error=False)
    assert not result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "page_index" in text
    assert "Traceback" not in text
    assert result.data == {"Error": "Missing page_index: it is required; pass an integer."}


@pytest.mark.parametrize("index", [95, 96, 10_000])
async def test_out_of_range_page_index(client: Client[Any], index: int) -> None:
    await ready(client)
    first = await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    page = await call(
        client, "get_nth_page", page_index=index, result_handle=first["result_handle"]
    )
    assert page == INVALID_INDEX_95


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("other_mode", MODES)
async def test_two_clients_never_see_each_others_items(
    server: Any, mode: str, other_mode: str
) -> None:
    async with Client(server, mode=mode) as a, Client(server, mode=other_mode) as b:
        await ready(a)
        await ready(b)
        page_a = await call(a, "search_by_kql", kql_query="*PacketResponder*")
        page_b = await call(b, "search_by_kql", kql_query="message: *sshd*")
        assert not set(page_a["items"]) & set(page_b["items"])
        # Without auth a handle is a bearer capability (192 random bits) on any connection,
        # and only it reaches another's result: B's default paging never shows A's items.
        if other_mode == "legacy":
            default_b = await call(b, "get_nth_page", page_index=1)
            assert all("PacketResponder" not in item for item in default_b["items"])
        # Each pages its own result.
        own_b = await call(b, "get_nth_page", page_index=1, result_handle=page_b["result_handle"])
        assert all("PacketResponder" not in item for item in own_b["items"])
        own_a = await call(a, "get_nth_page", page_index=1, result_handle=page_a["result_handle"])
        assert all("PacketResponder" in item for item in own_a["items"])


async def test_legacy_default_paging_is_per_connection(server: Any) -> None:
    async with Client(server, mode="legacy") as a, Client(server, mode="legacy") as b:
        await ready(a)
        await ready(b)
        page_a = await call(a, "search_by_kql", kql_query="*PacketResponder*")
        assert await call(b, "get_nth_page", page_index=0) == {"Error": NO_RESULT}
        assert await call(a, "get_nth_page", page_index=0) == page_a


async def test_forged_handle_is_refused(client: Client[Any]) -> None:
    await ready(client)
    await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    forged = new_handle()
    assert await call(client, "get_nth_page", page_index=0, result_handle=forged) == {
        "Error": UNKNOWN_HANDLE
    }
    assert await call(client, "search_by_kql", kql_query="*", result_handle=forged) == {
        "Error": UNKNOWN_HANDLE
    }


async def test_stateless_handle_is_a_bearer_capability(server: Any) -> None:
    async with Client(server) as a, Client(server) as b:
        page_a = await call(a, "search_by_kql", kql_query="*PacketResponder*")
        handle = page_a["result_handle"]
        assert await call(b, "get_nth_page", page_index=0, result_handle=handle) == page_a


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("search_by_kql", {"kql_query": "message: ("}),
        ("search_by_kql", {"kql_query": 'message: "unterminated'}),
        ("search_by_kql", {"kql_query": ""}),
        ("search_by_kql", {"kql_query": "x" * 20_000}),
        (
            "search_by_kql_with_timestamp_range",
            {"kql_query": "*", "begin_timestamp": "yesterday", "end_timestamp": "now"},
        ),
        (
            "search_by_kql_with_timestamp_range",
            {
                "kql_query": "*",
                "begin_timestamp": "2015-07-30T00:00:00Z",
                "end_timestamp": "2015-07-29T00:00:00Z",
            },
        ),
    ],
)
async def test_failed_search_keeps_the_previous_result(
    client: Client[Any], mode: str, tool: str, args: dict[str, Any]
) -> None:
    await ready(client)
    first = await call(client, "search_by_kql", kql_query=ERROR_QUERY)
    handle = first["result_handle"]
    second = await call(client, "get_nth_page", page_index=1, result_handle=handle)
    failed = await call(client, tool, **args, result_handle=handle)
    assert set(failed) == {"Error"}
    assert "Traceback" not in failed["Error"]
    assert await call(client, "get_nth_page", page_index=1, result_handle=handle) == second
    if mode == "legacy":
        assert await call(client, "get_nth_page", page_index=1) == second


async def test_failed_stateless_search_leaves_no_session(
    server: Any, manager: SessionManager
) -> None:
    async with Client(server) as c:
        for _ in range(3):
            failed = await call(c, "search_by_kql", kql_query="message: (")
            assert "Parser error" in failed["Error"]
        assert manager.sessions == {}
        await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert len(manager.sessions) == 1
        manager.check()


async def test_unexpected_backend_failure_is_an_error_without_trace(settings: Settings) -> None:
    class Broken(ClpSBackend):
        async def search_async(self, spec: QuerySpec, **kw: Any) -> Any:
            raise RuntimeError("secret internals")

    async with Client(create_server(settings, backend=Broken(settings))) as c:
        page = await call(c, "search_by_kql", kql_query="*")
        assert page == {"Error": "Internal error while searching (RuntimeError)."}


async def test_tools_are_read_only(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    # The reference's four tools and the analysis tools (tested in their own modules), each
    # read-only.
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
    page_index = tools["get_nth_page"].input_schema["properties"]["page_index"]
    assert page_index["type"] == "integer"
    assert page_index["minimum"] == 0


# --- a real subprocess over stdio ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_subprocess(data_dir: Path, settings: Settings, mode: str) -> None:
    code = (
        "from logpager.server import run_server; "
        "from logpager.settings import load_settings; "
        "run_server(load_settings())"
    )
    env = {**os.environ, "LOGPAGER_DATA_DIR": str(data_dir), "LOGPAGER_TRANSPORT": "stdio"}
    transport = StdioTransport(command=sys.executable, args=["-c", code], env=env)
    async with Client(transport, mode=mode) as c:
        await ready(c)
        first = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert await all_pages(c, first) == backend_links(settings, ERROR_QUERY)


# --- a real subprocess over streamable HTTP --------------------------------------------------


@pytest.fixture
async def http_url(data_dir: Path) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LOGPAGER_DATA_DIR": str(data_dir),
        "LOGPAGER_TRANSPORT": "http",
        "LOGPAGER_PORT": str(port),
    }
    code = (
        "from logpager.server import run_server; "
        "from logpager.settings import load_settings; "
        "run_server(load_settings())"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for_port(port, lambda: proc.returncode is None, 10)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        await proc.wait()


async def test_http_refuses_foreign_host_and_origin(http_url: str) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host/Origin.
    assert (await asyncio.to_thread(post_jsonrpc, http_url, {"Host": "evil.example"})).status == 421
    assert (
        await asyncio.to_thread(post_jsonrpc, http_url, {"Origin": "http://evil.example"})
    ).status == 403
    # The same request from the loopback origin gets past the guard.
    local = (await asyncio.to_thread(post_jsonrpc, http_url, {"Origin": "http://127.0.0.1"})).status
    assert local not in (403, 421)


@pytest.mark.parametrize("mode", MODES)
async def test_http_pages_every_page(http_url: str, settings: Settings, mode: str) -> None:
    async with Client(http_url, mode=mode) as c:
        await ready(c)
        first = await call(c, "search_by_kql", kql_query=ERROR_QUERY)
        assert await all_pages(c, first) == backend_links(settings, ERROR_QUERY)
        if mode == "legacy":  # Mcp-Session-Id keys the session: no handle needed
            assert await call(c, "get_nth_page", page_index=0) == first
        # Values decoded from JSON on the wire reach the tool's own check too.
        for bad in (3.0, "3", True, -1):
            page = await call(
                c, "get_nth_page", page_index=bad, result_handle=first["result_handle"]
            )
            assert page == INVALID_INDEX_95
