"""Tool arguments that fail validation are answered in the reference's ``{"Error": ...}`` shape.

Every tool (the reference's four and the analysis tools), every kind of bad argument (a wrong
JSON type, a missing required one, an unknown one, a stringified object where a value is
wanted), on both protocol eras, in memory and over real HTTP; malformed JSON-RPC keeps its
protocol error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from harness.servers import http_server
from logpager.server import INSTRUCTIONS, create_server
from logpager.settings import Settings
from tests.support.rawhttp import RawAnswer, open_session, post_body
from tests.support.toolnames import TOOL_NAMES

MODES = ["auto", "legacy"]
ERROR_QUERY = "message: *error*"

# (tool, arguments, the start of the {"Error"} text). Arguments that need a live result use
# the placeholder HANDLE, replaced by a real handle before the call.
HANDLE = "<handle>"
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("get_instructions", {"verbose": True}, "Unknown argument verbose: the tool takes no"),
    ("search_by_kql", {"kql_query": 123}, "Invalid kql_query: "),
    ("search_by_kql", {"kql_query": None}, "Invalid kql_query: "),
    ("search_by_kql", {}, "Missing kql_query: "),
    ("search_by_kql", {"kql_query": "x", "limit": 5}, "Unknown argument limit: "),
    ("search_by_kql", {"kql_query": "x", "result_handle": 5}, "Invalid result_handle: "),
    (
        "search_by_kql_with_timestamp_range",
        {"kql_query": "x", "begin_timestamp": 5, "end_timestamp": "2020-01-01T00:00:00Z"},
        "Invalid begin_timestamp: ",
    ),
    (
        "search_by_kql_with_timestamp_range",
        {"kql_query": "x", "begin_timestamp": "2020-01-01T00:00:00Z"},
        "Missing end_timestamp: ",
    ),
    ("get_nth_page", {}, "Missing page_index: "),
    ("get_nth_page", {"page_index": 0, "result_handle": 5}, "Invalid result_handle: "),
    ("get_nth_page", {"page_index": 0, "page": 1}, "Unknown argument page: "),
    ("aggregate_results", {"result_handle": 5}, "Invalid result_handle: "),
    ("aggregate_results", {"group_by": "level"}, "Unknown argument group_by: "),
    ("filter_result", {"result_handle": ["a"]}, "Invalid result_handle: "),
    ("filter_result", {"text": "x", "pattern": "y"}, "Unknown argument pattern: "),
    ("summarize_patterns", {"result_handle": {"h": 1}}, "Invalid result_handle: "),
    ("summarize_patterns", {"limit": 3}, "Unknown argument limit: "),
    ("compare_patterns", {"result_handle_a": "a"}, "Missing result_handle_b: "),
    (
        "compare_patterns",
        {"result_handle_a": 1, "result_handle_b": "b"},
        "Invalid result_handle_a: ",
    ),
    ("list_fields", {"archive": "x"}, "Unknown argument archive: the tool takes no"),
    ("get_log_context", {}, "Missing link: "),
    ("get_log_context", {"link": "clp://a/1", "around": 3}, "Unknown argument around: "),
    ("list_results", {"result_handle": 7}, "Invalid result_handle: "),
    # A client that stringifies a value (an object, cut short so it is not even JSON): the
    # value reaches the tool as the string it is, and the tool's own check names it.
    ("get_nth_page", {"page_index": '{"page_index": 1', "result_handle": HANDLE}, "Invalid page"),
    (
        "aggregate_results",
        {"result_handle": HANDLE, "by": "level", "top": '{"top": 5'},
        "Invalid top: ",
    ),
    ("summarize_patterns", {"result_handle": HANDLE, "top": "{"}, "Invalid top: "),
    (
        "compare_patterns",
        {"result_handle_a": '{"a":', "result_handle_b": HANDLE},
        "Invalid result_handle_a: ",
    ),
    ("get_log_context", {"link": '{"link": "clp://', "before": "[1"}, "Invalid "),
]


def _ids() -> list[str]:
    return [f"{tool}-{'-'.join(args) or 'none'}" for tool, args, _ in BAD_CALLS]


@pytest.fixture
def server(loghub_archives: Path) -> Any:
    return create_server(Settings(data_dir=loghub_archives))


@pytest.fixture(params=MODES)
async def client(server: Any, request: pytest.FixtureRequest) -> AsyncIterator[Client[Any]]:
    async with Client(server, mode=str(request.param)) as c:
        yield c


async def _start(client: Client[Any]) -> str:
    """:return: A live result's handle, after get_instructions."""
    assert (await client.call_tool("get_instructions", {})).data == INSTRUCTIONS
    first = await client.call_tool("search_by_kql", {"kql_query": ERROR_QUERY})
    return str(first.data["result_handle"])


async def _check_bad_call(
    client: Client[Any], handle: str, tool: str, args: dict[str, Any], expected: str
) -> None:
    sent = {name: handle if value == HANDLE else value for name, value in args.items()}
    result = await client.call_tool(tool, sent, raise_on_error=False)
    assert not result.is_error, (tool, sent)
    text = result.content[0].text  # type: ignore[union-attr]
    assert "pydantic" not in text
    assert "Traceback" not in text
    answer = json.loads(text)
    assert list(answer) == ["Error"], (tool, sent, answer)
    assert answer["Error"].startswith(expected), (tool, sent, answer)
    if tool == "get_instructions":  # a text tool: its answer is the text
        assert result.data == text
    else:
        assert result.data == answer == result.structured_content


def test_every_tool_is_covered() -> None:
    tools = {tool for tool, _, _ in BAD_CALLS}
    assert tools == TOOL_NAMES


@pytest.mark.parametrize(("tool", "args", "expected"), BAD_CALLS, ids=_ids())
async def test_bad_arguments_get_the_reference_error(
    client: Client[Any], tool: str, args: dict[str, Any], expected: str
) -> None:
    handle = await _start(client)
    await _check_bad_call(client, handle, tool, args, expected)
    # The session is unharmed: the result still pages.
    page = await client.call_tool("get_nth_page", {"page_index": 1, "result_handle": handle})
    assert page.data["page_index"] == 1


async def test_the_error_says_what_to_pass(client: Client[Any]) -> None:
    result = await client.call_tool("search_by_kql", {"kql_query": 123})
    assert result.data == {
        "Error": "Invalid kql_query: Input should be a valid string; pass a string."
    }
    result = await client.call_tool("get_nth_page", {})
    assert result.data == {"Error": "Missing page_index: it is required; pass an integer."}
    result = await client.call_tool("search_by_kql", {"kql_query": "x", "limit": 5})
    assert result.data == {
        "Error": "Unknown argument limit: the tool takes kql_query, result_handle."
    }
    result = await client.call_tool("search_by_kql", {"kql_query": "x", "result_handle": 5})
    assert result.data == {
        "Error": "Invalid result_handle: Input should be a valid string; pass a string or null."
    }


async def test_several_bad_arguments_are_all_named(client: Client[Any]) -> None:
    result = await client.call_tool("compare_patterns", {"result_handle_a": 1, "top": 2, "x": 3})
    message = result.data["Error"]
    for part in ("Invalid result_handle_a: ", "Missing result_handle_b: ", "Unknown argument x: "):
        assert part in message


# --- over real HTTP -------------------------------------------------------------------------


def _jsonrpc(answer: RawAnswer) -> dict[str, Any]:
    """:return: The JSON-RPC message in a plain JSON or an event-stream answer."""
    body = answer.body.decode()
    if body.lstrip().startswith("{"):
        return dict(json.loads(body))
    data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    return dict(json.loads(data[-1]))


def _raw(url: str, message: dict[str, Any] | bytes, headers: dict[str, str]) -> dict[str, Any]:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return _jsonrpc(post_body(url, body, headers))


def _check_raw(url: str) -> None:
    """Raw JSON-RPC on a handshake-era session: bad arguments get {"Error"}; a malformed
    request keeps its protocol error."""
    session = open_session(url)
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "get_nth_page", "arguments": {"page_index": 0, "extra": 1}},
    }
    result = _raw(url, call, session)["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["Error"].startswith("Unknown argument extra: ")
    assert _raw(url, b"{bad json", session)["error"]["code"] == -32700
    wrong_version = {"jsonrpc": "1.0", "id": 3, "method": "ping"}
    assert "error" in _raw(url, wrong_version, session)
    unknown = {"jsonrpc": "2.0", "id": 4, "method": "tools/frobnicate", "params": {}}
    assert _raw(url, unknown, session)["error"]["code"] == -32601
    # Arguments that are not an object at all (a stringified object) are the request's
    # params, not a tool argument: the protocol's invalid-params error.
    stringified = {**call, "params": {"name": "get_nth_page", "arguments": '{"page_index": 0'}}
    assert _raw(url, stringified, session)["error"]["code"] == -32602
    # Without a session, a malformed body is still the protocol's parse error.
    assert _jsonrpc(post_body(url, b"{bad json"))["error"]["code"] == -32700


async def test_over_http_both_eras_and_raw(loghub_archives: Path) -> None:
    async with http_server(loghub_archives) as url:
        for mode in MODES:
            async with Client(url, mode=mode) as c:
                handle = await _start(c)
                for tool, args, expected in BAD_CALLS:
                    await _check_bad_call(c, handle, tool, args, expected)
        await asyncio.to_thread(_check_raw, url)
