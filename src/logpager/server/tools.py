"""The tools' behaviour, apart from their MCP registration (so it reads top to bottom).

A failure is ``{"Error": "<message>"}``, never a stack trace. Who may reach which session and
result, and when ``get_instructions()`` must come first, is :mod:`logpager.server.access`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastmcp import Context

from logpager.cache import PageDict, QueryResult
from logpager.memory.governor import MemoryGovernor
from logpager.query import QuerySpec
from logpager.search import SearchBackend
from logpager.search.pipeline import search_and_cache_async
from logpager.server.access import Caller, page_target, search_target
from logpager.server.admission import Admission
from logpager.server.answers import answer, answer_async
from logpager.server.instructions import INSTRUCTIONS
from logpager.server.item_cap import cap_items, check_max_item_chars
from logpager.server.metrics import SearchObserver
from logpager.server.progress import reporting_progress
from logpager.sessions import SessionManager
from logpager.sessions.query_key import ReuseKey
from logpager.settings import Settings
from logpager.timeutil import parse_iso8601_ms

__all__ = ["Tools"]


class Tools:
    """
    The tools' behaviour over one session manager, search backend and memory governor.

    Each tool method answers the agent whatever happens: a failure comes back as
    ``{"Error": "<message>"}`` (unexpected ones logged, named by exception type only), never
    as an exception.
    """

    def __init__(
        self, manager: SessionManager, backend: SearchBackend, governor: MemoryGovernor | None
    ) -> None:
        """
        :param manager: The session manager (its settings rule the cache).
        :param backend: The search engine.
        :param governor: The memory governor of ``manager``, if it is governed.
        """
        # The manager's settings rule the cache (they may differ from the server's when a
        # manager is passed in); the backend keeps its own for the engine.
        self.manager = manager
        self.backend = backend
        self.governor = governor
        self.observer = SearchObserver()
        self.pages_answered = 0
        """``get_nth_page`` calls answered, errors included (``GET /metrics``)."""
        self.pages_on_event_loop = 0
        """Of those, the ones answered on the event loop (:mod:`logpager.server.page_on_loop`)."""
        engine = self._engine_settings()
        # Read by the metrics (running, queued) as well as by searches.
        self.admission = Admission(engine.max_concurrent_searches, engine.max_queued_searches)

    def _engine_settings(self) -> Settings:
        """:return: The engine's own settings where it has them, else the manager's."""
        engine = getattr(self.backend, "settings", None)
        return engine if isinstance(engine, Settings) else self.manager.settings

    # --- tools ---------------------------------------------------------------------------------

    def get_instructions(self, ctx: Context) -> str:
        """
        :param ctx: The request context.
        :return: The instructions; the caller (its connection, its principal) is recorded as
            having retrieved them.
        """
        Caller.of(ctx).mark_instructed(self.manager)
        return INSTRUCTIONS

    async def search(
        self,
        ctx: Context,
        kql_query: str,
        begin_timestamp: str | None,
        end_timestamp: str | None,
        result_handle: str | None,
    ) -> PageDict:
        """
        :param ctx: The request context.
        :param kql_query: The KQL query.
        :param begin_timestamp: ISO 8601 UTC lower bound, if any.
        :param end_timestamp: ISO 8601 UTC upper bound, if any.
        :param result_handle: A handle whose session the new result joins, if any.
        :return: The result's first page, or ``{"Error": "<message>"}``.
        """
        return await answer_async(
            lambda: self._search(ctx, kql_query, begin_timestamp, end_timestamp, result_handle),
            failure="while searching",
            log=("search_by_kql failed unexpectedly (query %r)", kql_query),
        )

    async def _search(
        self,
        ctx: Context,
        kql_query: str,
        begin_timestamp: str | None,
        end_timestamp: str | None,
        result_handle: str | None,
    ) -> PageDict:
        # In a worker thread: the instructions rule, the target session and an identical
        # search's live result take the manager's lock and may ask the session store, and
        # the event loop, which answers pages, never waits for either.
        caller, key, spec, reused = await anyio.to_thread.run_sync(
            self._before_engine, ctx, kql_query, begin_timestamp, end_timestamp, result_handle
        )
        if reused is not None:
            return reused
        ignore_case = self._engine_settings().ignore_case
        # The search and the build overlap (see logpager.search.pipeline); neither blocks
        # the event loop. Both hold an admission slot (a reused result above needs none);
        # cancelling this task kills clp-s, and leaving the block frees the slot. The time
        # observed is the engine's work, not the wait in the queue.
        async with self.admission.slot(), reporting_progress(ctx):
            with self.observer.timed() as observe_items:
                result, _outcome = await search_and_cache_async(
                    self.backend,
                    spec,
                    settings=self.manager.settings,
                    max_compressed_bytes=(
                        self.governor.max_result_bytes() if self.governor is not None else None
                    ),
                    clock=self.manager.now,
                )
                observe_items(result.num_items)
        if result.truncated and self.governor is not None:
            self.governor.note_result(result)
        # Filed in a worker thread, not on the event loop: with a session store the result is
        # written there under the manager's lock (15-26 ms for 100,000 events in Redis,
        # against 0.7-2.5 ms without a store), and the governor's check follows; the loop
        # meanwhile serves other requests (pages fall back to threads while the lock is held).
        return await anyio.to_thread.run_sync(self._file, key, caller, result, ignore_case)

    def _before_engine(
        self,
        ctx: Context,
        kql_query: str,
        begin_timestamp: str | None,
        end_timestamp: str | None,
        result_handle: str | None,
    ) -> tuple[Caller, str, QuerySpec, PageDict | None]:
        """
        :return: The caller, the session the result goes to, the spec, and the first page of
            an identical search's live result if there is one (else None: run the engine).
        :raise LogpagerError: If the instructions rule refuses, the handle is unknown, or a
            time bound does not parse.
        """
        caller = Caller.of(ctx)
        # Checked before the search runs, not only when caching: no wasted engine work.
        caller.check_instructions(self.manager, relies_on_state=False)
        key = search_target(self.manager, caller, result_handle)
        spec = QuerySpec(
            kql_query,
            parse_iso8601_ms(begin_timestamp) if begin_timestamp is not None else None,
            parse_iso8601_ms(end_timestamp) if end_timestamp is not None else None,
            max_results=self.manager.max_cached_results,
        )
        # An identical search's live result (same canonical query, bounds, cap, and the
        # archives a search would cover now) answers without running the engine.
        # Case folding is the engine's: its own setting where it has one.
        wanted = ReuseKey.of(
            spec,
            self.backend.list_archives(),
            ignore_case=self._engine_settings().ignore_case,
            max_results=self.manager.max_cached_results,
            page_size=self.manager.page_size,
        )
        return caller, key, spec, self.manager.reuse_result(key, wanted, principal=caller.principal)

    def _file(self, key: str, caller: Caller, result: QueryResult, ignore_case: bool) -> PageDict:
        """Files a search's result in session ``key``; :return: its first page."""
        # A new session belongs to the caller's principal; the result carries its spec and
        # match count, the manager files it (for reuse under the archives it covered).
        self.manager.get_or_create_session(key, principal=caller.principal)
        filed = self.manager.search_key(result, ignore_case=ignore_case)
        return self.manager.cache_search_result(key, result, filed)

    def get_nth_page(
        self,
        ctx: Context,
        page_index: object,
        result_handle: str | None,
        max_item_chars: object = None,
    ) -> PageDict:
        """
        :param ctx: The request context.
        :param page_index: The page asked for, as received (checked against the result).
        :param result_handle: The result to page through (default: the connection's latest,
            else the principal's latest).
        :param max_item_chars: Characters kept of each item, as received (None: whole items);
            longer items are cut and marked, and the page says how many were cut.
        :return: The page, or ``{"Error": "<message>"}``.
        """
        # page_index is checked by the session manager once the result is known, so that the
        # error names the valid range.
        self.pages_answered += 1
        return answer(
            lambda: self._page(ctx, page_index, result_handle, max_item_chars),
            failure="while paging",
            log=("get_nth_page failed unexpectedly",),
        )

    def _page(
        self, ctx: Context, page_index: object, result_handle: str | None, max_item_chars: object
    ) -> PageDict:
        caller = Caller.of(ctx)
        # The reference's order: the instructions rule before anything about the result.
        caller.check_instructions(self.manager, relies_on_state=result_handle is None)
        max_chars = check_max_item_chars(max_item_chars)
        key, handle = page_target(self.manager, caller, result_handle)
        page = self.manager.page(key, page_index, handle)
        return cap_items(page, max_chars) if max_chars is not None else page

    # --- analysis ----------------------------------------------------------------------------

    def analyse(
        self,
        ctx: Context,
        result_handle: str | None,
        analysis: Callable[[QueryResult], dict[str, Any]],
        *,
        tool: str,
    ) -> dict[str, Any]:
        """
        Runs an analysis over one of the caller's cached results, with the same access rules
        as paging (a handle, else the connection's or the principal's latest result).

        :param ctx: The request context.
        :param result_handle: The result to analyse (default: the caller's latest).
        :param analysis: The computation; it raises :class:`LogpagerError` (for example
            :class:`~logpager.errors.InvalidArgumentError`) for what the caller must fix.
        :param tool: The tool's name, for the log line of an unexpected failure.
        :return: The analysis (with ``result_handle`` added), or ``{"Error": "<message>"}``.
        """

        def work() -> dict[str, Any]:
            _key, handle, result = self._caller_result(ctx, result_handle)
            return {**analysis(result), "result_handle": handle}

        return answer(work, failure=f"in {tool}", log=("%s failed unexpectedly", tool))

    def derive(
        self,
        ctx: Context,
        result_handle: str | None,
        derivation: Callable[[QueryResult], QueryResult],
        *,
        tool: str,
    ) -> PageDict:
        """
        Makes a new result from one of the caller's cached results (no new search), caches it
        in the same session under a new handle, and serves its first page.

        :param ctx: The request context.
        :param result_handle: The source result (default: the caller's latest).
        :param derivation: Builds the new result from the source.
        :param tool: The tool's name, for the log line of an unexpected failure.
        :return: The new result's first page, or ``{"Error": "<message>"}``.
        """

        def work() -> PageDict:
            key, source_handle, source = self._caller_result(ctx, result_handle)
            derived = derivation(source)
            derived.spec = dataclasses.replace(derived.spec, derived_from=source_handle)
            page, _ = self.manager.cache_query_result(key, derived.query, derived)
            return page

        return answer(work, failure=f"in {tool}", log=("%s failed unexpectedly", tool))

    def _caller_result(
        self, ctx: Context, result_handle: str | None
    ) -> tuple[str, str, QueryResult]:
        """
        :return: The session key, the handle and the result a caller reaches with
            ``result_handle`` (else its latest), after the instructions rule.
        :raise LogpagerError: As paging would.
        """
        caller = Caller.of(ctx)
        caller.check_instructions(self.manager, relies_on_state=result_handle is None)
        key, handle = page_target(self.manager, caller, result_handle)
        handle, result = self.manager.result(key, handle)
        return key, handle, result
