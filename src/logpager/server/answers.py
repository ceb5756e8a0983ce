"""What a tool answers when its work fails: the reference's ``{"Error": ...}``, never a trace.

A :class:`~logpager.errors.LogpagerError` is a failure the caller can act on, answered with
its own text; anything else is a bug, logged with its traceback and answered with its type's
name only, so no internals reach the agent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from logpager.errors import LogpagerError

__all__ = ["Answer", "answer", "answer_async", "error"]

logger = logging.getLogger("logpager.server.tools")

Answer = dict[str, Any]
"""A tool's answer: a page, an analysis, or ``{"Error": message}``."""


def error(message: str) -> Answer:
    """
    :param message: What the caller is told.
    :return: The reference's error shape.
    """
    return {"Error": message}


def answer(work: Callable[[], Answer], *, failure: str, log: tuple[Any, ...]) -> Answer:
    """
    :param work: The tool's work.
    :param failure: How an unexpected failure is named, e.g. ``"while paging"``.
    :param log: The log message and its arguments for an unexpected failure.
    :return: What ``work`` returned, or ``{"Error": ...}`` if it raised.
    """
    try:
        return work()
    except LogpagerError as exc:
        return error(str(exc))
    except Exception as exc:
        logger.exception(*log)
        return error(f"Internal error {failure} ({type(exc).__name__}).")


async def answer_async(
    work: Callable[[], Awaitable[Answer]], *, failure: str, log: tuple[Any, ...]
) -> Answer:
    """
    :func:`answer` for work that is awaited.

    :param work: The tool's work.
    :param failure: How an unexpected failure is named, e.g. ``"while searching"``.
    :param log: The log message and its arguments for an unexpected failure.
    :return: What ``work`` returned, or ``{"Error": ...}`` if it raised.
    """
    try:
        return await work()
    except LogpagerError as exc:
        return error(str(exc))
    except Exception as exc:
        logger.exception(*log)
        return error(f"Internal error {failure} ({type(exc).__name__}).")
