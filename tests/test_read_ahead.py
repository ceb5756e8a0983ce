"""Reading a pipe ahead of its consumer: every byte in order, within the limit, and a stop
that never hangs, with a thread of its own or without."""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import random
import select
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logpager.search.read_ahead import ReadAhead
from logpager.settings import Settings

READ = 65_536


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # closed by the test already
            os.close(fd)


def _settings(ahead: int) -> Settings:
    return Settings(
        search_read_bytes=READ,
        search_read_ahead_bytes=ahead,
        search_short_read_pause_seconds=0,
    )


def _take_all(reader: ReadAhead) -> bytes:
    got = bytearray()
    while (reads := reader.take(5.0)) is not None:
        for data in reads:
            got += data
    return bytes(got)


@pytest.mark.parametrize("ahead", [0, 2 * READ, 8 * READ])
def test_every_byte_arrives_in_order(pipe: tuple[int, int], ahead: int) -> None:
    read_end, write_end = pipe
    rng = random.Random(ahead)
    stream = rng.randbytes(3_000_000)

    def write() -> None:
        at = 0
        while at < len(stream):
            size = rng.choice([1, 100, 4_096, 70_000, 300_000])
            at += os.write(write_end, stream[at : at + size])
        os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    reader = ReadAhead(read_end, _settings(ahead))
    try:
        assert _take_all(reader) == stream
        assert reader.take(0.01) is None  # the end stays the end
    finally:
        reader.stop()
        writer.join()


def test_bytes_taken_stay_put_until_the_next_take(pipe: tuple[int, int]) -> None:
    # The reader reuses a buffer only once it was given back, by the next take.
    read_end, write_end = pipe
    reader = ReadAhead(read_end, _settings(2 * READ))
    try:
        os.write(write_end, b"a" * 1_000)
        first = reader.take(5.0)
        assert first
        os.write(write_end, b"b" * 1_000)
        _wait_until_drained(read_end)
        assert b"".join(first) == b"a" * 1_000
    finally:
        reader.stop()


def test_reading_ahead_stops_at_its_limit(pipe: tuple[int, int]) -> None:
    # Nothing is taken: the reader fills its buffers and then leaves the pipe full, so the
    # writer is held back by at most the buffers plus the pipe's capacity.
    read_end, write_end = pipe
    reader = ReadAhead(read_end, _settings(4 * READ))
    os.set_blocking(write_end, False)
    written = 0
    try:
        while select.select([], [write_end], [], 1.0)[1]:
            try:
                written += os.write(write_end, b"x" * READ)
            except BlockingIOError:
                continue
        capacity = _pipe_capacity(read_end)
        assert written <= 4 * READ + capacity
        assert written >= 4 * READ  # it did read ahead
        got = 0
        os.close(write_end)
        while (reads := reader.take(5.0)) is not None:
            got += sum(len(data) for data in reads)
        assert got == written
    finally:
        reader.stop()


@pytest.mark.parametrize("ahead", [0, 4 * READ])
def test_a_take_gives_up_at_its_timeout(pipe: tuple[int, int], ahead: int) -> None:
    read_end, _ = pipe
    reader = ReadAhead(read_end, _settings(ahead))
    try:
        began = time.monotonic()
        assert reader.take(0.05) == []
        assert time.monotonic() - began < 2
    finally:
        reader.stop()


def test_a_stop_returns_while_the_pipe_stays_open(pipe: tuple[int, int]) -> None:
    # Something outside the child's process group may keep the write end open: the reader
    # thread still ends.
    read_end, _ = pipe
    reader = ReadAhead(read_end, _settings(4 * READ))
    began = time.monotonic()
    reader.stop()
    reader.stop()
    assert time.monotonic() - began < 2


def test_a_stop_returns_while_the_buffers_are_full(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    reader = ReadAhead(read_end, _settings(2 * READ))
    os.set_blocking(write_end, False)
    while select.select([], [write_end], [], 1.0)[1]:
        try:
            os.write(write_end, b"x" * READ)
        except BlockingIOError:
            continue
    began = time.monotonic()
    reader.stop()
    assert time.monotonic() - began < 2


@pytest.mark.parametrize("ahead", [0, 4 * READ])
def test_a_failed_read_is_raised_to_the_consumer(tmp_path: Path, ahead: int) -> None:
    # A directory is always "readable", and reading it fails (EISDIR).
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        reader = ReadAhead(fd, _settings(ahead))
        try:
            with pytest.raises(IsADirectoryError):
                reader.take(5.0)
        finally:
            reader.stop()
    finally:
        os.close(fd)


def _pipe_capacity(fd: int) -> int:
    capacity: int = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    return capacity


def _wait_until_drained(fd: int) -> None:
    """Waits (at most 5 s) until the reader thread has read everything in the pipe."""
    deadline = time.monotonic() + 5
    waiting = array.array("i", [1])
    while time.monotonic() < deadline:
        fcntl.ioctl(fd, termios.FIONREAD, waiting)
        if not waiting[0]:
            return
        time.sleep(0.005)
    pytest.fail("the reader did not read the pipe")
