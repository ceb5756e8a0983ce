"""Sessions, their cached results, and the rules that expire them.

A session is what one agent (one MCP connection, or one handle on stateless connections)
works in. It keeps several live results, each named by an unguessable handle; the newest is
the default for paging. Results expire after ``query_ttl_minutes``, sessions after
``session_ttl_minutes`` without use; a background task sweeps expired sessions. Memory
pressure is another matter, handled by :mod:`logpager.memory.governor` through the eviction hooks
here (:meth:`SessionManager.iter_results_lru`, :meth:`SessionManager.evict_result`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
from logpager.sessions.handles import new_handle
from logpager.sessions.metrics import SessionMetrics
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings

__all__ = ["Rerunner", "Results", "SessionManager", "SessionState"]

logger = logging.getLogger(__name__)

Results = QueryResult | Sequence[str] | Sequence[dict[str, Any]] | Iterable[pa.RecordBatch]
"""What :meth:`SessionManager.cache_query_result` accepts."""

Rerunner = Callable[[QuerySpec], QueryResult]
"""Rebuilds a dropped result from its tombstone's spec (same query, same archives, same
cap); see :func:`logpager.search.rerun.make_rerunner`."""


@dataclass
class SessionState:
    """
    One session: its results (newest last), its tombstones, and when it was last used.

    Mutated only through :class:`SessionManager`, under its lock.
    """

    session_id: str
    created_at: float
    last_accessed: float
    is_instructions_retrieved: bool = False
    results: OrderedDict[str, QueryResult] = field(default_factory=OrderedDict)
    tombstones: OrderedDict[str, Tombstone] = field(default_factory=OrderedDict)
    latest_handle: str | None = None

    def is_expired(self, now: float, ttl_seconds: float) -> bool:
        """
        :param now: Current clock reading.
        :param ttl_seconds: Idle time allowed.
        :return: Whether the session has been idle longer than ``ttl_seconds``.
        """
        return now - self.last_accessed > ttl_seconds

    @property
    def compressed_bytes(self) -> int:
        """:return: Compressed bytes of all live results."""
        return sum(r.compressed_bytes for r in self.results.values())

    @property
    def nbytes(self) -> int:
        """:return: Bytes of all live results, decoded chunks included."""
        return sum(r.nbytes for r in self.results.values())


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
        self.sessions: dict[str, SessionState] = {}
        self.metrics = SessionMetrics()
        self.rerun = rerun
        self._clock = clock
        self._lock = threading.RLock()
        self._handles: dict[str, str] = {}
        self._expired_ids: OrderedDict[str, None] = OrderedDict()
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

    @property
    def _session_ttl(self) -> float:
        return self.settings.session_ttl_minutes * 60.0

    @property
    def _query_ttl(self) -> float:
        return self.settings.query_ttl_minutes * 60.0

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
            now = self._clock()
            session = self.sessions.get(session_id)
            if session is not None and session.is_expired(now, self._session_ttl):
                self._expire_session(session_id)
                session = None
            if session is None:
                session = SessionState(session_id=session_id, created_at=now, last_accessed=now)
                self.sessions[session_id] = session
                self._expired_ids.pop(session_id, None)
                self.metrics.sessions_created += 1
            session.last_accessed = now
            return session

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
            return self._handles.get(handle)

    def cleanup_expired_sessions(self) -> int:
        """
        Drops expired sessions and expired results of live sessions.

        :return: The number of sessions removed.
        """
        with self._lock:
            now = self._clock()
            expired = [
                sid for sid, s in self.sessions.items() if s.is_expired(now, self._session_ttl)
            ]
            for sid in expired:
                self._expire_session(sid)
            for session in self.sessions.values():
                for handle in [
                    h for h, r in session.results.items() if now - r.created_at > self._query_ttl
                ]:
                    self._drop_result(session, handle, TombstoneReason.EXPIRED)
            if expired:
                logger.info("swept %d expired session(s)", len(expired))
            return len(expired)

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
            handle = self._add_result(session, result)
            page = self._serve(session, handle, result, 0)
        for callback in self.on_cached:
            callback(self)
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

    def _add_result(self, session: SessionState, result: QueryResult) -> str:
        handle = new_handle()
        session.results[handle] = result
        session.latest_handle = handle
        self._handles[handle] = session.session_id
        self.metrics.results_cached += 1
        while len(session.results) > self.settings.max_results_per_session:
            oldest = next(iter(session.results))
            self._drop_result(session, oldest, TombstoneReason.REPLACED)
        return handle

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
            session = self._live_session(session_id)
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
            elif self._clock() - result.created_at > self._query_ttl:
                self._drop_result(session, handle, TombstoneReason.EXPIRED)
                raise ResultExpiredError
            else:
                page = self._serve(session, handle, result, page_index)
        if tombstone is not None:
            # The re-run takes as long as a search: other sessions must not wait for it.
            page = self._revive(session, tombstone, page_index)
        if self.on_paged is not None:
            self.on_paged()
        return page

    def _serve(
        self, session: SessionState, handle: str, result: QueryResult, page_index: object
    ) -> PageDict:
        page = result.get_page(page_index)
        page["result_handle"] = handle
        # Keep the session's results in recency order: the governor evicts from the front.
        session.results.move_to_end(handle)
        return page

    def _live_session(self, session_id: str) -> SessionState:
        session = self.sessions.get(session_id)
        now = self._clock()
        if session is None:
            if session_id in self._expired_ids:
                raise SessionExpiredError
            raise SessionNotFoundError
        if session.is_expired(now, self._session_ttl):
            self._expire_session(session_id)
            raise SessionExpiredError
        session.last_accessed = now
        return session

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
            live = session.results.get(handle)
            if live is not None:
                # Another caller revived it meanwhile; serve theirs, drop this copy.
                return self._serve(session, handle, live, page_index)
            if self.sessions.get(session.session_id) is not session:
                # The session expired or was evicted while the query ran.
                raise SessionExpiredError
            session.tombstones.pop(handle, None)
            session.results[handle] = result
            self._handles[handle] = session.session_id
            self.metrics.reruns += 1
            while len(session.results) > self.settings.max_results_per_session:
                oldest = next(iter(session.results))
                self._drop_result(session, oldest, TombstoneReason.REPLACED)
            page = self._serve(session, handle, result, page_index)
        logger.info(
            "re-ran evicted query %r: %d items in %.3f s",
            tombstone.query,
            result.num_items,
            self._clock() - started,
        )
        for callback in self.on_cached:
            callback(self)
        return page

    # --- eviction hooks (used by the governor) -----------------------------------------------

    def iter_results_lru(self) -> Iterator[tuple[SessionState, str, QueryResult]]:
        """
        :return: Every live result, least recently used first, with its session and handle.
            A snapshot: evicting while iterating is safe.
        """
        with self._lock:
            entries = [
                (r.last_accessed, s, h, r)
                for s in self.sessions.values()
                for h, r in s.results.items()
            ]
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
            if handle not in session.results:
                return 0
            freed = self._drop_result(session, handle, TombstoneReason.EVICTED)
            self.metrics.results_evicted += 1
            self.metrics.bytes_freed += freed
            return freed

    def drop_decoded(self) -> int:
        """
        Empties every result's decoded-chunk LRU.

        :return: Bytes released.
        """
        with self._lock:
            return sum(r.drop_decoded() for s in self.sessions.values() for r in s.results.values())

    def total_bytes(self) -> int:
        """:return: Bytes held by all results (compressed chunks plus decoded chunks)."""
        with self._lock:
            return sum(s.nbytes for s in self.sessions.values())

    def total_items(self) -> int:
        """:return: Items held by all live results."""
        with self._lock:
            return sum(r.num_items for s in self.sessions.values() for r in s.results.values())

    def _drop_result(self, session: SessionState, handle: str, reason: TombstoneReason) -> int:
        result = session.results.pop(handle)
        if reason is TombstoneReason.EXPIRED:
            self.metrics.results_expired += 1
        # Every dropped result leaves a tombstone, so its handle keeps answering with the
        # right message (expired, replaced, or re-run after eviction) instead of "unknown".
        session.tombstones[handle] = Tombstone(
            handle=handle,
            spec=result.spec.with_cap(max(result.num_items, 1)),
            created_at=result.created_at,
            reason=reason,
        )
        excess = len(session.tombstones) - self.settings.max_tombstones_per_session
        if excess > 0:
            # The newest result's tombstone stays: default paging must keep its message.
            victims = [h for h in session.tombstones if h != session.latest_handle][:excess]
            for old in victims:
                del session.tombstones[old]
                self._handles.pop(old, None)
        return result.nbytes

    def _expire_session(self, session_id: str) -> None:
        session = self.sessions.pop(session_id)
        for handle in [*session.results, *session.tombstones]:
            self._handles.pop(handle, None)
        self.metrics.sessions_expired += 1
        self._expired_ids[session_id] = None
        # Session ids seen to expire are remembered (bounded) so that a late caller is told
        # "expired" rather than "not found".
        while len(self._expired_ids) > self.settings.expired_session_ids_remembered:
            self._expired_ids.popitem(last=False)

    def check(self) -> None:
        """
        Verifies the manager's internal accounting.

        :raise AssertionError: If handles, sessions or results disagree.
        """
        with self._lock:
            owned: dict[str, str] = {}
            for sid, session in self.sessions.items():
                if session.session_id != sid:
                    msg = f"session {sid} stored under another id {session.session_id}"
                    raise AssertionError(msg)
                for handle in [*session.results, *session.tombstones]:
                    owned[handle] = sid
                for result in session.results.values():
                    result.check()
                if len(session.results) > self.settings.max_results_per_session:
                    msg = f"session {sid} holds {len(session.results)} results"
                    raise AssertionError(msg)
            if owned != self._handles:
                msg = "handle index disagrees with the sessions' results"
                raise AssertionError(msg)
