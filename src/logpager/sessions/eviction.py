"""What the memory governor may do to sessions: see their results by recency, evict, count."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from logpager.cache import QueryResult
from logpager.sessions.registry import SessionRegistry
from logpager.sessions.state import SessionState

__all__ = ["EvictionHooks"]


class EvictionHooks:
    """
    The session manager's side of memory pressure (see :mod:`logpager.memory.governor`):
    every method takes the manager's lock, so the governor may call them from any thread.
    """

    _lock: threading.RLock
    _registry: SessionRegistry
    sessions: dict[str, SessionState]

    def iter_results_lru(self) -> Iterator[tuple[SessionState, str, QueryResult]]:
        """
        :return: Every live result, least recently used first, with its session and handle;
            a result reused by several searches comes once (evicting it drops it from all).
            A snapshot: evicting while iterating is safe.
        """
        with self._lock:
            entries = [
                (r.last_accessed, s, h, r) for s, h, r in self._registry.distinct_results()
            ]
        entries.sort(key=lambda e: e[0])
        return iter([(s, h, r) for _, s, h, r in entries])

    def evict_result(self, session: SessionState, handle: str) -> int:
        """
        Drops a result under memory pressure, from every session that holds it, leaving a
        tombstone to re-run it from under each of its handles.

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
            return sum(r.drop_decoded() for _, _, r in self._registry.distinct_results())

    def total_bytes(self) -> int:
        """
        :return: Bytes held by all results (compressed chunks plus decoded chunks); a result
            reused by several searches is counted once.
        """
        with self._lock:
            return sum(r.nbytes for _, _, r in self._registry.distinct_results())

    def total_items(self) -> int:
        """:return: Items held by all live results (a reused result counted once)."""
        with self._lock:
            return sum(r.num_items for _, _, r in self._registry.distinct_results())

