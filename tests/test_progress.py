"""Progress of a running search, and its cancellation or disconnect, through a real server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastmcp import Client

from harness.servers import clean_env, http_server
from logpager.server import create_server
from logpager.settings import Settings
from tests.support.busy_data import (
    BROAD_QUERY,
    SLOW_READS,
    clp_s_children,
    make_busy_data_dir,
    slow_settings,
)

MODES = ["auto", "legacy"]


@pytest.fixture(scope="module")
def busy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_busy_data_dir(tmp_path_factory.mktemp("busy"))


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def wait_for_clp_s(pid: int | None, present: bool, within: float) -> float:
    """:return: Seconds until a clp-s descendant of ``pid`` is (or is no longer) there."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        if bool(clp_s_children(pid)) == present:
            return time.monotonic() - began
        await asyncio.sleep(0.02)
    found = clp_s_children(pid)
    states = [p.status() for p in found if p.is_running()]
    raise AssertionError(f"clp-s children present={bool(found)} after {within} s: {states}")


async def test_search_reports_progress_every_second(busy_data: Path, mode: str) -> None:
    server = create_server(slow_settings(busy_data))
    reports: list[tuple[float, float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((time.monotonic(), progress, message))

    async with Client(server, mode=mode, progress_handler=on_progress) as client:
        await client.call_tool("get_instructions", {})
        began = time.monotonic()
        got = await client.call_tool("search_by_kql", {"kql_query": BROAD_QUERY})
        ended = time.monotonic()
    assert got.structured_content is not None
    assert got.structured_content["num_total_matches"] == 300_000
    assert ended - began > 1.0, "the search must take over a second for this test to mean much"
    assert reports, "no progress was reported"
    times = [began, *(t for t, _, _ in reports), ended]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 1.0, gaps
    hits = [p for _, p, _ in reports]
    assert hits == sorted(hits)
    assert hits[-1] > 0
    assert reports[-1][2] == f"{int(hits[-1])} hits found so far"


async def test_no_progress_without_a_token(busy_data: Path) -> None:
    server = create_server(Settings(data_dir=busy_data))
    async with Client(server, mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        got = await client.call_tool("search_by_kql", {"kql_query": "level: ERROR"})
    assert got.structured_content is not None
    assert "Error" not in got.structured_content


async def _search_once_the_slot_is_free(client: Client[Any], cancelled_at: float) -> dict[str, Any]:
    """
    Searches again: the slot must be free within a second of the cancel (with no queue, a
    held slot answers "busy"). The cancelled search's task unwinds just after clp-s is
    reaped, so a first call may still meet it.
    """
    while True:
        got = await client.call_tool("search_by_kql", {"kql_query": "level: ERROR"})
        assert got.structured_content is not None
        if "busy" not in got.structured_content.get("Error", ""):
            return got.structured_content
        assert time.monotonic() - cancelled_at < 1.0, got.structured_content
        await asyncio.sleep(0.02)


async def test_cancelled_search_kills_clp_s_and_frees_its_slot(busy_data: Path, mode: str) -> None:
    settings = slow_settings(busy_data, max_concurrent_searches=1, max_queued_searches=0)
    server = create_server(settings)
    async with Client(server, mode=mode) as client:
        await client.call_tool("get_instructions", {})
        call = asyncio.create_task(client.call_tool("search_by_kql", {"kql_query": BROAD_QUERY}))
        await wait_for_clp_s(None, present=True, within=10)
        cancelled_at = time.monotonic()
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        # Killed and reaped (no zombie) within a second of the cancel.
        await wait_for_clp_s(None, present=False, within=1.0)
        elapsed = time.monotonic() - cancelled_at
        assert elapsed < 1.0, elapsed
        got = await _search_once_the_slot_is_free(client, cancelled_at)
    assert "Error" not in got, got


async def test_disconnect_mid_search_over_http(busy_data: Path, tmp_path: Path, mode: str) -> None:
    log = tmp_path / "server.log"
    env = clean_env(max_concurrent_searches="1", max_queued_searches="0", **SLOW_READS)
    async with http_server(busy_data, env=env, log=log) as url:
        server = _server_process()
        client = Client(url, mode=mode)
        async with client:
            await client.call_tool("get_instructions", {})
            call = asyncio.create_task(
                client.call_tool("search_by_kql", {"kql_query": BROAD_QUERY})
            )
            await wait_for_clp_s(server.pid, present=True, within=10)
            cancelled_at = time.monotonic()
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call
        # The client is gone: clp-s goes within a second, reaped.
        await wait_for_clp_s(server.pid, present=False, within=1.0)
        elapsed = time.monotonic() - cancelled_at
        assert elapsed < 1.0, elapsed
        async with Client(url, mode=mode) as again:
            await again.call_tool("get_instructions", {})
            got = await _search_once_the_slot_is_free(again, cancelled_at)
        assert "Error" not in got, got
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "never retrieved" not in text, text


def _server_process() -> psutil.Process:
    servers = [p for p in psutil.Process().children() if "logpager" in " ".join(p.cmdline())]
    assert len(servers) == 1, servers
    return servers[0]
