"""``serve --workers N``: N server processes on one port, started and stopped together.

One server process pages on one core at most (one event loop, and the GIL); a host with more
cores serves more pages with more processes. The supervisor here forks the workers from the
process that parsed the settings and bound the port, after its startup heap is frozen (so the
modules it imported stay shared, copy-on-write, instead of each worker importing them again),
and before logpager starts a thread (the one thread there may be, jemalloc's background
thread that pyarrow starts, is fork-safe: jemalloc takes its locks around a fork). Each
worker builds its own server and serves its own listening sockets (``SO_REUSEPORT``, see
:func:`~logpager.server.process.bind_worker_sockets`).

What the workers share is the session store (Redis, required when N > 1): any worker serves
any handle. What they do not share is MCP's transport sessions: a handshake-era session
(``initialize``, then ``Mcp-Session-Id`` on every request) lives in the memory of the one
process that answered its ``initialize``, and the kernel may hand the client's next
connection to another worker, which would answer 404. So with N > 1 the server serves
stateless HTTP (no ``Mcp-Session-Id`` is minted; see ``server/run.py``): any worker answers
any request, in both protocol eras. Sticky routing was the alternative; it needs a proxy in
front that reads a header of every request, which is a second hop on every page.

Each worker answers ``GET /metrics`` and ``GET /health`` for itself (a scrape reaches one of
them; ``logpager_server_process`` names its pid).

Stopping: SIGTERM or SIGINT to the supervisor is passed to every worker as SIGTERM (their
graceful stop, see :mod:`logpager.server.process`), and the supervisor returns once all have
exited. A second signal kills the workers and exits at once with ``128 + signal number``.
A worker also gets SIGTERM if the supervisor dies (``PR_SET_PDEATHSIG``), so none is left
behind. A worker that ends on its own (it crashed, or was killed) stops the others: the
service is all its workers or nothing, rather than a port that serves some connections.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

from logpager.errors import WorkerFailedError
from logpager.server.process import STOP_SIGNALS

__all__ = ["WorkerFailedError", "supervise_workers"]

logger = logging.getLogger(__name__)

# prctl(2): deliver a signal to this process when its parent exits.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Asks the kernel for SIGTERM when the supervisor exits (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(0)


def _run_worker(
    index: int, sockets: list[socket.socket], serve: Callable[[int, list[socket.socket]], None]
) -> int:
    """
    The forked child's whole life.

    :return: Its exit status: 0 after a requested stop, 1 if serving raised.
    """
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    try:
        serve(index, sockets)
    except BaseException:
        logger.exception("worker %d (pid %d) failed", index + 1, os.getpid())
        return 1
    return 0


class _Supervisor:
    """The workers' pids, and what the supervisor does on a stop signal."""

    def __init__(self) -> None:
        self.children: dict[int, int] = {}
        """Worker index by pid, of the workers still running."""
        self.stopping: int | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        """
        Signal handler: the first stop signal asks every worker to stop; a second kills them.

        :param signum: The signal received.
        :param _frame: Unused.
        """
        if self.stopping is not None:
            os.write(2, f"{signal.Signals(signum).name} again: killing the workers.\n".encode())
            self.signal_all(signal.SIGKILL)
            os._exit(128 + signum)
        self.stopping = signum
        logger.info("%s received: stopping %d worker(s).", signal.Signals(signum).name,
                    len(self.children))  # fmt: skip
        self.signal_all(signal.SIGTERM)

    def signal_all(self, signum: int) -> None:
        """:param signum: The signal to send every running worker."""
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


def supervise_workers(
    socket_sets: list[list[socket.socket]],
    serve: Callable[[int, list[socket.socket]], None],
) -> None:
    """
    Forks one worker per socket set, each running ``serve(index, sockets)``, and waits for
    them; returns once all have exited after a stop signal.

    Call it from the main thread, before the process starts threads of its own: a fork
    copies only the calling thread, and a lock another thread held stays locked in the child.

    :param socket_sets: Each worker's listening sockets (closed here once the workers have
        them).
    :param serve: What a worker runs (in the child, with the stop signals at their
        defaults): it serves until a stop signal and returns.
    :raise WorkerFailedError: If a worker ended without being asked to (the others are then
        stopped, and waited for, first).
    """
    supervisor = _Supervisor()
    parent = os.getpid()
    previous = {sig: signal.signal(sig, supervisor.handle) for sig in STOP_SIGNALS}
    try:
        for index, sockets in enumerate(socket_sets):
            pid = os.fork()
            if pid == 0:  # the worker
                _die_with_parent(parent)
                for other, theirs in enumerate(socket_sets):
                    if other != index:
                        for sock in theirs:
                            sock.close()
                status = _run_worker(index, sockets, serve)
                logging.shutdown()
                os._exit(status)
            supervisor.children[pid] = index
            logger.info("worker %d of %d started (pid %d)", index + 1, len(socket_sets), pid)
        # Each worker holds its own sockets; the supervisor's copies would keep a dead
        # worker's socket in the port's group, where its share of connections would wait.
        for sockets in socket_sets:
            for sock in sockets:
                sock.close()
        failure = _wait(supervisor)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure is not None:
        raise WorkerFailedError(failure)


def _wait(supervisor: _Supervisor) -> str | None:
    """
    Waits for every worker to exit.

    :return: What went wrong, if a worker ended without being asked to (None otherwise).
    """
    failure: str | None = None
    while supervisor.children:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        index = supervisor.children.pop(pid, None)
        if index is None:
            continue  # not a worker (nothing else is forked here, but be exact)
        if supervisor.stopping is not None:
            logger.info("worker %d (pid %d) stopped", index + 1, pid)
            continue
        failure = (
            f"worker {index + 1} (pid {pid}) ended on its own ({_describe(status)}): stopped "
            "the other workers; see the log above for its error"
        )
        logger.error("%s", failure)
        supervisor.stopping = int(signal.SIGTERM)
        supervisor.signal_all(signal.SIGTERM)
    return failure


def _describe(status: int) -> str:
    """:return: A wait status in words (``exit status 1``, ``killed by SIGKILL``)."""
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
