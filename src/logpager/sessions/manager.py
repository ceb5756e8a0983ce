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
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from logpager.cache import PageDict, QueryResult
from logpager.clock import Clock
from logpager.errors import (
    InstructionsRequiredError,
    LogpagerError,
    PageError,
    RerunFailedError,
    ResultEvictedError,
    ResultExpiredError,
    SessionExpiredError,
    SessionNotFoundError,
    UnknownHandleError,
)
from logpager.query import QuerySpec
from logpager.sessions.registry import SessionRegistry
from logpager.sessions.state import SessionState
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings

__all__ = ["Rerunner", "Results", "SessionManager"]

logger = logging.getLogger(__name__)

Results = QueryResult | Sequence[str] | Sequence[dict[str, Any]] | Iterable[pa.RecordBatch]
"""What :meth:`SessionManager.cache_query_result` accepts."""

Rerunner = Callable[[QuerySpec], QueryResult]
"""Rebuilds a dropped result from its tombstone's spec (same query, same archives, same
cap); see :func:`logpager.search.rerun.make_rerunner`."""


class SessionManager:
    """
    All sessions of one server process.

    :param page_size: Items per page (seed default 10).
    :param max_cached_results: Results kept per query (seed default 1,000).
    :param session_ttl_minutes: Idle lifetime of a session.
    :param query_ttl_minutes: Lifetime of one cached result.
    :param settings: Full settings; the four values above override it when given.
    :param clock: Monotonic clock in seconds (tests pass a fake one).
    :param rerun: Rebuilds evicted results; without it, paging an evicted result errs.
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
        self._registry = SessionRegistry(self.settings)
        self.sessions: dict[str, SessionState] = self._registry.sessions
        self.metrics = self._registry.metrics
        self.rerun = rerun
        self._clock = clock
        self._lock = threading.RLock()
        self._sweep_task: asyncio.Task[None] | None = None
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

    def get_or_create_session(self, session_id: str) -> SessionState:
        """
        Gets a live session or starts a new one (replacing an expired one).

        :param session_id: The session's identifier.
        :return: The session, marked as used now.
        """
        with self._lock:
            return self._registry.get_or_create(session_id, self._clock())

    def mark_instructions_retrieved(self, session_id: str) -> SessionState:
        """
        Records that ``get_instructions()`` was called in this session.

        :param session_id: The session's identifier.
        :return: The session.
        """
        with self._lock:
            session = self.get_or_create_session(session_id)
            session.is_instructions_retrieved = True
            return session

    def session_for_handle(self, handle: str) -> str | None:
        """
        :param handle: A result handle.
        :return: The id of the session that owns it, or None if no live session does.
        """
        with self._lock:
            return self._registry.handles.owner(handle)

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
        if self._sweep_task is None or self._sweep_task.done():
            self._sweep_task = asyncio.create_task(self._sweep_loop(), name="logpager-sweep")

    async def stop(self) -> None:
        """Stops the background sweep."""
        task, self._sweep_task = self._sweep_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval_seconds)
            try:
                self.cleanup_expired_sessions()
            except Exception:
                # A failed sweep must not end the loop; the next one tries again.
                logger.exception("session sweep failed")

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
        :return: ``(first_page, total_pages)``; on refusal ``({"Error": ...}, 0)``.
        :raise TypeError: If ``results`` mixes strings and dicts.
        """
        with self._lock:
            session = self.get_or_create_session(session_id)
            if self.settings.require_instructions and not session.is_instructions_retrieved:
                return {"Error": str(InstructionsRequiredError())}, 0
        result = self._build_result(
            query, results, page_size, begin_ms, end_ms, total_matches, archive_ids
        )
        with self._lock:
            # The build ran unlocked (it can take a while); the session may be gone since.
            session = self.get_or_create_session(session_id)
            handle = self._registry.add_new(session, result)
            page = session.serve(handle, 0)
        self._notify_cached()
        return page, result.num_pages

    def _build_result(
        self,
        query: str,
        results: Results,
        page_size: int | None,
        begin_ms: int | None,
        end_ms: int | None,
        total_matches: int | None,
        archive_ids: Sequence[str],
    ) -> QueryResult:
        if isinstance(results, QueryResult):
            return results
        spec = QuerySpec(
            query, begin_ms, end_ms, archive_ids=tuple(archive_ids), page_size=page_size
        )
        if isinstance(results, Sequence) and (not results or isinstance(results[0], str | dict)):
            return QueryResult.from_items(results, spec, settings=self.settings, clock=self._clock)
        return QueryResult.from_batches(
            results,
            spec,
            settings=self.settings,
            total_matches=total_matches,
            clock=self._clock,
        )

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
        with self._lock:
            session = self._registry.live(session_id, self._clock())
            if self.settings.require_instructions and not session.is_instructions_retrieved:
                raise InstructionsRequiredError
            handle = handle if handle is not None else session.latest_handle
            if handle is None:
                raise SessionNotFoundError
            result = session.results.get(handle)
            tombstone = None
            if result is None:
                tombstone = session.tombstones.get(handle)
                if tombstone is None:
                    raise UnknownHandleError
                self._check_revivable(tombstone)
            elif self._clock() - result.created_at > self._registry.query_ttl:
                self._registry.drop_result(session, handle, TombstoneReason.EXPIRED)
                raise ResultExpiredError
            else:
                page = session.serve(handle, page_index)
        if tombstone is not None:
            # The re-run takes as long as a search: other sessions must not wait for it.
            page = self._revive(session, tombstone, page_index)
        if self.on_paged is not None:
            self.on_paged()
        return page

    def _check_revivable(self, tombstone: Tombstone) -> None:
        if tombstone.reason is not TombstoneReason.EVICTED:
            raise ResultExpiredError
        if self.rerun is None or self.settings.evicted_result_policy == "error":
            raise ResultEvictedError(tombstone.query)

    def _revive(self, session: SessionState, tombstone: Tombstone, page_index: object) -> PageDict:
        """
        Re-runs an evicted result (unlocked), puts it back under its handle and serves a page.

        :raise RerunFailedError: If the re-run fails; the tombstone stays for another try.
        """
        assert self.rerun is not None
        handle = tombstone.handle
        started = self._clock()
        try:
            result = self.rerun(tombstone.spec)
        except LogpagerError as exc:
            raise RerunFailedError(tombstone.query, str(exc)) from exc
        with self._lock:
            if handle in session.results:
                # Another caller revived it meanwhile; serve theirs, drop this copy.
                return session.serve(handle, page_index)
            if self.sessions.get(session.session_id) is not session:
                # The session expired or was evicted while the query ran.
                raise SessionExpiredError
            self._registry.reinstate(session, handle, result)
            page = session.serve(handle, page_index)
        logger.info(
            "re-ran evicted query %r: %d items in %.3f s",
            tombstone.query,
            result.num_items,
            self._clock() - started,
        )
        self._notify_cached()
        return page

    def _notify_cached(self) -> None:
        for callback in self.on_cached:
            callback(self)

    # --- eviction hooks (used by the governor) -----------------------------------------------

    def iter_results_lru(self) -> Iterator[tuple[SessionState, str, QueryResult]]:
        """
        :return: Every live result, least recently used first, with its session and handle.
            A snapshot: evicting while iterating is safe.
        """
        with self._lock:
            entries = [(r.last_accessed, s, h, r) for s, h, r in self._registry.live_results()]
        entries.sort(key=lambda e: e[0])
        return iter([(s, h, r) for _, s, h, r in entries])

    def evict_result(self, session: SessionState, handle: str) -> int:
        """
        Drops a result under memory pressure, leaving a tombstone to re-run it from.

        :param session: The owning session.
        :param handle: The result's handle.
        :return: Bytes freed (0 if it was already gone).
        """
        with self._lock:
            return self._registry.evict(session, handle)

    def drop_decoded(self) -> int:
        """
        Empties every result's decoded-chunk LRU.

        :return: Bytes released.
        """
        with self._lock:
            return sum(r.drop_decoded() for _, _, r in self._registry.live_results())

    def total_bytes(self) -> int:
        """:return: Bytes held by all results (compressed chunks plus decoded chunks)."""
        with self._lock:
            return sum(s.nbytes for s in self.sessions.values())

    def total_items(self) -> int:
        """:return: Items held by all live results."""
        with self._lock:
            return sum(r.num_items for _, _, r in self._registry.live_results())

    def check(self) -> None:
        """
        Verifies the manager's internal accounting.

        :raise AssertionError: If handles, sessions, results, tombstones or the expired ids
            disagree, or a session holds more than its bounds.
        """
        with self._lock:
            self._registry.check()
