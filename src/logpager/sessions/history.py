"""A caller's query history: its live results and those recently dropped, newest first.

An agent that lost a handle finds it again here: every live result of the sessions it may
reach (query, time range, handle, items, matches, age, whether it was reused), and every
handle that still answers with a tombstone, with why its result went (expired, replaced,
evicted: paging an evicted one re-runs it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from logpager.clock import Clock
from logpager.query import QuerySpec
from logpager.sessions.tombstones import TombstoneReason
from logpager.timeutil import format_epoch_ms

if TYPE_CHECKING:
    from logpager.sessions.registry import SessionRegistry
    from logpager.sessions.state import SessionState

__all__ = ["ResultHistory"]

_WHAT_NEXT = {
    TombstoneReason.EVICTED: "paging it re-runs the query",
    TombstoneReason.EXPIRED: "run the search again",
    TombstoneReason.REPLACED: "run the search again",
}


class ResultHistory:
    """The session manager's listing of results, live and dropped. Takes the manager's lock."""

    _lock: threading.RLock
    _registry: SessionRegistry
    _clock: Clock

    def session_ids_of(self, principal: str) -> list[str]:
        """
        :param principal: An authenticated principal.
        :return: The ids of its live sessions (on all its connections).
        """
        with self._lock:
            now = self._clock()
            ttl = self._registry.session_ttl
            return [
                sid
                for sid, s in self._registry.sessions.items()
                if s.principal == principal and not s.is_expired(now, ttl)
            ]

    def list_results(self, session_ids: Iterable[str], limit: int) -> dict[str, Any]:
        """
        Lists the results of some sessions, newest first (by when each handle was issued).

        :param session_ids: The sessions to list (unknown or expired ones are skipped; the
            caller has checked that it may reach them).
        :param limit: Most entries of each list.
        :return: ``{"results": [...], "dropped": [...], "num_results", "num_dropped"}``; a
            live result past its lifetime is listed as dropped (``expired``).
        """
        with self._lock:
            now = self._clock()
            registry = self._registry
            live: list[tuple[float, dict[str, Any]]] = []
            dropped: list[tuple[float, dict[str, Any]]] = []
            for sid in dict.fromkeys(session_ids):
                session = registry.sessions.get(sid)
                if session is None or session.is_expired(now, registry.session_ttl):
                    continue
                _collect(session, now, registry.query_ttl, live, dropped)
        live.sort(key=lambda e: e[0], reverse=True)
        dropped.sort(key=lambda e: e[0], reverse=True)
        return {
            "results": [entry for _, entry in live[:limit]],
            "dropped": [entry for _, entry in dropped[:limit]],
            "num_results": len(live),
            "num_dropped": len(dropped),
        }


def _collect(
    session: SessionState,
    now: float,
    query_ttl: float,
    live: list[tuple[float, dict[str, Any]]],
    dropped: list[tuple[float, dict[str, Any]]],
) -> None:
    """Appends ``(issued_at, entry)`` for each handle of ``session`` that answers."""
    for handle, result in session.results.items():
        note = session.notes.get(handle)
        issued = note.issued_at if note is not None else result.created_at
        reused = note is not None and note.reused
        entry = _entry(handle, result.spec, now - result.created_at, reused)
        if now - result.created_at > query_ttl:
            # Past its lifetime: dropped the next time it is used or swept.
            dropped.append((issued, entry | _why(TombstoneReason.EXPIRED)))
            continue
        entry |= {
            "num_items": result.num_items,
            "num_total_matches": result.num_total_matches,
            "truncated": result.truncated,
        }
        live.append((issued, entry))
    for handle, tombstone in session.tombstones.items():
        note = session.notes.get(handle)
        issued = note.issued_at if note is not None else tombstone.created_at
        reused = note is not None and note.reused
        entry = _entry(handle, tombstone.spec, now - tombstone.created_at, reused)
        dropped.append((issued, entry | _why(tombstone.reason)))


def _why(reason: TombstoneReason) -> dict[str, Any]:
    return {"reason": reason.value, "next": _WHAT_NEXT[reason]}


def _entry(handle: str, spec: QuerySpec, age: float, reused: bool) -> dict[str, Any]:
    return {
        "result_handle": handle,
        "query": spec.query,
        "begin_timestamp": format_epoch_ms(spec.begin_ms) if spec.begin_ms is not None else None,
        "end_timestamp": format_epoch_ms(spec.end_ms) if spec.end_ms is not None else None,
        "age_seconds": round(max(age, 0.0), 3),
        "reused": reused,
    }
