"""Serving a search from an identical search's live result instead of running it again.

A search's result is offered for reuse under its :class:`~logpager.sessions.query_key.ReuseKey`
(:meth:`ResultReuse.cache_search_result`). A later search with an equal key (same canonical
query, time bounds, archives a new search would cover now, cap and page size) gets a new
handle in its own session to the same :class:`~logpager.cache.QueryResult` object
(:meth:`ResultReuse.reuse_result`): no engine run, no new bytes. The result is held once and
counted once (:meth:`~logpager.sessions.eviction.EvictionHooks.total_bytes`); evicting it
drops it from every session that holds it, each handle leaving its tombstone. It keeps the
time it was built, so all its handles expire together after ``query_ttl_minutes``.

Only a result of the same principal is reused (with auth off, every session's principal is
None): a result never crosses principals. Comparing the archives with what a new search
would cover means a result from before an ingest is not reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from logpager.cache import PageDict, QueryResult
from logpager.clock import Clock
from logpager.errors import InstructionsRequiredError
from logpager.sessions.query_key import ReuseKey
from logpager.sessions.state import HandleNote

if TYPE_CHECKING:
    from logpager.sessions.manager import SessionManager
    from logpager.sessions.registry import SessionRegistry
    from logpager.settings import Settings

__all__ = ["ResultReuse"]


class ResultReuse:
    """
    The session manager's methods that file a search's result for reuse and serve later
    identical searches from it. Each takes the manager's lock.
    """

    _lock: threading.RLock
    _registry: SessionRegistry
    _clock: Clock
    settings: Settings
    require_instructions: bool
    on_cached: list[Callable[[SessionManager], None]]

    def search_key(self, result: QueryResult, *, ignore_case: bool) -> ReuseKey:
        """
        :param result: A result a search built (its spec pinned to the archives searched).
        :param ignore_case: Whether the engine matched values case-insensitively.
        :return: The key under which it serves identical searches.
        """
        return ReuseKey.of(
            result.spec,
            result.archive_ids,
            ignore_case=ignore_case,
            max_results=self.settings.max_cached_results,
            page_size=self.settings.page_size,
        )

    def cache_search_result(
        self, session_id: str, result: QueryResult, key: ReuseKey
    ) -> PageDict:
        """
        Files a search's result as the session's newest, offered for reuse under ``key``,
        and serves its first page.

        :param session_id: The session's identifier (created if new).
        :param result: The result the search built.
        :param key: Its reuse key (:meth:`search_key`).
        :return: The first page, or ``{"Error": ...}`` if the instructions rule refuses.
        """
        with self._lock:
            now = self._clock()
            session = self._registry.get_or_create(session_id, now)
            if self.require_instructions and not session.is_instructions_retrieved:
                return {"Error": str(InstructionsRequiredError())}
            note = HandleNote(issued_at=now, key=key)
            handle = self._registry.add_new(session, result, note)
            page = session.serve(handle, 0)
        for callback in self.on_cached:
            callback(self)  # type: ignore[arg-type]  # self is the SessionManager
        return page

    def reuse_result(
        self, session_id: str, key: ReuseKey, *, principal: str | None
    ) -> PageDict | None:
        """
        Serves a search from a live result with the same key, if there is one the caller's
        principal owns: a new handle to it in the caller's session, and its first page.

        :param session_id: The caller's session (created if new, for ``principal``).
        :param key: The search's key, its archives those a new search would cover now.
        :param principal: The caller's authenticated principal (None: auth is off).
        :return: The first page with ``"reused": true``; None (a miss, counted) if no live
            result matches, or if the instructions rule refuses (the search then answers).
        """
        with self._lock:
            now = self._clock()
            registry = self._registry
            found = self._find(key, principal, now)
            if found is None:
                registry.metrics.reuse_misses += 1
                return None
            session = registry.get_or_create(session_id, now, principal)
            if self.require_instructions and not session.is_instructions_retrieved:
                return None
            handle = registry.add_new(session, found, HandleNote(now, reused=True, key=key))
            page = session.serve(handle, 0)
            registry.metrics.reuse_hits += 1
        page["reused"] = True
        return page

    def _find(self, key: ReuseKey, principal: str | None, now: float) -> QueryResult | None:
        """:return: The newest live result filed under ``key`` for ``principal``, if any."""
        if not key.archive_ids:
            return None
        registry = self._registry
        best: QueryResult | None = None
        for session in registry.sessions.values():
            if session.principal != principal or session.is_expired(now, registry.session_ttl):
                continue
            for handle, result in session.results.items():
                note = session.notes.get(handle)
                if (
                    note is not None
                    and note.key == key
                    and now - result.created_at <= registry.query_ttl
                    and (best is None or result.created_at > best.created_at)
                ):
                    best = result
        return best
