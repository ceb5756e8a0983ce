"""A real ``logpager serve --transport http`` process on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from harness.ports import free_port, wait_for_port

__all__ = ["http_server"]


@asynccontextmanager
async def http_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> AsyncIterator[str]:
    """
    Runs ``logpager serve --transport http`` on a free loopback port until the block ends.

    :param data_dir: The archives to serve.
    :param args: More ``serve`` arguments (e.g. ``--auth-tokens-file F``).
    :param env: The environment (default: this one without ``LOGPAGER_*``, so the server runs
        on its defaults plus ``args``).
    :param log: Where its stderr goes (default: discarded).
    :return: The MCP endpoint's URL.
    """
    port = free_port()
    command: Sequence[str] = [
        sys.executable, "-m", "logpager.cli", "serve", "--transport", "http",
        "--port", str(port), "--data-dir", str(data_dir), *args,
    ]  # fmt: skip
    environment = (
        env
        if env is not None
        else {k: v for k, v in os.environ.items() if not k.startswith("LOGPAGER_")}
    )
    sink = log.open("wb") if log is not None else None
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=sink if sink is not None else asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for_port(port, lambda: proc.returncode is None, 30)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        if sink is not None:
            sink.close()
