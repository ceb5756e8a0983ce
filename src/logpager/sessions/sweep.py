"""The background task that sweeps expired sessions on the server's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from logpager.settings import Settings

__all__ = ["Sweeper"]

logger = logging.getLogger(__name__)


class Sweeper:
    """
    Runs a sweep every ``sweep_interval_seconds`` until stopped.

    :param sweep: The sweep; if it raises, the error is logged and the next sweep still runs.
    :param settings: Where the interval is read, before each wait.
    """

    def __init__(self, sweep: Callable[[], object], settings: Settings) -> None:
        self._sweep = sweep
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the sweep task (idempotent); call from the server's event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="logpager-sweep")

    async def stop(self) -> None:
        """Stops the sweep task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sweep_interval_seconds)
            try:
                self._sweep()
            except Exception:
                # A failed sweep must not end the loop; the next one tries again.
                logger.exception("session sweep failed")
