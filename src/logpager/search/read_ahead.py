"""Reading a child's pipe in a thread of its own, ahead of the thread that decodes it.

``clp-s`` writes its hits in bursts: between the archives' tables it decompresses, it can fill
a 1 MiB pipe (the most an unprivileged process may ask for) in a few milliseconds. Read by the
thread that also decodes the hits and lays out the result's chunks, which works 5-10 ms at a
time, the pipe was often full: ``clp-s`` blocked on it for ~0.05-0.15 s of a 0.8 s search
(sampled from ``/proc``). A :class:`ReadAhead` empties the pipe as it fills, into buffers of
its own, up to a byte limit, and the decoding thread takes what was read whenever it is ready.
Against reading in the decoding thread, the search of 180,251 hits went from 1.19-1.22x of bare
``clp-s`` to 1.07-1.18x (alternating rounds).

This thread holds the GIL only to go round its loop: the reads themselves release it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading
import time
from collections import deque
from pathlib import Path

from logpager.settings import Settings

__all__ = ["ReadAhead", "grow_pipe"]

# How often a reader waiting for the pipe looks whether it was stopped: a stop comes after the
# child was killed, when the pipe ends anyway, unless something outside the child's process
# group still holds its write end.
_STOP_POLL_SECONDS = 0.1


class ReadAhead:
    """
    Reads a pipe to its end in a thread, ahead of its consumer, into a few reused buffers.

    At most ``settings.search_read_ahead_bytes`` (rounded up to whole reads of
    ``settings.search_read_bytes``, and at least two) are held read and not yet taken back:
    the reader then waits, and the pipe (and the child) with it. With 0, there is no thread:
    each :meth:`take` reads the pipe itself, once.

    After a read that found the pipe less than ``settings.search_short_read_bytes`` full, the
    reader pauses ``settings.search_short_read_pause_seconds``: ``clp-s`` writes 4 KiB at a
    time, and each write to a pipe that a reader waits on wakes that reader.

    Call :meth:`stop` on every way out: it ends the thread.

    :param fd: The pipe's read end; not closed here (close it after :meth:`stop`).
    :param settings: The read size (also the pipe's capacity asked for), the limit and the
        short reads' pause.
    """

    def __init__(self, fd: int, settings: Settings) -> None:
        self._fd = fd
        self._read_bytes = settings.search_read_bytes
        capacity = grow_pipe(fd, self._read_bytes)
        self._short_read_bytes = settings.search_short_read_bytes
        if capacity < self._read_bytes:
            # A read brings at most the pipe's capacity: were the pause's threshold above a
            # quarter of it, every read would pause (search_read_bytes of 2 MiB, where pipes
            # stop at 1 MiB, left the pipe at 64 KiB and made the search of 180,251 hits 1.95 s
            # against 0.71-0.84 s). A pipe of the size asked for keeps the threshold as set.
            self._short_read_bytes = min(self._short_read_bytes, capacity // 4)
        self._pause_seconds = settings.search_short_read_pause_seconds
        ahead = settings.search_read_ahead_bytes
        buffers = max(2, -(-ahead // self._read_bytes)) if ahead else 1
        self._free: list[bytearray] = []
        self._unmade = buffers  # buffers not allocated yet: a small stream needs one or two
        self._read: deque[tuple[bytearray, int]] = deque()
        self._given: deque[tuple[bytearray, int]] = deque()  # handed to the consumer
        self._ended = False
        self._error: OSError | None = None
        self._stopped = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        if ahead:
            self._thread = threading.Thread(
                target=self._run, name="logpager-read-ahead", daemon=True
            )
            self._thread.start()

    def take(self, timeout: float) -> list[memoryview] | None:
        """
        Waits for bytes read, and hands over all that are.

        :param timeout: The most seconds to wait.
        :return: The reads since the last take, in stream order (each a view of a buffer
            that stays valid until the next :meth:`take`); an empty list if none came in
            time; ``None`` once the pipe has ended and every read was taken.
        :raise OSError: If reading the pipe failed.
        """
        if self._thread is None:
            return self._take_here(timeout)
        with self._changed:
            if self._given:
                self._free.extend(buffer for buffer, _ in self._given)
                self._given.clear()
                self._changed.notify_all()
            if not self._read and not self._ended:
                self._changed.wait(timeout)
            if self._read:
                self._given.extend(self._read)
                self._read.clear()
                return [memoryview(buffer)[:count] for buffer, count in self._given]
            if self._error is not None:
                raise self._error
            return None if self._ended else []

    def stop(self) -> None:
        """Ends the reader thread (at once, or once the pipe ends); safe to call twice."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _take_here(self, timeout: float) -> list[memoryview] | None:
        """:meth:`take` without a reader thread: one read, in the caller's."""
        if self._ended:
            return None
        if not select.select([self._fd], [], [], timeout)[0]:
            return []
        if not self._free:
            self._free.append(bytearray(self._read_bytes))
        buffer = self._free[0]
        count = os.readv(self._fd, [buffer])
        if not count:
            self._ended = True
            return None
        if count < self._short_read_bytes:
            time.sleep(self._pause_seconds)
        return [memoryview(buffer)[:count]]

    # --- the reader thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (buffer := self._buffer()) is not None:
                count = self._read_into(buffer)
                if count is None:
                    return
                with self._changed:
                    if count:
                        self._read.append((buffer, count))
                    else:
                        self._free.append(buffer)
                        self._ended = True
                    self._changed.notify_all()
                if not count:
                    return
                if count < self._short_read_bytes:
                    time.sleep(self._pause_seconds)
        except OSError as exc:
            with self._changed:
                self._error, self._ended = exc, True
                self._changed.notify_all()

    def _buffer(self) -> bytearray | None:
        """:return: A buffer to read into, once one is free; ``None`` once stopped."""
        with self._changed:
            while not self._free and not self._unmade and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return None
            if self._free:
                return self._free.pop()
            self._unmade -= 1
        return bytearray(self._read_bytes)

    def _read_into(self, buffer: bytearray) -> int | None:
        """:return: The bytes read (0: the pipe ended); ``None`` if stopped meanwhile."""
        while not select.select([self._fd], [], [], _STOP_POLL_SECONDS)[0]:
            if self._stopped:
                return None
        if self._stopped:
            return None
        return os.readv(self._fd, [buffer])


_PIPE_MAX_SIZE = Path("/proc/sys/fs/pipe-max-size")


def grow_pipe(fd: int, size: int) -> int:
    """
    Asks for a pipe of ``size`` bytes, or of the most an unprivileged process may ask for.

    :param fd: An end of the pipe.
    :param size: The capacity wanted.
    :return: The pipe's capacity now (``size`` where it cannot be known: not Linux).
    """
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
    except AttributeError:  # not Linux: a hint only
        return size
    except OSError:
        with contextlib.suppress(OSError, ValueError):
            largest = int(_PIPE_MAX_SIZE.read_text())
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(size, largest))
    try:
        capacity: int = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except OSError:
        return size
    return capacity
