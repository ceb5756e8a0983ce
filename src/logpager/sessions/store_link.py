"""A session manager's link to a session store: what it writes there, and what it reads back.

The manager's own registry stays the working set (the sessions, handles and results this
process has touched); the store is what every process shares. A new result is written
through (chunks, then its meta record, then its handle, session and principal records) and
from then on its chunks are read from the store, so this process keeps only the result's
small LRU of decoded chunks. A handle this process does not know is looked up in the store
and adopted: its session is made here, its result read from the store, or left as a
tombstone when the store no longer has it.
"""

from __future__ import annotations

import logging
import time

from logpager.cache import QueryResult
from logpager.cache.stored import encode_meta, held_chunks, keep_chunks_in, restore_result
from logpager.clock import Clock
from logpager.errors import StoreUnavailableError
from logpager.sessions.handles import new_handle
from logpager.sessions.state import SessionState
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings
from logpager.store import (
    HandleRecord,
    PrincipalRecord,
    SessionRecord,
    SessionStore,
    StoreChunks,
)

__all__ = ["StoreLink"]

logger = logging.getLogger(__name__)

# Handles touched in the store at most once per this share of the session TTL: a page
# served from this process's decoded LRU then costs no round trip at all.
_TOUCH_SHARE = 0.1
_TOUCHES_REMEMBERED = 100_000


class StoreLink:
    """
    Writes a manager's results and records to a :class:`~logpager.store.SessionStore` and
    reads back those another process (or this one, before a restart) wrote.

    Not locked itself: the manager calls it under its lock.

    :param store: The shared store.
    :param settings: The session and query TTLs.
    :param clock: The manager's monotonic clock.
    :param wall: Seconds since the epoch (what processes sharing a store agree on).
    """

    def __init__(
        self,
        store: SessionStore,
        settings: Settings,
        clock: Clock,
        wall: Clock = time.time,
    ) -> None:
        self.store = store
        self._settings = settings
        self._clock = clock
        self._wall = wall
        self._touched: dict[str, float] = {}

    def _created_wall(self, result: QueryResult) -> float:
        return self._wall() - max(0.0, self._clock() - result.created_at)

    # --- writing ---------------------------------------------------------------------------------

    def publish(
        self, session: SessionState, handle: str, result: QueryResult, *, latest: bool
    ) -> None:
        """
        Writes a result (once, however many handles name it) and the records that lead to
        it; from then on the result reads its chunks from the store.

        :param session: The session the handle belongs to.
        :param handle: The handle the result is held under.
        :param result: The result.
        :param latest: Whether it is the session's (and its principal's) newest.
        :raise StoreUnavailableError: If the store does not answer; nothing local changed.
        """
        created_wall = self._created_wall(result)
        if result.store_key is None:
            result_id = new_handle()
            chunks = held_chunks(result)
            age = self._wall() - created_wall
            self.store.put_result(
                result_id,
                encode_meta(result, created_wall=created_wall),
                chunks,
                max(1.0, self._settings.query_ttl_seconds - age),
            )
            keep_chunks_in(result, StoreChunks(self.store, result_id, len(chunks)), result_id)
        assert result.store_key is not None
        # The spec a re-run needs: capped at the items held, as a tombstone's is.
        spec = result.spec.with_cap(max(result.num_items, 1))
        record = HandleRecord(
            session.session_id, session.principal, result.store_key, spec, created_wall
        )
        self.store.put_handle(
            handle,
            record,
            max(self._settings.session_ttl_seconds, self._settings.query_ttl_seconds),
        )
        self.write_session(session, latest_handle=handle if latest else session.latest_handle)
        if latest and session.principal is not None:
            known = self.store.principal(session.principal)
            instructed = known.instructed if known is not None else False
            self.store.put_principal(
                session.principal,
                PrincipalRecord(handle, instructed),
                self._settings.session_ttl_seconds,
            )

    def write_session(self, session: SessionState, *, latest_handle: str | None) -> None:
        """
        :param session: A session whose record changed.
        :param latest_handle: Its newest result's handle.
        """
        self.store.put_session(
            SessionRecord(
                session.session_id,
                session.principal,
                session.is_instructions_retrieved,
                latest_handle,
            ),
            self._settings.session_ttl_seconds,
        )

    def note_instructed(self, session: SessionState | None, principal: str | None) -> None:
        """
        Records that ``get_instructions()`` was called, best effort: instructions never fail
        for the store's sake (this process remembers them either way), so a store that does
        not answer is only logged.

        :param session: The session it was called in (None: a stateless call).
        :param principal: The authenticated caller, if any.
        """
        try:
            if session is not None:
                self.write_session(session, latest_handle=session.latest_handle)
            if principal is not None:
                known = self.store.principal(principal)
                latest = known.latest_handle if known is not None else None
                self.store.put_principal(
                    principal, PrincipalRecord(latest, True), self._settings.session_ttl_seconds
                )
        except StoreUnavailableError as exc:
            logger.warning("could not record instructions in the store: %s", exc)

    def forget(self, session: SessionState, handle: str, reason: TombstoneReason) -> None:
        """
        Tells the store a handle's result no longer answers (expired), best effort: the
        store's own TTLs end it anyway, so a store that does not answer is only logged.

        :param session: The session that dropped it.
        :param handle: The handle.
        :param reason: Why.
        """
        try:
            record = self.store.handle(handle)
            if record is None or record.session_id != session.session_id:
                return
            self.store.put_handle(
                handle,
                HandleRecord(
                    record.session_id,
                    record.principal,
                    record.result_id,
                    record.spec,
                    record.created_wall,
                    reason.value,
                ),
                self._settings.session_ttl_seconds,
            )
        except StoreUnavailableError as exc:
            logger.warning("could not mark result %s %s in the store: %s", handle[:8], reason, exc)

    def touch_due(self, handle: str) -> bool:
        """
        :param handle: A handle about to be used.
        :return: Whether :meth:`touch` would write to the store now.
        """
        last = self._touched.get(handle, float("-inf"))
        return self._clock() - last >= self._settings.session_ttl_seconds * _TOUCH_SHARE

    def touch(self, handle: str, session_id: str) -> None:
        """
        Keeps a handle and its session alive in the store (rate-limited per handle).

        :param handle: A handle just used.
        :param session_id: Its session.
        """
        if not self.touch_due(handle):
            return
        now = self._clock()
        if len(self._touched) >= _TOUCHES_REMEMBERED:
            self._touched.clear()
        self._touched[handle] = now
        self.store.touch(handle, session_id, self._settings.session_ttl_seconds)

    # --- reading ---------------------------------------------------------------------------------

    def restore(self, record: HandleRecord) -> QueryResult | None:
        """
        :param record: A handle's record.
        :return: Its result, reading chunks from the store; None if the store no longer holds
            it whole (expired, evicted under ``maxmemory``, or never finished).
        """
        if record.dropped is not None:
            return None
        found = self.store.result_meta(record.result_id)
        if found is None:
            return None
        meta, count = found
        try:
            result = restore_result(
                meta,
                StoreChunks(self.store, record.result_id, count),
                settings=self._settings,
                clock=self._clock,
                wall=self._wall,
            )
        except ValueError as exc:
            logger.warning("stored result %s is not whole: %s", record.result_id[:8], exc)
            return None
        result.store_key = record.result_id
        return result

    def tombstone(self, handle: str, record: HandleRecord) -> Tombstone:
        """
        :param handle: A handle whose result the store no longer holds.
        :param record: Its record.
        :return: Its tombstone: the reason the record gives, else expired when the query TTL
            has passed, else evicted (re-runnable).
        """
        age = max(0.0, self._wall() - record.created_wall)
        if record.dropped is not None:
            reason = TombstoneReason(record.dropped)
        elif age > self._settings.query_ttl_seconds:
            reason = TombstoneReason.EXPIRED
        else:
            reason = TombstoneReason.EVICTED
        return Tombstone(handle, record.spec, self._clock() - age, reason)
