"""The table of live sessions, and the accounting kept in step with it.

The sessions, the index of which session owns each handle, the ids of sessions seen to expire,
and the counters change together: every change that touches more than one of them is a
method here, and :meth:`SessionRegistry.check` verifies that they agree.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from logpager.cache import QueryResult
from logpager.errors import SessionExpiredError, SessionNotFoundError
from logpager.sessions.handles import HandleIndex, new_handle
from logpager.sessions.metrics import SessionMetrics
from logpager.sessions.principals import PrincipalIndex
from logpager.sessions.state import HandleNote, SessionState
from logpager.sessions.store_link import StoreLink
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings

__all__ = ["SessionRegistry"]


class SessionRegistry:
    """
    Every live session of a :class:`~logpager.sessions.SessionManager`, with its handle index,
    the ids of sessions seen to expire, and the counters.

    Not locked itself: the manager calls it under its lock only.

    :param settings: The per-session bounds and the number of expired ids remembered.
    :param link: The session store every change is written to (None: this process only).
    """

    def __init__(self, settings: Settings, link: StoreLink | None = None) -> None:
        self.settings = settings
        self.link = link
        self.sessions: dict[str, SessionState] = {}
        self.metrics = SessionMetrics()
        self.handles = HandleIndex()
        self.principals = PrincipalIndex()
        self._expired_ids: OrderedDict[str, None] = OrderedDict()

    @property
    def session_ttl(self) -> float:
        """:return: Idle time a session is allowed, in seconds."""
        return self.settings.session_ttl_seconds

    @property
    def query_ttl(self) -> float:
        """:return: Lifetime of one result, in seconds."""
        return self.settings.query_ttl_seconds

    def get_or_create(
        self, session_id: str, now: float, principal: str | None = None
    ) -> SessionState:
        """
        Gets a live session or starts a new one (replacing an expired one).

        :param session_id: The session's identifier.
        :param now: Current clock reading.
        :param principal: The principal a new session belongs to (None: auth is off).
        :return: The session, marked as used now.
        """
        session = self.sessions.get(session_id)
        if session is not None and session.is_expired(now, self.session_ttl):
            self._expire(session_id)
            session = None
        if session is None:
            session = SessionState(
                session_id=session_id, created_at=now, last_accessed=now, principal=principal
            )
            self.sessions[session_id] = session
            self._expired_ids.pop(session_id, None)
            self.metrics.sessions_created += 1
        session.last_accessed = now
        return session

    def live(self, session_id: str, now: float) -> SessionState:
        """
        :param session_id: The session's identifier.
        :param now: Current clock reading.
        :return: The live session, marked as used now.
        :raise SessionExpiredError: If the session expired (it is dropped if it was still held).
        :raise SessionNotFoundError: If no session under this id is live or remembered.
        """
        session = self.sessions.get(session_id)
        if session is None:
            if session_id in self._expired_ids:
                raise SessionExpiredError
            raise SessionNotFoundError
        if session.is_expired(now, self.session_ttl):
            self._expire(session_id)
            raise SessionExpiredError
        session.last_accessed = now
        return session

    def sweep(self, now: float) -> int:
        """
        Drops expired sessions and expired results of live sessions.

        :param now: Current clock reading.
        :return: The number of sessions removed.
        """
        expired = [sid for sid, s in self.sessions.items() if s.is_expired(now, self.session_ttl)]
        for sid in expired:
            self._expire(sid)
        for session in self.sessions.values():
            for handle in session.expired_handles(now, self.query_ttl):
                self.drop_result(session, handle, TombstoneReason.EXPIRED)
        return len(expired)

    def _expire(self, session_id: str) -> None:
        session = self.sessions.pop(session_id)
        self.handles.forget(session.handles)
        self.metrics.sessions_expired += 1
        # Session ids seen to expire are remembered (bounded) so that a late caller is told
        # "expired" rather than "not found".
        self._expired_ids[session_id] = None
        while len(self._expired_ids) > self.settings.expired_session_ids_remembered:
            self._expired_ids.popitem(last=False)

    def add_new(
        self, session: SessionState, result: QueryResult, note: HandleNote | None = None
    ) -> str:
        """
        Holds a new result as the session's newest, the default for paging.

        :param session: A live session.
        :param result: The result (a reused one may be held by other sessions too).
        :param note: How the handle is issued (default: now the result was built, not
            reused, not offered for reuse).
        :return: The result's new handle.
        """
        handle = new_handle()
        if self.link is not None:
            # Written first: if the store does not answer, nothing here has changed.
            self.link.publish(session, handle, result, latest=True)
        session.notes[handle] = note if note is not None else HandleNote(result.created_at)
        self._add(session, handle, result, latest=True)
        if session.principal is not None:
            self.principals.note_result(session.principal, handle)
        if not session.notes[handle].reused:
            self.metrics.results_cached += 1
        return handle

    def reinstate(self, session: SessionState, handle: str, result: QueryResult) -> None:
        """
        Holds a re-run result again under its old handle, in place of its tombstone.

        :param session: The live session that owned the handle.
        :param handle: The result's handle.
        :param result: The re-run result, or the result read back from the store.
        """
        if self.link is not None and result.store_key is None:
            self.link.publish(session, handle, result, latest=False)
        self._add(session, handle, result, latest=False)
        note = session.notes.get(handle)
        if note is not None:
            # A re-run result is pinned and capped at what the first one held: not offered
            # to new searches, whose cap it may not match.
            note.key = None
        self.metrics.reruns += 1

    def _add(
        self, session: SessionState, handle: str, result: QueryResult, *, latest: bool
    ) -> None:
        forgotten = session.add_result(
            handle,
            result,
            latest=latest,
            max_results=self.settings.max_results_per_session,
            max_tombstones=self.settings.max_tombstones_per_session,
        )
        self.handles.add(handle, session.session_id)
        self.handles.forget(forgotten)

    def drop_result(self, session: SessionState, handle: str, reason: TombstoneReason) -> int:
        """
        Drops a live result, leaving its tombstone.

        :param session: The owning session.
        :param handle: The handle of a live result.
        :param reason: Why it goes.
        :return: The bytes the result held.
        :raise KeyError: If ``handle`` is not a live result of ``session``.
        """
        freed, forgotten = session.drop_result(
            handle, reason, self.settings.max_tombstones_per_session
        )
        if self.link is not None and reason is TombstoneReason.EXPIRED:
            # An eviction is this process's own: the store still holds the result.
            self.link.forget(session, handle, reason)
        self.handles.forget(forgotten)
        if reason is TombstoneReason.EXPIRED:
            self.metrics.results_expired += 1
        return freed

    def adopt(self, handle: str, now: float) -> str | None:
        """
        Takes in a handle another process (or this one before a restart) issued: its session
        is made here if need be, and its result read from the store, or left as a tombstone.

        :param handle: A handle this process does not hold.
        :param now: Current clock reading.
        :return: The id of the session that owns it, or None if the store knows no such
            handle (or there is no store).
        :raise StoreUnavailableError: If the store does not answer.
        """
        if self.link is None:
            return None
        record = self.link.store.handle(handle)
        if record is None:
            return None
        session = self.sessions.get(record.session_id)
        if session is not None and session.principal != record.principal:
            return None
        if session is None:
            stored = self.link.store.session(record.session_id)
            session = self.get_or_create(record.session_id, now, record.principal)
            session.is_instructions_retrieved = stored is not None and stored.instructed
        result = self.link.restore(record)
        if result is None:
            tombstone: Tombstone = self.link.tombstone(handle, record)
            session.tombstones[handle] = tombstone
            session.latest_handle = session.latest_handle or handle
        else:
            self._add(session, handle, result, latest=session.latest_handle is None)
        self.handles.add(handle, session.session_id)
        return session.session_id

    def restore_evicted(self, session: SessionState, tombstone: Tombstone) -> bool:
        """
        Puts back a result this process evicted, or took in as a tombstone, when the store
        still holds it whole (no re-run needed).

        :param session: The session that owns the tombstone.
        :param tombstone: What remains of the result here.
        :return: Whether the result is held again.
        :raise StoreUnavailableError: If the store does not answer.
        """
        if self.link is None or tombstone.reason is not TombstoneReason.EVICTED:
            return False
        record = self.link.store.handle(tombstone.handle)
        if record is None or record.session_id != session.session_id:
            return False
        result = self.link.restore(record)
        if result is None:
            return False
        self._add(session, tombstone.handle, result, latest=False)
        return True

    def evict(self, session: SessionState, handle: str) -> int:
        """
        Drops a result under memory pressure, from every session that holds it, leaving a
        tombstone to re-run it from under each of its handles.

        :param session: A session that holds it.
        :param handle: The result's handle there.
        :return: Bytes freed (0 if it was already gone).
        """
        result = session.results.get(handle)
        if result is None:
            return 0
        # A result reused by other searches is one object held under several handles: it
        # goes from all of them (each leaves its tombstone), and its bytes are freed once.
        holders = [(s, h) for s, h, r in self.live_results() if r is result]
        for holder, held_as in holders:
            self.drop_result(holder, held_as, TombstoneReason.EVICTED)
        freed = result.nbytes
        self.metrics.results_evicted += 1
        self.metrics.bytes_freed += freed
        return freed

    def live_results(self) -> Iterator[tuple[SessionState, str, QueryResult]]:
        """:return: Every live result with its session and handle, session by session."""
        for session in self.sessions.values():
            for handle, result in session.results.items():
                yield session, handle, result

    def distinct_results(self) -> Iterator[tuple[SessionState, str, QueryResult]]:
        """
        :return: Every live result once (a reused result is held under several handles),
            with the first session and handle found holding it.
        """
        seen: set[int] = set()
        for session, handle, result in self.live_results():
            if id(result) not in seen:
                seen.add(id(result))
                yield session, handle, result

    def check(self) -> None:
        """
        Verifies that the sessions, their results, the handle index and the expired ids agree.

        :raise AssertionError: If they do not.
        """
        owned: dict[str, str] = {}
        for sid, session in self.sessions.items():
            if session.session_id != sid:
                msg = f"session {sid} stored under another id {session.session_id}"
                raise AssertionError(msg)
            owned.update(dict.fromkeys(session.handles, sid))
            session.check(
                self.settings.max_results_per_session, self.settings.max_tombstones_per_session
            )
            if sid in self._expired_ids:
                msg = f"session {sid} is live but remembered as expired"
                raise AssertionError(msg)
        self.handles.check(owned)
