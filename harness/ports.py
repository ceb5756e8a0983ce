"""Server processes on loopback ports: pick a free port, wait until a server listens on it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

__all__ = ["free_port", "wait_for_port"]


def free_port() -> int:
    """:return: A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int, alive: Callable[[], bool], timeout: float = 60) -> None:
    """
    Waits until a server process listens on a loopback port.

    :param port: The port.
    :param alive: Whether the server process is still running.
    :param timeout: Seconds to wait.
    :raise AssertionError: If the process exits first or the time runs out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            msg = "the server exited before it listened"
            raise AssertionError(msg)
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    msg = f"the server did not listen on port {port} within {timeout:g} s"
    raise AssertionError(msg)
