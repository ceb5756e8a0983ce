"""``GET /metrics``: Prometheus text from a real server, over HTTP and on the stdio side port."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from harness.ports import free_port, wait_for_port
from harness.servers import clean_env, http_server, serve_command
from logpager.memory.probe import tree_rss_bytes
from logpager.server.metrics import SearchObserver, ServerMetrics
from logpager.sessions import SessionManager
from logpager.settings import Settings
from tests.support.scrape import base_url, get, samples

QUERY = "message: *error*"
REUSE = (("cache", "search_reuse"),)


async def test_metrics_after_a_search_and_a_page(loghub_archives: Path) -> None:
    async with http_server(loghub_archives) as endpoint:
        async with Client(endpoint, mode="legacy") as client:
            await client.call_tool("get_instructions", {})
            first = (await client.call_tool("search_by_kql", {"kql_query": QUERY})).data
            await client.call_tool("search_by_kql", {"kql_query": QUERY})  # reused
            await client.call_tool("get_nth_page", {"page_index": 0})
        status, text = await get(base_url(endpoint) + "/metrics")
    assert status == 200
    values = samples(text)
    assert values[("logpager_sessions_active", ())] >= 1
    assert values[("logpager_search_seconds_count", ())] == 1
    assert values[("logpager_search_seconds_sum", ())] > 0
    assert values[("logpager_result_items_count", ())] == 1
    assert values[("logpager_result_items_sum", ())] == first["num_total_items"] > 0
    assert values[("logpager_cache_misses_total", REUSE)] == 1
    assert values[("logpager_cache_hits_total", REUSE)] == 1
    assert values[("logpager_session_cache_bytes_count", ())] >= 1
    assert values[("logpager_session_cache_bytes_sum", ())] > 0
    assert values[("logpager_process_tree_rss_bytes", ())] > 0
    for zero in ("sessions_expired", "evictions", "reruns"):
        assert values[(f"logpager_{zero}_total", ())] == 0
    assert values[("logpager_searches_queued", ())] >= 0


async def test_metrics_check_host_and_origin(loghub_archives: Path) -> None:
    async with http_server(loghub_archives) as endpoint:
        metrics = base_url(endpoint) + "/metrics"
        host, _ = await get(metrics, Host="evil.example")
        origin, _ = await get(metrics, Origin="http://evil.example")
    assert 400 <= host < 500
    assert 400 <= origin < 500


def test_two_servers_in_one_process_do_not_collide() -> None:
    idle = SimpleNamespace(queued=0)
    first = SimpleNamespace(
        manager=SessionManager(settings=Settings()),
        admission=idle,
        pages_answered=0,
        pages_on_event_loop=0,
    )
    second = SimpleNamespace(
        manager=SessionManager(settings=Settings()),
        admission=idle,
        pages_answered=0,
        pages_on_event_loop=0,
    )
    texts = [ServerMetrics(t, SearchObserver()).render().decode() for t in (first, second)]
    for text in texts:
        assert samples(text)[("logpager_sessions_active", ())] == 0


def test_queued_searches_come_from_the_admission_queue() -> None:
    manager = SessionManager(settings=Settings())
    without = SimpleNamespace(
        manager=manager,
        admission=SimpleNamespace(queued=0),
        pages_answered=0,
        pages_on_event_loop=0,
    )
    queued = SimpleNamespace(
        manager=manager,
        admission=SimpleNamespace(queued=3),
        pages_answered=0,
        pages_on_event_loop=0,
    )
    read = [
        samples(ServerMetrics(t, SearchObserver()).render().decode())[
            ("logpager_searches_queued", ())
        ]
        for t in (without, queued)
    ]
    assert read == [0, 3]


def test_process_tree_rss_counts_children() -> None:
    alone = tree_rss_bytes(psutil.Process())
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert tree_rss_bytes(psutil.Process()) > alone
    finally:
        child.kill()
        child.wait()


async def test_stdio_serves_metrics_on_its_side_port(loghub_archives: Path) -> None:
    port = free_port()
    command = serve_command(
        "--transport", "stdio", "--data-dir", str(loghub_archives), "--metrics-port", str(port)
    )
    transport = StdioTransport(command[0], command[1:], env=clean_env(), keep_alive=False)
    async with Client(transport, mode="legacy") as client:
        await wait_for_port(port, lambda: True, 30)
        await client.call_tool("get_instructions", {})
        await client.call_tool("search_by_kql", {"kql_query": QUERY})
        status, text = await get(f"http://127.0.0.1:{port}/metrics")
        health, body = await get(f"http://127.0.0.1:{port}/health")
        rebound, _ = await get(f"http://127.0.0.1:{port}/metrics", Host="evil.example")
        # The scrapes wrote nothing into the MCP stream: the next call still answers.
        page = (await client.call_tool("get_nth_page", {"page_index": 0})).data
    assert status == 200
    values = samples(text)
    assert values[("logpager_sessions_active", ())] == 1
    assert values[("logpager_search_seconds_count", ())] == 1
    assert (health, body) == (200, "OK")
    assert 400 <= rebound < 500
    assert page["page_index"] == 0
    # The side port closes with the server.
    for _attempt in range(100):
        try:
            await get(f"http://127.0.0.1:{port}/health")
        except ConnectionRefusedError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the metrics port still answers 10 s after the server's input ended")


async def test_scrapes_write_nothing_to_the_stdio_stream(loghub_archives: Path) -> None:
    port = free_port()
    command = serve_command(
        "--transport", "stdio", "--data-dir", str(loghub_archives), "--metrics-port", str(port)
    )
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=clean_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_for_port(port, lambda: proc.returncode is None, 30)
    for path in ("/metrics", "/health", "/nowhere"):
        await get(f"http://127.0.0.1:{port}{path}")
    # No MCP message was sent, so the MCP stream (stdout) must stay empty.
    stdout, _ = await asyncio.wait_for(proc.communicate(b""), 30)
    assert stdout == b""
    assert proc.returncode == 0
