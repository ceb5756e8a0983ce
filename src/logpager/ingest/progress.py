"""Progress lines of an ingest, at most one per interval for the repeated ones."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Progress", "ProgressFn"]

ProgressFn = Callable[[str], None]
"""Takes one line of progress (e.g. ``print``)."""


class Progress:
    """
    Hands progress lines to a callback, or drops them when there is none.

    :param report: The callback; ``None`` is quiet.
    :param interval: Seconds between two lines of :meth:`tick`, and how long a wait for
        ``clp-s`` lasts between two of its progress lines.
    """

    def __init__(self, report: ProgressFn | None, interval: float) -> None:
        self.report = report
        self.interval = interval
        self.last = time.monotonic()

    def tick(self, text: Callable[[], str]) -> None:
        """
        Reports a line if :attr:`interval` has passed since the last one :meth:`tick` gave.

        :param text: Makes the line (called only when it is reported).
        """
        if self.report is None:
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.report(text())

    def say(self, text: str) -> None:
        """
        Reports a line now.

        :param text: The line.
        """
        if self.report is not None:
            self.report(text)
