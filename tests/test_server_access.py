"""Sessions that outlive a connection: clients that open a connection per call, both eras.

Hosted connectors (claude.ai, ChatGPT) and MCP Inspector's CLI run a fresh connection for
every tool call; a result must stay reachable through its handle, and the
instructions-first rule must not lock them out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client, FastMCP

from harness.servers import http_server
from logpager.errors import (
    INSTRUCTIONS_REQUIRED_TEXT,
    NoResultError,
    ResultReplacedError,
    UnknownHandleError,
)
from logpager.server import create_server
from logpager.sessions import new_handle
from logpager.settings import Settings

MODES = ["legacy", "auto"]
QUERY = "message: *error*"


async def call_once(target: Any, mode: str, tool: str, **args: Any) -> Any:
    """Opens a connection, makes one tool call, and closes it (a per-call client)."""
    async with Client(target, mode=mode) as client:
        return (await client.call_tool(tool, args)).data


@pytest.fixture
def server(loghub_archives: Path) -> FastMCP:
    return create_server(Settings(data_dir=loghub_archives))


@pytest.fixture
async def http_url(loghub_archives: Path) -> AsyncIterator[str]:
    async with http_server(loghub_archives) as url:
        yield url


@pytest.mark.parametrize("search_mode", MODES)
@pytest.mark.parametrize("page_mode", MODES)
async def test_per_call_client_pages_through_its_handle_in_memory(
    server: FastMCP, search_mode: str, page_mode: str
) -> None:
    first = await call_once(server, search_mode, "search_by_kql", kql_query=QUERY)
    assert first["num_total_pages"] > 2
    handle = first["result_handle"]
    second = await call_once(server, page_mode, "get_nth_page", page_index=1, result_handle=handle)
    assert second["page_index"] == 1
    assert second["result_handle"] == handle
    assert second["num_total_items"] == first["num_total_items"]
    assert not set(second["items"]) & set(first["items"])
    again = await call_once(server, page_mode, "get_nth_page", page_index=0, result_handle=handle)
    assert again["items"] == first["items"]


async def test_per_call_client_pages_through_its_handle_over_http(http_url: str) -> None:
    for search_mode in MODES:
        for page_mode in MODES:
            await _pages_through_its_handle(http_url, search_mode, page_mode)


async def _pages_through_its_handle(http_url: str, search_mode: str, page_mode: str) -> None:
    first = await call_once(http_url, search_mode, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    pages = [
        await call_once(http_url, page_mode, "get_nth_page", page_index=i, result_handle=handle)
        for i in range(3)
    ]
    assert pages[0]["items"] == first["items"]
    assert [p["page_index"] for p in pages] == [0, 1, 2]
    assert len({item for p in pages for item in p["items"]}) == sum(len(p["items"]) for p in pages)
    # A search on yet another connection joins the handle's session, and pages on its own.
    joined = await call_once(
        http_url, search_mode, "search_by_kql", kql_query="*sshd*", result_handle=handle
    )
    assert joined["result_handle"] != handle
    older = await call_once(http_url, page_mode, "get_nth_page", page_index=1, result_handle=handle)
    assert older["items"] == pages[1]["items"]


async def test_per_call_paging_without_a_handle_says_how_to_pass_one(http_url: str) -> None:
    await call_once(http_url, "legacy", "search_by_kql", kql_query=QUERY)
    # A new handshake-era connection: nothing is known of it, so the reference's first rule
    # answers...
    assert await call_once(http_url, "legacy", "get_nth_page", page_index=0) == {
        "Error": INSTRUCTIONS_REQUIRED_TEXT
    }
    # ...and once it has the instructions, the error names the parameter to pass.
    async with Client(http_url, mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        refused = (await client.call_tool("get_nth_page", {"page_index": 0})).data
    assert refused == {"Error": str(NoResultError())}
    assert "result_handle=" in refused["Error"]
    stateless = await call_once(http_url, "auto", "get_nth_page", page_index=0)
    assert stateless == {"Error": str(NoResultError())}


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_handle_says_why_it_may_be_unknown(server: FastMCP, mode: str) -> None:
    forged = new_handle()
    for tool, args in (
        ("get_nth_page", {"page_index": 0, "result_handle": forged}),
        ("search_by_kql", {"kql_query": QUERY, "result_handle": forged}),
    ):
        answer = await call_once(server, mode, tool, **args)
        assert answer == {"Error": str(UnknownHandleError())}
        for hint in ("expired", "restarted", "search_by_kql", "result_handle"):
            assert hint in answer["Error"]


async def test_replaced_result_names_the_per_session_limit(loghub_archives: Path) -> None:
    server = create_server(Settings(data_dir=loghub_archives, max_results_per_session=2))
    async with Client(server, mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        pages = [
            (await client.call_tool("search_by_kql", {"kql_query": q})).data
            for q in (QUERY, "*sshd*", "*PacketResponder*")
        ]
        oldest = pages[0]["result_handle"]
        answer = (
            await client.call_tool("get_nth_page", {"page_index": 0, "result_handle": oldest})
        ).data
    assert answer == {"Error": str(ResultReplacedError(2))}
    assert "max_results_per_session" in answer["Error"]
