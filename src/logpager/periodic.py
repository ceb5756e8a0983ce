"""A background task on the server's event loop that runs one action at an interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["PeriodicTask"]

logger = logging.getLogger(__name__)


class PeriodicTask:
    """
    Runs ``action`` every ``interval()`` seconds from :meth:`start` until :meth:`stop`.

    A run that raises is logged and the next run still happens: one failed sweep or memory
    check must not end the loop.

    :param name: The asyncio task's name, and what a failure is logged as.
    :param action: One run (awaited; wrap blocking work in ``asyncio.to_thread``).
    :param interval: Seconds to wait before each run, read anew each time.
    """

    def __init__(
        self, name: str, action: Callable[[], Awaitable[object]], interval: Callable[[], float]
    ) -> None:
        self.name = name
        self._action = action
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """:return: Whether the task is started and not finished."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Starts the task (idempotent); call from the event loop that should run it."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stops the task and waits until it has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval())
            try:
                await self._action()
            except Exception:
                logger.exception("%s failed", self.name)
