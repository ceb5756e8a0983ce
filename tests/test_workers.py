"""``serve --workers N``: N real server processes on one port sharing a real Redis.

Real FastMCP clients of both protocol eras search and page through a result, each call on a
new connection (which the kernel hands to either worker); ``GET /metrics`` names the worker
that answered (``logpager_server_process``) and counts its page calls, which proves that both
served. Stopping, and a worker or the supervisor dying, leave no process behind.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from fastmcp import Client

from harness.mcp_http import McpHttpClient
from harness.ports import free_port, wait_for_port
from harness.redis import RedisServer
from harness.servers import clean_env, http_server, run_serve, serve_command
from logpager.server.httpstack import choose_http_stack
from logpager.server.process import bind_worker_sockets
from tests.support.scrape import get, samples

QUERY = "message: *error*"
PAGES_PER_ERA = 24


@dataclass
class Workers:
    """A running ``serve --workers N`` and where it logs."""

    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def workers(self) -> list[int]:
        return [p.pid for p in psutil.Process(self.process.pid).children()]


@asynccontextmanager
async def serve_workers(
    data_dir: Path, store: str, log: Path, count: int = 2, **settings: str
) -> AsyncIterator[Workers]:
    port = free_port()
    command = serve_command(
        "--transport", "http", "--port", str(port), "--data-dir", str(data_dir),
        "--store", store, "--workers", str(count),
    )  # fmt: skip
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, env=clean_env(**settings), stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
        )
        try:
            await wait_for_port(port, lambda: process.returncode is None, 30)
            workers = Workers(process, port, log)
            # The supervisor listens (binds) before it forks; a request meanwhile waits in
            # the port's queue, but the tests count the workers.
            for _ in range(300):
                if len(workers.workers()) == count:
                    break
                await asyncio.sleep(0.1)
            yield workers
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def scrape(port: int) -> tuple[int, float]:
    """:return: The pid of the worker that answered ``GET /metrics`` (on a new connection)
    and its page calls."""
    status, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    values = samples(text)
    (pid,) = [dict(labels)["pid"] for name, labels in values if name == "logpager_server_process"]
    return int(pid), values[("logpager_page_calls_total", ())]


async def scrape_each_worker(workers: Workers) -> dict[int, float]:
    """:return: Page calls by worker pid, once a scrape has reached every worker."""
    expected = set(workers.workers())
    seen: dict[int, float] = {}
    for _ in range(200):  # each scrape reaches one of 2 workers at random: 2**-199 to miss one
        pid, calls = await scrape(workers.port)
        seen[pid] = calls
        if set(seen) == expected:
            return seen
    return seen


async def call(url: str, mode: str, tool: str, **args: object) -> dict[str, object]:
    """One call on its own connection, as stateless and hosted clients make them."""
    async with Client(url, mode=mode) as client:
        data = (await client.call_tool(tool, args)).data
        assert isinstance(data, dict)
        return data


@pytest.mark.parametrize("json_response", ["false", "true"])
async def test_two_workers_serve_both_eras_and_stop_together(
    loghub_archives: Path, redis_server: RedisServer, tmp_path: Path, json_response: str
) -> None:
    log = tmp_path / "serve.log"
    async with serve_workers(
        loghub_archives, redis_server.url, log, json_response=json_response
    ) as workers:
        pids = workers.workers()
        assert len(pids) == 2
        for mode in ("legacy", "auto"):
            first = await call(workers.url, mode, "search_by_kql", kql_query=QUERY)
            handle = first["result_handle"]
            pages = first["num_total_pages"]
            assert isinstance(pages, int)
            assert pages >= 3
            for i in range(PAGES_PER_ERA):
                page = await call(
                    workers.url, mode, "get_nth_page", page_index=i % pages, result_handle=handle
                )
                assert "Error" not in page, page
                assert page["result_handle"] == handle
            # One connection of the handshake era too: no Mcp-Session-Id binds it to a worker.
            async with Client(workers.url, mode=mode) as client:
                again = await client.call_tool(
                    "get_nth_page", {"page_index": 0, "result_handle": handle}
                )
                assert again.data["items"] == first["items"]
        calls = await scrape_each_worker(workers)
        assert set(calls) == set(pids), calls
        assert all(n > 0 for n in calls.values()), calls
        assert sum(calls.values()) == 2 * (PAGES_PER_ERA + 1)

        workers.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(workers.process.wait(), 30)
        assert status == 0
        assert not [pid for pid in pids if psutil.pid_exists(pid)]
    text = log.read_text()
    assert "Serving with 2 worker processes" in text
    assert text.count("HTTP stack: uvloop event loop") == 2
    assert len(re.findall(r"worker \d \(pid \d+\) stopped", text)) == 2


async def test_a_worker_that_dies_stops_the_others(
    loghub_archives: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    async with serve_workers(loghub_archives, redis_server.url, log) as workers:
        victim, other = workers.workers()
        os.kill(victim, signal.SIGKILL)
        status = await asyncio.wait_for(workers.process.wait(), 30)
        assert status == 1
        assert not psutil.pid_exists(other)
    assert f"(pid {victim}) ended on its own (killed by SIGKILL)" in log.read_text()


async def test_workers_do_not_outlive_their_supervisor(
    loghub_archives: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    async with serve_workers(loghub_archives, redis_server.url, tmp_path / "log") as workers:
        pids = workers.workers()
        workers.process.kill()
        await workers.process.wait()
        for _ in range(100):
            alive = [p for p in pids if psutil.pid_exists(p) and _running(p)]
            if not alive:
                break
            await asyncio.sleep(0.1)
        assert not alive


def _running(pid: int) -> bool:
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    return bool(status != psutil.STATUS_ZOMBIE)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--transport", "http"), "--store"),
        (("--transport", "http", "--store", "memory://"), "--store"),
        (("--store", "redis://127.0.0.1:1/0"), "--transport http"),
    ],
)
def test_workers_need_http_and_a_redis_store(
    loghub_archives: Path, args: tuple[str, ...], names: str
) -> None:
    run = run_serve("--data-dir", str(loghub_archives), "--workers", "2", *args)
    assert run.status == 2
    assert names in run.lines[-1]
    assert "workers 2 (from --workers)" in run.lines[-1]


def test_worker_sockets_share_one_port_that_nobody_else_may_take() -> None:
    sets = bind_worker_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sockets in sets for sock in sockets}
        assert len(sets) == 3
        assert len(ports) == 1
        # A second server on that port, with workers or without, is refused, not let in.
        with pytest.raises(Exception, match="already in use"):
            bind_worker_sockets("127.0.0.1", ports.pop(), 2)
    finally:
        for sockets in sets:
            for sock in sockets:
                sock.close()


def test_the_http_stack_is_the_fast_one_unless_told() -> None:
    fast, standard = choose_http_stack("auto"), choose_http_stack("standard")
    # Both are dependencies of logpager, installed wherever it is.
    assert (fast.loop, fast.http) == ("uvloop", "httptools")
    assert (standard.loop, standard.http) == ("asyncio", "h11")
    assert standard.loop_factory() is None
    factory = fast.loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


async def test_the_fast_stack_trims_header_values(loghub_archives: Path) -> None:
    # RFC 9110 parses a field value without its surrounding whitespace; llhttp keeps the
    # trailing part, which made Mcp-Name differ from the body's tool name (HTTP 400).
    async with http_server(loghub_archives) as url:
        client = McpHttpClient(url, stateless=True).open()
        client._headers["mcp-name"] = "  get_instructions \t"
        status, _, body = await asyncio.to_thread(
            client._post, client._request("tools/call", {
                "name": "get_instructions", "arguments": {},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            })
        )  # fmt: skip
        client.close()
    assert status == 200, body[:300]
