"""MCP progress of a running search, sent from the event loop while the search works.

The search runs in worker threads and counts its hits in a
:class:`~logpager.search.progress.SearchProgress`; a task on the event loop reads the
counter every ``interval`` seconds and sends it as a progress notification. Only a client
that asked for progress (its request carries a ``progressToken``) gets any: without one,
FastMCP's ``report_progress`` sends nothing over MCP, so no task is started at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastmcp import Context

from logpager.search.progress import CURRENT_PROGRESS, SearchProgress

__all__ = ["PROGRESS_INTERVAL_SECONDS", "reporting_progress", "wants_progress"]

logger = logging.getLogger(__name__)

# The issue asks for a sign of life at least every second; half a second keeps a report
# within that even when the loop is busy, at a few bytes each.
PROGRESS_INTERVAL_SECONDS = 0.5


def wants_progress(ctx: Context) -> bool:
    """
    :param ctx: The request context.
    :return: Whether the request carries a progress token.
    """
    # FastMCP's own report_progress reads the token from here; there is no public accessor.
    request = getattr(ctx.request_context, "_srctx", None)
    meta = getattr(request, "meta", None)
    return isinstance(meta, dict) and meta.get("progress_token") is not None


@contextlib.asynccontextmanager
async def reporting_progress(
    ctx: Context, interval: float = PROGRESS_INTERVAL_SECONDS
) -> AsyncIterator[SearchProgress]:
    """
    Counts the hits of the searches started in the body and, if the client asked for
    progress, reports them every ``interval`` seconds until the body ends.

    :param ctx: The request context.
    :param interval: Seconds between reports.
    :return: The counter the body's searches add to.
    """
    progress = SearchProgress()
    reset = CURRENT_PROGRESS.set(progress)
    reporter = (
        asyncio.create_task(_report(ctx, progress, interval)) if wants_progress(ctx) else None
    )
    try:
        yield progress
    finally:
        CURRENT_PROGRESS.reset(reset)
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter


async def _report(ctx: Context, progress: SearchProgress, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await ctx.report_progress(
                progress.hits, message=f"{progress.hits} hits found so far"
            )
        except Exception as exc:  # a client gone away: the search itself decides what to do
            logger.debug("progress report failed (%s)", type(exc).__name__)
            return
