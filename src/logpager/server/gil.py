"""How often the interpreter hands the GIL between the server's threads while it serves."""

from __future__ import annotations

import logging
import sys

__all__ = ["set_switch_interval"]

logger = logging.getLogger(__name__)


def set_switch_interval(seconds: float | None) -> float:
    """
    Sets the interpreter's thread switch interval (``sys.setswitchinterval``) for serving.

    Pages are answered in worker threads while the event loop reads and writes requests;
    with Python's 5 ms default a thread that wants the GIL can wait that long for each
    hand-over, and a queue of requests waits for several (see the
    ``gil_switch_interval_seconds`` setting for what a shorter interval measured).

    :param seconds: The interval; ``None`` leaves Python's own.
    :return: The interval in effect afterwards.
    :raise ValueError: If ``seconds`` is not positive.
    """
    if seconds is not None:
        sys.setswitchinterval(seconds)
        logger.debug("thread switch interval %.2f ms", seconds * 1000)
    return sys.getswitchinterval()
