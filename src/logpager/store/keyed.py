"""The record half of a session store: handles, sessions and principals kept by key.

Both stores keep a record as its bytes under a key of its kind and name, with a TTL; they
differ only in how a key is spelled and where the bytes go, which is what each implements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from logpager.store.records import (
    HandleRecord,
    PrincipalRecord,
    Record,
    RecordT,
    SessionRecord,
)

__all__ = ["KeyedRecords"]


class KeyedRecords(ABC):
    """The six record methods of :class:`~logpager.store.SessionStore`, over a store's
    :meth:`_key`, :meth:`_put` and :meth:`_get`."""

    @abstractmethod
    def _key(self, kind: str, name: str) -> str:
        """
        :param kind: ``"h"`` (handle), ``"s"`` (session) or ``"p"`` (principal).
        :param name: The handle, session id or principal, as a caller gave it.
        :return: The store's key for that record.
        """

    @abstractmethod
    def _put(self, key: str, record: Record, ttl_seconds: float) -> None:
        """Keeps a record's bytes under ``key`` for ``ttl_seconds``."""

    @abstractmethod
    def _get(self, key: str, kind: type[RecordT]) -> RecordT | None:
        """:return: The record of class ``kind`` under ``key``, or None."""

    def put_handle(self, handle: str, record: HandleRecord, ttl_seconds: float) -> None:
        """See :meth:`logpager.store.SessionStore.put_handle`."""
        self._put(self._key("h", handle), record, ttl_seconds)

    def handle(self, handle: str) -> HandleRecord | None:
        """See :meth:`logpager.store.SessionStore.handle`."""
        return self._get(self._key("h", handle), HandleRecord)

    def put_session(self, record: SessionRecord, ttl_seconds: float) -> None:
        """See :meth:`logpager.store.SessionStore.put_session`."""
        self._put(self._key("s", record.session_id), record, ttl_seconds)

    def session(self, session_id: str) -> SessionRecord | None:
        """See :meth:`logpager.store.SessionStore.session`."""
        return self._get(self._key("s", session_id), SessionRecord)

    def put_principal(self, principal: str, record: PrincipalRecord, ttl_seconds: float) -> None:
        """See :meth:`logpager.store.SessionStore.put_principal`."""
        self._put(self._key("p", principal), record, ttl_seconds)

    def principal(self, principal: str) -> PrincipalRecord | None:
        """See :meth:`logpager.store.SessionStore.principal`."""
        return self._get(self._key("p", principal), PrincipalRecord)
