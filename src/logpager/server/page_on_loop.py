"""Where ``get_nth_page`` runs: on the event loop when the page is served without waiting,
else in a worker thread, as FastMCP runs a synchronous tool.

A random page of a result held here costs ~0.1 ms of logpager's own work (a cold chunk
decoded: median 83 us, p99 241 us on 100,000 events); handing it to a worker thread costs
more than that, and the loop and the worker then take turns on the GIL. One process, 8
raw-HTTP clients, alternating windows (``benchmarks/bench_workers.py``, README "Pages under
load"): 1.51 against 1.74 ms of server CPU per page, 617 against 530 pages/s, p99 23.7
against 37.8 ms on the loop. The loop never waits, though: the page is served there only
when the session manager's lock is free now (taken without blocking and held throughout, so
nothing changes under the question) and nothing on the way needs the session store or a
re-run (:mod:`logpager.sessions.held_page`). Anything else (the lock held by another thread, a
handle to adopt from the store, a chunk the store holds, an evicted result to re-run) runs
as before in a worker thread. Both paths run the same :meth:`Tools.get_nth_page
<logpager.server.tools.Tools.get_nth_page>`: the same checks, errors, metrics and
after-page hook (the memory governor's: rate-limited, its own lock taken without waiting,
the manager's held here already).
"""

from __future__ import annotations

import functools
import logging

import anyio.to_thread
from fastmcp import Context

from logpager.cache import PageDict
from logpager.errors import LogpagerError
from logpager.server.access import Caller, page_target
from logpager.server.tools import Tools

__all__ = ["PageDispatch"]

logger = logging.getLogger(__name__)


class PageDispatch:
    """
    Runs ``get_nth_page`` on the event loop or in a worker thread.

    :param tools: The tools' behaviour.
    :param on_loop: Whether pages that need no waiting are served on the loop (the
        ``page_on_event_loop`` setting); False: every page in a worker thread.
    """

    def __init__(self, tools: Tools, *, on_loop: bool) -> None:
        self._tools = tools
        self.on_loop = on_loop

    async def page(
        self,
        ctx: Context,
        page_index: object,
        result_handle: str | None,
        max_item_chars: object,
    ) -> PageDict:
        """
        :param ctx: The request context.
        :param page_index: The page asked for, as received.
        :param result_handle: The result to page through (None: the caller's latest).
        :param max_item_chars: Characters kept of each item, as received.
        :return: What :meth:`Tools.get_nth_page` answers: the page, or ``{"Error": ...}``.
        """
        tools = self._tools
        if self.on_loop:
            with tools.manager.lock_if_free() as free:
                if free and self._ready_or_thread(ctx, page_index, result_handle):
                    tools.pages_on_event_loop += 1
                    return tools.get_nth_page(ctx, page_index, result_handle, max_item_chars)
        return await anyio.to_thread.run_sync(
            functools.partial(tools.get_nth_page, ctx, page_index, result_handle, max_item_chars)
        )

    def _ready_or_thread(self, ctx: Context, page_index: object, result_handle: str | None) -> bool:
        """:return: :meth:`_ready`, or False (the worker thread answers) if it failed."""
        try:
            return self._ready(ctx, page_index, result_handle)
        except Exception:
            # A bug here must not cost the caller its page: the thread path answers it.
            logger.exception("deciding where get_nth_page runs failed; paging in a thread")
            return False

    def _ready(self, ctx: Context, page_index: object, result_handle: str | None) -> bool:
        """
        :return: Whether the page (or its error) is served without the session store or a
            re-run; ask with the manager's lock held. Mirrors :meth:`Tools.get_nth_page`.
        """
        manager = self._tools.manager
        caller = Caller.of(ctx)
        if manager.has_store:
            # The store is asked whether a principal was instructed on another process, for
            # a handle no session here holds, and for a principal's latest result.
            if (
                caller.principal is not None
                and manager.settings.require_instructions
                and not manager.principal_instructed_here(caller.principal)
            ):
                return False
            if result_handle is None or not manager.handle_held_here(result_handle):
                return False
        try:
            # Without a store, or for a handle held here, finding the target is local and
            # changes nothing.
            key, handle = page_target(manager, caller, result_handle)
        except LogpagerError:
            return True  # answered with that error
        return manager.page_ready(key, handle, page_index)
