"""``logpager serve --transport http`` processes driven from synchronous code (benchmarks,
synchronous fixtures).

:func:`harness.servers.http_server` is the asynchronous form the tests use; benchmarks time
calls from plain threads, so they start and stop servers here without an event loop.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.ports import free_port, wait_for_port
from harness.servers import clean_env, serve_command

__all__ = ["serve_http"]


@contextmanager
def serve_http(
    data_dir: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """
    Runs ``logpager serve --transport http`` on a free loopback port until the block ends
    (SIGTERM, then SIGKILL after 30 s).

    :param data_dir: The archives to serve.
    :param args: More ``serve`` arguments (e.g. ``--store redis://...``).
    :param settings: Settings passed as ``LOGPAGER_*`` variables; the caller's own are not.
    :param log: Where its stderr goes (default: discarded).
    :param timeout: Seconds to wait for it to listen.
    :return: The MCP endpoint's URL.
    """
    port = free_port()
    command = serve_command(
        "--transport", "http", "--port", str(port), "--data-dir", str(data_dir), *args
    )
    sink = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        command,
        env=clean_env(**(settings or {})),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=sink,
    )
    try:
        asyncio.run(wait_for_port(port, lambda: proc.poll() is None, timeout))
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log is not None and not isinstance(sink, int):
            sink.close()
