"""Search admission: at most so many searches run at once, a bounded queue waits behind them.

A search (its ``clp-s`` run and the build of its result) holds a slot from start to end.
Waiting searches start in arrival order; one whose task is cancelled (the client cancelled
the call or went away) leaves the queue and gives back only what it took. Beyond the queue a
search is refused at once with :class:`ServerBusyError`, whose message tells the agent when
to retry. The analysis tools that scan archives (``server/tools_archives.py``) are not
admitted through here: they are bounded by their own limits and do not build results. The
re-run of an evicted result, which pages run in worker threads, takes a slot too
(:meth:`Admission.slot_in_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator

from logpager.cache import QueryResult
from logpager.errors import LogpagerError
from logpager.query import QuerySpec

__all__ = ["Admission", "AdmittedRerun", "ServerBusyError"]


class ServerBusyError(LogpagerError):
    """Every search slot is taken and the queue is full; the agent should retry shortly."""

    def __init__(self, running: int, queued: int) -> None:
        """
        :param running: Searches running.
        :param queued: Searches waiting.
        """
        super().__init__(
            f"The server is busy: {running} searches are running and {queued} waiting. "
            "Please retry in a few seconds."
        )


class Admission:
    """
    Slots for searches, and a first-in first-out queue for them (one event loop's).

    :param max_running: Searches that may run at once (``max_concurrent_searches``).
    :param max_queued: Searches that may wait (``max_queued_searches``).
    :ivar running: Searches holding a slot now.
    """

    def __init__(self, max_running: int, max_queued: int) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """:param loop: The server's event loop, where worker threads take their slots."""
        self._loop = loop

    @property
    def queued(self) -> int:
        """:return: Searches waiting for a slot."""
        return len(self._waiters)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """
        Holds a slot for the body, waiting in turn for one if none is free.

        :raise ServerBusyError: At once, if no slot is free and the queue is full.
        :raise asyncio.CancelledError: If the task is cancelled while waiting (it leaves the
            queue; a slot handed to it meanwhile goes to the next in line).
        """
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    @contextlib.contextmanager
    def slot_in_thread(self) -> Iterator[None]:
        """
        Holds a slot for engine work that runs in a worker thread: the re-run of an evicted
        result when it is paged. Without it, clients paging evicted results ran one ``clp-s``
        each at once (8 clients on the edge profile: the process tree peaked at 907 MiB).

        :raise ServerBusyError: If no slot is free and the queue is full.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            # No server loop (a manager used on its own): nothing to take turns with.
            yield
            return
        asyncio.run_coroutine_threadsafe(self._acquire(), loop).result()
        try:
            yield
        finally:
            loop.call_soon_threadsafe(self._release)

    async def _acquire(self) -> None:
        if self.running < self.max_running and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.max_queued:
            raise ServerBusyError(self.running, len(self._waiters))
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as the task was cancelled: pass it on.
                self._release()
            else:
                self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        # A slot passes straight to the first waiter still waiting (running stays the same).
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1


class AdmittedRerun:
    """
    A session manager's re-runner that takes an admission slot for each re-run.

    :param rerun: The re-runner it wraps.
    :param admission: Where the slots are.
    """

    def __init__(self, rerun: Callable[[QuerySpec], QueryResult], admission: Admission) -> None:
        self.rerun = rerun
        self.admission = admission

    @classmethod
    def around(
        cls, rerun: Callable[[QuerySpec], QueryResult], admission: Admission
    ) -> AdmittedRerun:
        """
        :param rerun: A re-runner, possibly already admitted (a manager given to a second
            server): then the one it wraps, so a re-run never waits for a slot it holds.
        :param admission: Where the slots are.
        :return: The admitted re-runner.
        """
        base = rerun.rerun if isinstance(rerun, AdmittedRerun) else rerun
        return cls(base, admission)

    def __call__(self, spec: QuerySpec) -> QueryResult:
        """
        :param spec: The dropped result's spec.
        :return: The result made again.
        :raise ServerBusyError: If no slot is free and the queue is full.
        """
        with self.admission.slot_in_thread():
            return self.rerun(spec)
