"""A session store in this process's memory: the protocol without a server, with real TTLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from logpager.clock import Clock
from logpager.store.keyed import KeyedRecords
from logpager.store.records import (
    Record,
    RecordT,
    pack,
    unpack,
)

__all__ = ["MemoryStore"]


class MemoryStore(KeyedRecords):
    """
    Keeps what a :class:`~logpager.store.SessionStore` keeps in dicts, with expiry by a wall
    clock; shared by every :class:`~logpager.sessions.SessionManager` of one process that is
    handed it. Records are kept as the same bytes Redis keeps, so both behave alike.

    :param wall: Seconds since the epoch (tests pass a fake clock).
    """

    def __init__(self, wall: Clock = time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._results: dict[str, tuple[float, bytes, list[bytes]]] = {}
        self._records: dict[str, tuple[float, bytes]] = {}

    @property
    def address(self) -> str:
        """:return: ``memory://``."""
        return "memory://"

    # --- results ---------------------------------------------------------------------------------

    def put_result(
        self, result_id: str, meta: bytes, chunks: Sequence[bytes], ttl_seconds: float
    ) -> None:
        """See :meth:`logpager.store.SessionStore.put_result`."""
        with self._lock:
            self._purge()
            self._results[result_id] = (self._wall() + ttl_seconds, meta, list(chunks))

    def result_meta(self, result_id: str) -> tuple[bytes, int] | None:
        """See :meth:`logpager.store.SessionStore.result_meta`."""
        with self._lock:
            entry = self._live_result(result_id)
            return None if entry is None else (entry[1], len(entry[2]))

    def chunk(self, result_id: str, index: int) -> bytes | None:
        """See :meth:`logpager.store.SessionStore.chunk`."""
        with self._lock:
            entry = self._live_result(result_id)
            if entry is None or not 0 <= index < len(entry[2]):
                return None
            return entry[2][index]

    def drop_result(self, result_id: str) -> None:
        """See :meth:`logpager.store.SessionStore.drop_result`."""
        with self._lock:
            self._results.pop(result_id, None)

    # --- records ---------------------------------------------------------------------------------

    def touch(self, handle: str, session_id: str, ttl_seconds: float) -> None:
        """See :meth:`logpager.store.SessionStore.touch`."""
        with self._lock:
            until = self._wall() + ttl_seconds
            for key in (self._key("h", handle), self._key("s", session_id)):
                entry = self._records.get(key)
                if entry is not None and entry[0] > self._wall():
                    self._records[key] = (until, entry[1])

    def ping(self) -> None:
        """See :meth:`logpager.store.SessionStore.ping`: memory always answers."""

    def close(self) -> None:
        """See :meth:`logpager.store.SessionStore.close`: nothing to let go."""

    # --- internals -------------------------------------------------------------------------------

    def _key(self, kind: str, name: str) -> str:
        return f"{kind}:{name}"

    def _put(self, key: str, record: Record, ttl_seconds: float) -> None:
        data = pack(record)
        with self._lock:
            self._records[key] = (self._wall() + ttl_seconds, data)

    def _get(self, key: str, kind: type[RecordT]) -> RecordT | None:
        with self._lock:
            entry = self._records.get(key)
            if entry is None:
                return None
            if entry[0] <= self._wall():
                del self._records[key]
                return None
            data = entry[1]
        return unpack(data, kind)

    def _live_result(self, result_id: str) -> tuple[float, bytes, list[bytes]] | None:
        entry = self._results.get(result_id)
        if entry is not None and entry[0] <= self._wall():
            del self._results[result_id]
            return None
        return entry

    def _purge(self) -> None:
        # Expired results go when a new one comes (a store of results only grows by puts),
        # so memory is bounded by what lives plus one TTL's worth, with no sweeper thread.
        now = self._wall()
        for result_id in [r for r, e in self._results.items() if e[0] <= now]:
            del self._results[result_id]
        for key in [k for k, e in self._records.items() if e[0] <= now]:
            del self._records[key]
