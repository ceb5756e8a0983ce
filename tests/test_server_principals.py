"""With authentication, a principal owns its results across connections; nobody else sees them.

Real server over real HTTP with a tokens file; FastMCP clients of both eras, one connection
per call, as hosted connectors make them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from harness.servers import http_server
from logpager.errors import INSTRUCTIONS_REQUIRED_TEXT, NoResultError, UnknownHandleError
from tests.support.rawhttp import post_jsonrpc

MODES = ["legacy", "auto"]
QUERY = "message: *error*"
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef01"
UNKNOWN = {"Error": str(UnknownHandleError())}


async def call_once(url: str, token: str, mode: str, tool: str, **args: Any) -> Any:
    """One connection, one tool call, as the given principal."""
    async with Client(url, mode=mode, auth=token) as client:
        return (await client.call_tool(tool, args)).data


@pytest.fixture
async def url(loghub_archives: Path, tmp_path: Path) -> AsyncIterator[str]:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# principal token\nalice {ALICE}\n\nbob {BOB}\n")
    async with http_server(loghub_archives, "--auth-tokens-file", str(tokens)) as endpoint:
        yield endpoint


async def test_a_principal_pages_across_connections_and_nobody_else_can(url: str) -> None:
    for mode in MODES:
        assert await call_once(url, ALICE, mode, "search_by_kql", kql_query=QUERY) == {
            "Error": INSTRUCTIONS_REQUIRED_TEXT
        }
    await call_once(url, ALICE, "legacy", "get_instructions")
    await call_once(url, BOB, "auto", "get_instructions")
    first = await call_once(url, ALICE, "legacy", "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    for mode in MODES:
        # Alice, on a new connection, without the handle: her latest result.
        default = await call_once(url, ALICE, mode, "get_nth_page", page_index=1)
        assert default["result_handle"] == handle
        assert default["page_index"] == 1
        # Bob never reaches it: not by its handle, not by searching into its session, not by
        # default paging.
        assert (
            await call_once(url, BOB, mode, "get_nth_page", page_index=0, result_handle=handle)
            == UNKNOWN
        )
        assert (
            await call_once(url, BOB, mode, "search_by_kql", kql_query="*", result_handle=handle)
            == UNKNOWN
        )
        ranged = await call_once(
            url,
            BOB,
            mode,
            "search_by_kql_with_timestamp_range",
            kql_query="*",
            begin_timestamp="2020-01-01T00:00:00Z",
            end_timestamp="2021-01-01T00:00:00Z",
            result_handle=handle,
        )
        assert ranged == UNKNOWN
        assert await call_once(url, BOB, mode, "get_nth_page", page_index=0) == {
            "Error": str(NoResultError())
        }
    # Bob's own result is his latest, and Alice's stays hers.
    own = await call_once(url, BOB, "auto", "search_by_kql", kql_query="*sshd*")
    assert (await call_once(url, BOB, "legacy", "get_nth_page", page_index=0))[
        "result_handle"
    ] == own["result_handle"]
    assert (await call_once(url, ALICE, "auto", "get_nth_page", page_index=0))["items"] == first[
        "items"
    ]


async def test_no_token_or_a_wrong_one_is_refused_before_any_tool(url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token-of-anyone"}):
        answer = await asyncio.to_thread(post_jsonrpc, url, headers, "tools/list")
        assert answer.status == 401
        assert answer.headers["www-authenticate"].lower().startswith("bearer")
