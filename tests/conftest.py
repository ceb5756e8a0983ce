"""Shared fixtures: an injectable clock, small result builders, server process helpers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from logpager.schema import RESULT_SCHEMA
from logpager.settings import Settings


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return Settings()


def make_events(n: int, *, start_ms: int = 1_700_000_000_000, archive: str = "arch-1"):
    """Events in ascending time order (the engine's natural order)."""
    return pa.record_batch(
        [
            pa.array([start_ms + i * 1000 for i in range(n)], pa.int64()),
            pa.array([f'{{"level":"INFO","message":"event {i}"}}' for i in range(n)]),
            pa.array([archive] * n),
            pa.array(range(n), pa.int64()),
        ],
        schema=RESULT_SCHEMA,
    )


@pytest.fixture
def events() -> Callable[..., pa.RecordBatch]:
    return make_events


def _loghub_dir() -> Path:
    # The shared data set sits beside the repository (../shared); the bundled copy of the
    # same five samples stands in where it is absent.
    beside = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "loghub"
    if beside.is_dir():
        return beside
    return Path(__file__).resolve().parents[1] / "src" / "logpager" / "samples" / "loghub"


LOGHUB = _loghub_dir()


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
