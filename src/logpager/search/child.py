"""Running ``clp-s s`` as a child process and reading its stream of msgpack hits.

The child runs in its own process group and is killed and reaped on every way out: success,
error, timeout, an exception in the caller's thread, or cancellation from another thread
(:meth:`RunToken.cancel`, the async wrapper's). Its stderr goes to a temporary file, of which
the tail is kept to explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol, TypeVar, runtime_checkable

import msgpack

from logpager.errors import BackendCrashedError
from logpager.memory.allocators import child_environment
from logpager.search.failures import timeout_error
from logpager.search.progress import CURRENT_PROGRESS, SearchProgress
from logpager.search.read_ahead import ReadAhead
from logpager.settings import Settings

__all__ = [
    "RowDecoder",
    "Rows",
    "RunToken",
    "SearchCancelledError",
    "StreamDecoder",
    "kill_group",
    "run_cancellable",
    "run_search",
]

Rows = list[tuple[Any, ...]]
"""Decoded hits: ``(timestamp_ms, event_json, path, archive_id, index)`` each, as bytes/ints."""


@runtime_checkable
class StreamDecoder(Protocol):
    """Decodes ``clp-s``'s stream of hits as it is read, handing the hits on as it goes."""

    def feed(self, data: memoryview) -> int:
        """
        :param data: The next bytes of the stream (> 0; copied if kept: the caller reuses
            them).
        :return: The hits they completed (for progress).
        :raise ValueError: Or ``TypeError``, ``msgpack.UnpackException``: if the stream is
            not made of hits.
        """
        ...

    def finish(self) -> int:
        """
        :return: Bytes left over that do not make a whole hit, once the stream has ended.
        :raise ValueError: Or ``TypeError``, ``msgpack.UnpackException``: as :meth:`feed`.
        """
        ...


class RowDecoder:
    """
    Decodes the stream with ``msgpack``, handing each read's hits on as :data:`Rows`.

    :param on_rows: Called with the hits each read decoded (maybe none).
    """

    def __init__(self, on_rows: Callable[[Rows], object]) -> None:
        self._on_rows = on_rows
        self._unpacker = msgpack.Unpacker(raw=True, use_list=False, max_buffer_size=1 << 30)
        self._fed = 0

    def feed(self, data: bytes | memoryview) -> int:
        """
        :param data: The next bytes of the stream (copied: the caller may reuse them).
        :return: The hits they completed.
        :raise ValueError: Or ``TypeError``, ``msgpack.UnpackException``: if the stream is
            not made of hits.
        """
        self._unpacker.feed(data)
        self._fed += len(data)
        rows = list(self._unpacker)
        self._on_rows(rows)
        return len(rows)

    def finish(self) -> int:
        """:return: Bytes left over that do not make a whole hit."""
        used: int = self._unpacker.tell()
        return self._fed - used


class SearchCancelledError(Exception):
    """The awaiting task gave up; the child is already gone."""


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """
    Kills a child and its process group, unless it has exited already (it is not reaped).

    :param proc: The child, started in its own session.
    """
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


class RunToken:
    """Lets another thread stop a running search (the async wrapper's cancellation)."""

    def __init__(self, progress: SearchProgress | None = None) -> None:
        """:param progress: Where the reader counts the hits it decodes (``None``: nowhere)."""
        self._lock = threading.Lock()
        self.cancelled = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.progress = progress

    def start(
        self, argv: list[str], stderr: IO[bytes], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """
        Starts the child in its own session, its stdout a pipe, unless cancelled already.

        :param argv: The command line.
        :param stderr: Where its stderr goes.
        :param env: The child's environment (``None``: this process's).
        :return: The child.
        :raise SearchCancelledError: If :meth:`cancel` came first.
        """
        with self._lock:
            if self.cancelled:
                raise SearchCancelledError
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                bufsize=0,
                env=env,
            )
            return self.proc

    def cancel(self) -> None:
        """Marks the run cancelled and kills its child, if started (the reader then reaps it)."""
        with self._lock:
            self.cancelled = True
            if self.proc is not None:
                kill_group(self.proc)


def run_search(
    argv: list[str],
    token: RunToken,
    on_rows: Callable[[Rows], object] | StreamDecoder,
    *,
    deadline: float,
    timeout_seconds: float,
    settings: Settings,
) -> tuple[int, bytes]:
    """
    Runs ``clp-s``, hands its hits to ``on_rows`` as they are decoded, and waits for its exit.

    :param argv: The ``clp-s s ... file --path /dev/stdout`` command line.
    :param token: Started through, so that another thread can cancel the run.
    :param on_rows: Called in this thread with the hits each read decoded (maybe none); or
        a decoder that takes the bytes read (e.g. :class:`~logpager.search.hit_decoder.HitDecoder`).
    :param deadline: ``time.monotonic()`` by which the child must have exited.
    :param timeout_seconds: The timeout the deadline stands for (for the error's message).
    :param settings: Source of the reading ahead's settings (:class:`ReadAhead`),
        ``search_stderr_tail_bytes`` and the child's
        malloc knobs (:func:`~logpager.memory.allocators.child_environment`).
    :return: The exit status and the tail of stderr.
    :raise SearchCancelledError: If the token was cancelled (the child is reaped).
    :raise SearchTimeoutError: If the deadline passes (the child is killed).
    :raise BackendCrashedError: If the output is not a stream of hits, or ends in the middle
        of one while ``clp-s`` exits 0.
    """
    decoder = on_rows if isinstance(on_rows, StreamDecoder) else RowDecoder(on_rows)
    with tempfile.TemporaryFile() as stderr:
        proc = token.start(argv, stderr, child_environment(settings))
        ahead: ReadAhead | None = None
        try:
            assert proc.stdout is not None
            ahead = ReadAhead(proc.stdout.fileno(), settings)
            _read_hits(ahead, decoder, deadline, timeout_seconds, token.progress)
            try:
                returncode = proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                raise timeout_error(timeout_seconds) from None
        except BaseException:
            kill_group(proc)
            proc.wait()
            if token.cancelled:
                raise SearchCancelledError from None
            raise
        finally:
            if ahead is not None:
                # Before the pipe closes, which its thread may still be reading (the child
                # is gone by now on every way out but success, where the pipe ended).
                ahead.stop()
            if proc.stdout is not None:
                proc.stdout.close()
        if token.cancelled:
            raise SearchCancelledError
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(stderr.tell() - settings.search_stderr_tail_bytes, 0))
        err = stderr.read()
    if returncode == 0:
        try:
            left = decoder.finish()
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            msg = f"clp-s wrote output that is not a search result: {exc!r}"
            raise BackendCrashedError(msg) from exc
        if left:
            msg = (
                "clp-s ended its output in the middle of a result "
                f"({left} bytes left over); nothing was cached."
            )
            raise BackendCrashedError(msg)
    return returncode, err


def _read_hits(
    ahead: ReadAhead,
    decoder: StreamDecoder,
    deadline: float,
    timeout_seconds: float,
    progress: SearchProgress | None,
) -> None:
    """
    Decodes the pipe's bytes as they are read ahead, to the pipe's end.

    :param progress: Counts the hits decoded, once a take (``None``: not counted).
    """
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timeout_error(timeout_seconds)
        reads = ahead.take(remaining)
        if reads is None:
            return
        try:
            hits = sum(decoder.feed(data) for data in reads)
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            msg = f"clp-s wrote output that is not a search result: {exc!r}"
            raise BackendCrashedError(msg) from exc
        if progress is not None and hits:
            # Once a take, not once a hit: the event loop polls it for MCP progress.
            progress.hits += hits


_T = TypeVar("_T")


async def run_cancellable(work: Callable[[RunToken], _T]) -> _T:
    """
    Runs work that starts ``clp-s`` children in a worker thread, without blocking the event
    loop; cancelling the awaiting task kills the child and returns once it is reaped.

    :param work: The work; it starts its children through the token it is given.
    :return: What ``work`` returned.
    :raise asyncio.CancelledError: If the awaiting task was cancelled.
    """
    # The awaiting task's progress, if it set one (the worker thread does not see its context).
    token = RunToken(CURRENT_PROGRESS.get())
    future = asyncio.get_running_loop().run_in_executor(None, work, token)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        token.cancel()
        # Retrieved whenever it ends, so asyncio never logs "Future exception was never
        # retrieved": an anyio cancel scope (a client's disconnect over HTTP) cancels the
        # task again at every await, which used to cut the wait below short before the
        # exception was read.
        future.add_done_callback(_retrieve)
        # The worker notices at once (its pipe closes) and reaps the child; a repeated
        # cancellation does not cut that wait short (it lasts milliseconds).
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
