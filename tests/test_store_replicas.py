"""Two real ``logpager serve`` processes sharing one real Redis: every replica serves every
handle, a result outlives the process that built it, and principals hold across replicas.

Real clients (FastMCP's, both protocol eras) over real streamable HTTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from harness.ports import free_port, wait_for_port
from harness.redis import RedisServer
from harness.servers import clean_env, http_server, serve_command

QUERY = "message: *error*"
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef01"

pytestmark = pytest.mark.slow


class Replica:
    """One ``logpager serve --transport http --store URL`` on a fixed port: it can be killed
    and started again at the same address."""

    def __init__(self, data_dir: Path, store: str, *args: str) -> None:
        self.port = free_port()
        self.command = serve_command(
            "--transport", "http", "--port", str(self.port), "--data-dir", str(data_dir),
            "--store", store, *args,
        )  # fmt: skip
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def start(self) -> Replica:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.process = process
        await wait_for_port(self.port, lambda: process.returncode is None, 30)
        return self

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()


@asynccontextmanager
async def replicas(data_dir: Path, store: str, *args: str) -> AsyncIterator[list[Replica]]:
    pair = [Replica(data_dir, store, *args), Replica(data_dir, store, *args)]
    try:
        await asyncio.gather(*(r.start() for r in pair))
        yield pair
    finally:
        for replica in pair:
            await replica.kill()


def health(replica: Replica) -> tuple[int, str]:
    """:return: ``GET /health``'s status and text."""
    url = f"http://127.0.0.1:{replica.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


async def call(url: str, tool: str, *, mode: str = "legacy", token: str | None = None,
               **args: Any) -> Any:  # fmt: skip
    """One connection, one call (as stateless and hosted clients make them)."""
    async with Client(url, mode=mode, auth=token) as client:
        if token is None:
            await client.call_tool("get_instructions", {})
        return (await client.call_tool(tool, args)).data


async def test_search_on_one_replica_page_on_the_other_through_kills_and_restarts(
    loghub_archives: Path, redis_server: RedisServer
) -> None:
    async with replicas(loghub_archives, redis_server.url) as (a, b):
        first = await call(a.url, "search_by_kql", kql_query=QUERY)
        handle = first["result_handle"]
        pages = first["num_total_pages"]
        assert pages >= 3
        source = [
            await call(a.url, "get_nth_page", page_index=i, result_handle=handle)
            for i in range(pages)
        ]
        assert source[0]["items"] == first["items"]
        on_b = [
            await call(b.url, "get_nth_page", mode="auto", page_index=i, result_handle=handle)
            for i in range(pages)
        ]
        assert on_b == source
        await a.kill()
        again = await call(b.url, "get_nth_page", page_index=pages - 1, result_handle=handle)
        assert again == source[-1]
        await a.start()
        restarted = await call(a.url, "get_nth_page", page_index=1, result_handle=handle)
        assert restarted == source[1]
        forged = await call(b.url, "get_nth_page", page_index=0, result_handle="x" * 32)
        assert "Error" in forged


async def test_principals_hold_across_replicas(
    loghub_archives: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice {ALICE}\nbob {BOB}\n")
    auth = ("--auth-tokens-file", str(tokens))
    async with replicas(loghub_archives, redis_server.url, *auth) as (a, b):
        await call(a.url, "get_instructions", token=ALICE)
        # Instructed on A: B knows it.
        first = await call(b.url, "search_by_kql", token=ALICE, kql_query=QUERY)
        handle = first["result_handle"]
        # Alice's latest result, without its handle, on the other replica and a new connection.
        default = await call(a.url, "get_nth_page", mode="auto", token=ALICE, page_index=1)
        assert default["result_handle"] == handle
        assert default == await call(
            b.url, "get_nth_page", token=ALICE, page_index=1, result_handle=handle
        )
        await call(b.url, "get_instructions", token=BOB)
        refused = await call(a.url, "get_nth_page", token=BOB, page_index=0, result_handle=handle)
        assert "Error" in refused
        assert "unknown" in refused["Error"].lower() or "not" in refused["Error"].lower()


async def test_a_replica_whose_redis_is_down_says_so_and_recovers(
    loghub_archives: Path, redis_server: RedisServer
) -> None:
    async with replicas(loghub_archives, redis_server.url) as (a, _):
        assert health(a) == (200, "OK")
        redis_server.stop()
        down = await call(a.url, "search_by_kql", kql_query=QUERY)
        assert "session store" in down["Error"]
        assert redis_server.url in down["Error"]
        status, text = health(a)
        assert status == 503
        assert text.startswith(f"unavailable: The session store {redis_server.url} is unavailable")
        redis_server.start()
        assert health(a) == (200, "OK")
        up = await call(a.url, "search_by_kql", kql_query=QUERY)
        assert "Error" not in up
        assert up["items"]


async def test_a_server_starts_with_its_redis_down_and_warns(
    loghub_archives: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.stop()
    log = tmp_path / "server.log"
    async with http_server(loghub_archives, "--store", redis_server.url, log=log) as url:
        down = await call(url, "search_by_kql", kql_query=QUERY)
        assert redis_server.url in down["Error"]
        redis_server.start()
        assert "Error" not in await call(url, "search_by_kql", kql_query=QUERY)
    text = log.read_text()
    assert f"WARNING logpager.server.app: The session store {redis_server.url} is unavailable" in (
        text
    )
