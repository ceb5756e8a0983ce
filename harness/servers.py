"""A real ``logpager serve --transport http`` process on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.ports import free_port, wait_for_port

__all__ = ["ServeRun", "clean_env", "http_server", "run_serve", "serve_command"]


def serve_command(*args: str) -> list[str]:
    """
    :param args: ``serve`` arguments.
    :return: The command that runs ``logpager serve`` with them, from this interpreter.
    """
    return [sys.executable, "-m", "logpager.cli", "serve", *args]


def clean_env(**settings: str) -> dict[str, str]:
    """
    :param settings: Settings to pass as ``LOGPAGER_<NAME>`` variables.
    :return: This environment without the caller's ``LOGPAGER_*`` variables, plus
        ``settings``: a server on its defaults and what the test says.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOGPAGER_")}
    return {**clean, **{f"LOGPAGER_{k.upper()}": v for k, v in settings.items()}}


@dataclass(frozen=True)
class ServeRun:
    """A ``logpager serve`` that ended: its status, its stderr lines, how long it ran."""

    status: int
    lines: list[str]
    seconds: float


def run_serve(*args: str, timeout: float = 60) -> ServeRun:
    """
    Runs ``logpager serve`` to its end (meant for runs that fail fast).

    :param args: ``serve`` arguments.
    :param timeout: Seconds before the run counts as hung.
    :return: How it ended.
    """
    began = time.monotonic()
    done = subprocess.run(
        serve_command(*args),
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ServeRun(done.returncode, done.stderr.strip().splitlines(), time.monotonic() - began)


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
    command: Sequence[str] = serve_command(
        "--transport", "http", "--port", str(port), "--data-dir", str(data_dir), *args
    )
    environment = env if env is not None else clean_env()
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
