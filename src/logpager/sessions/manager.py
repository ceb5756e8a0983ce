"""The session manager: the public API over sessions, their results, and their expiry.

A session is what one agent (one MCP connection, or one handle on stateless connections)
works in. It keeps several live results, each named by an unguessable handle; the newest is
the default for paging. Results expire after ``query_ttl_minutes``, sessions after
``session_ttl_minutes`` without use; a background task sweeps expired sessions. Memory
pressure is another matter, handled by :mod:`logpager.memory.governor` through the eviction hooks
here (:meth:`SessionManager.iter_results_lru`, :meth:`SessionManager.evict_result`).

Everything the sessions hold changes under the manager's one lock; building a result and
re-running an evicted one take as long as a search, so both run unlocked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from logpager.cache import PageDict, QueryResult
from logpager.clock import Clock
from logpager.errors import InstructionsRequiredError, PageError, StoreUnavailableError
from logpager.periodic import PeriodicTask
from logpager.sessions.eviction import EvictionHooks
from logpager.sessions.held_page import HeldPages
from logpager.sessions.history import ResultHistory
from logpager.sessions.intake import Results, build_result
from logpager.sessions.principals import PrincipalAccess
from logpager.sessions.registry import SessionRegistry
from logpager.sessions.reuse import ResultReuse
from logpager.sessions.revival import Rerunner
from logpager.sessions.state import SessionState
from logpager.sessions.store_link import StoreLink
from logpager.sessions.use import ResultUse
from logpager.settings import Settings
from logpager.store import SessionStore, open_store

__all__ = ["SessionManager"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class SessionManager(
    EvictionHooks, PrincipalAccess, ResultReuse, ResultHistory, ResultUse, HeldPages
):
    """
    All sessions of one server process.

    :param page_size: Items per page (seed default 10).
    :param max_cached_results: Results kept per query (seed default 1,000).
    :param session_ttl_minutes: Idle lifetime of a session.
    :param query_ttl_minutes: Lifetime of one cached result.
    :param settings: Full settings; the four values above override it when given.
    :param clock: Monotonic clock in seconds (tests pass a fake one).
    :param rerun: Rebuilds evicted results; without it, paging an evicted result errs.
    :param store: Where sessions and results are shared with other processes (default: the
        ``store_url`` setting's store; none when it is unset).
    """

    def __init__(
        self,
        page_size: int | None = None,
        max_cached_results: int | None = None,
        session_ttl_minutes: float | None = None,
        query_ttl_minutes: float | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock = time.monotonic,
        rerun: Rerunner | None = None,
        store: SessionStore | None = None,
    ) -> None:
        base = settings if settings is not None else Settings()
        overrides = {
            k: v
            for k, v in {
                "page_size": page_size,
                "max_cached_results": max_cached_results,
                "session_ttl_minutes": session_ttl_minutes,
                "query_ttl_minutes": query_ttl_minutes,
            }.items()
            if v is not None
        }
        self.settings = base.model_copy(update=overrides) if overrides else base
        # model_copy skips validation; re-validate so SessionManager(page_size=0) fails clearly.
        self.settings = Settings.model_validate(self.settings.model_dump())
        if store is None and self.settings.store_url is not None:
            store = open_store(
                self.settings.store_url, timeout_seconds=self.settings.store_timeout_seconds
            )
        self.store = store
        link = StoreLink(store, self.settings, clock) if store is not None else None
        self._registry = SessionRegistry(self.settings, link)
        self.sessions: dict[str, SessionState] = self._registry.sessions
        self.metrics = self._registry.metrics
        self.rerun = rerun
        self.require_instructions = self.settings.require_instructions
        """Whether caching and paging check this manager's own per-session instructions flag
        (the seed's rule); a server that applies its own rule to its callers turns it off."""
        self._clock = clock
        self._lock = threading.RLock()
        self._sweeper = PeriodicTask(
            "logpager-sweep", self._sweep, lambda: self.settings.sweep_interval_seconds
        )
        self.on_cached: list[Callable[[SessionManager], None]] = []
        """Callbacks run after each new result (the governor hooks in here)."""
        self.on_paged: Callable[[], None] | None = None
        """Run after each page served, outside the lock (the governor's rate-limited check)."""

    # --- settings shortcuts --------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        """:return: Default items per page."""
        return self.settings.page_size

    @property
    def max_cached_results(self) -> int:
        """:return: Results kept per query."""
        return self.settings.max_cached_results

    def now(self) -> float:
        """:return: The manager's clock reading."""
        return self._clock()

    # --- sessions --------------------------------------------------------------------------------

    def get_or_create_session(
        self, session_id: str, *, principal: str | None = None
    ) -> SessionState:
        """
        Gets a live session or starts a new one (replacing an expired one).

        :param session_id: The session's identifier.
        :param principal: The authenticated principal a new session belongs to (None: auth
            is off); it owns the session's handles.
        :return: The session, marked as used now.
        """
        with self._lock:
            return self._registry.get_or_create(session_id, self._clock(), principal)

    def mark_instructions_retrieved(
        self, session_id: str, *, principal: str | None = None
    ) -> SessionState:
        """
        Records that ``get_instructions()`` was called in this session (and by its principal).

        :param session_id: The session's identifier.
        :param principal: The authenticated caller, if any: remembered on all its connections.
        :return: The session.
        """
        with self._lock:
            session = self.get_or_create_session(session_id, principal=principal)
            session.is_instructions_retrieved = True
            if principal is not None:
                self._registry.principals.mark_instructed(principal)
            if self._registry.link is not None:
                self._registry.link.note_instructed(session, principal)
            return session

    def note_tool_call(self, session_id: str, *, principal: str | None = None) -> SessionState:
        """
        Counts a tool call in a session (for rules that treat a connection's first call apart).

        :param session_id: The session's identifier.
        :param principal: The principal a new session belongs to.
        :return: The session, its ``tool_calls`` counting this call.
        """
        with self._lock:
            session = self.get_or_create_session(session_id, principal=principal)
            session.tool_calls += 1
            return session

    def session_for_handle(self, handle: str, *, principal: str | None = None) -> str | None:
        """
        Finds the session a caller may reach through a handle (compared in constant time).

        :param handle: A result handle, as the caller gave it.
        :param principal: The caller's authenticated principal (None: auth is off, when every
            session is unowned and a handle is a bearer capability).
        :return: The id of the session that owns the handle, or None if no live session does
            or it belongs to another principal (the two are not told apart).
        """
        with self._lock:
            owner = self._registry.handles.owner(handle)
            if owner is None:
                owner = self._registry.adopt(handle, self._clock())
            if owner is None or self.sessions[owner].principal != principal:
                return None
            return owner

    def cleanup_expired_sessions(self) -> int:
        """
        Drops expired sessions and expired results of live sessions.

        :return: The number of sessions removed.
        """
        with self._lock:
            expired = self._registry.sweep(self._clock())
            if expired:
                logger.info("swept %d expired session(s)", expired)
            return expired

    async def start(self) -> None:
        """Starts the background sweep (idempotent); call from the server's event loop."""
        await self._sweeper.start()

    async def stop(self) -> None:
        """Stops the background sweep."""
        await self._sweeper.stop()

    async def _sweep(self) -> None:
        # In a worker thread: the sweep waits for the lock (a search filing its result holds
        # it for 15-26 ms with Redis) and tells the store of each expired result, and the
        # event loop never waits (pages are answered there, see server/page_on_loop.py).
        await asyncio.to_thread(self.cleanup_expired_sessions)

    # --- caching and paging ------------------------------------------------------------------

    def cache_query_result(
        self,
        session_id: str,
        query: str,
        results: Results,
        page_size: int | None = None,
        *,
        begin_ms: int | None = None,
        end_ms: int | None = None,
        total_matches: int | None = None,
        archive_ids: Sequence[str] = (),
    ) -> tuple[PageDict, int]:
        """
        Caches a query's results as the session's newest result and serves its first page.

        :param session_id: The session's identifier.
        :param query: The query text (kept for re-runs and reports).
        :param results: A built :class:`QueryResult`, formatted strings, event dicts, or
            record batches with :data:`~logpager.schema.RESULT_SCHEMA`.
        :param page_size: Items per page for this result (default: the setting).
        :param begin_ms: Lower time bound of the search, if any.
        :param end_ms: Upper time bound of the search, if any.
        :param total_matches: All matches the engine counted (when more than given).
        :param archive_ids: The archives searched, for re-runs on the same data.
        :return: ``(first_page, total_pages)``; on refusal (instructions first, or a session
            store that does not answer) ``({"Error": ...}, 0)``.
        :raise TypeError: If ``results`` mixes strings and dicts.
        """
        with self._lock:
            session = self.get_or_create_session(session_id)
            if self.require_instructions and not session.is_instructions_retrieved:
                return {"Error": str(InstructionsRequiredError())}, 0
        result = build_result(
            results,
            query,
            page_size=page_size,
            begin_ms=begin_ms,
            end_ms=end_ms,
            total_matches=total_matches,
            archive_ids=archive_ids,
            settings=self.settings,
            clock=self._clock,
        )
        with self._lock:
            # The build ran unlocked (it can take a while); the session may be gone since.
            session = self.get_or_create_session(session_id)
            try:
                handle = self._registry.add_new(session, result)
            except StoreUnavailableError as exc:
                return {"Error": str(exc)}, 0
            page = session.serve(handle, 0)
        self._notify_cached()
        return page, result.num_pages

    def get_nth_page(
        self, session_id: str, page_index: object, handle: str | None = None
    ) -> PageDict:
        """
        Serves a page of one of the session's results.

        :param session_id: The session's identifier.
        :param page_index: 0-based page index (a strict non-negative int).
        :param handle: Which result (default: the session's newest).
        :return: The page dict (with ``result_handle``), or ``{"Error": message}`` using the
            seed's texts: session not found or expired, results expired, invalid page index,
            instructions first.
        """
        try:
            return self.page(session_id, page_index, handle)
        except PageError as exc:
            return {"Error": str(exc)}

    def page(self, session_id: str, page_index: object, handle: str | None = None) -> PageDict:
        """
        Like :meth:`get_nth_page` but raises instead of returning an error dict.

        :param session_id: The session's identifier.
        :param page_index: 0-based page index.
        :param handle: Which result (default: the newest).
        :return: The page dict.
        :raise PageError: Any of its subclasses, whose text is the agent-facing message.
        """
        return self._use(session_id, handle, lambda s, h: s.serve(h, page_index))

    def result(self, session_id: str, handle: str | None = None) -> tuple[str, QueryResult]:
        """
        Hands out one of the session's results for analysis, with the same checks as paging
        (an evicted result is re-run).

        :param session_id: The session's identifier.
        :param handle: Which result (default: the newest).
        :return: The result's handle and the result, marked as used now.
        :raise PageError: Any of its subclasses, whose text is the agent-facing message.
        """
        return self._use(session_id, handle, lambda s, h: (h, s.use(h)))

    def _notify_cached(self) -> None:
        for callback in self.on_cached:
            callback(self)

    def check(self) -> None:
        """
        Verifies the manager's internal accounting.

        :raise AssertionError: If handles, sessions, results, tombstones or the expired ids
            disagree, or a session holds more than its bounds.
        """
        with self._lock:
            self._registry.check()
