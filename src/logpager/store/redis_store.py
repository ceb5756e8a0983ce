"""A session store in Redis (one server or a Redis Cluster), shared by every replica.

Keys, under the prefix ``lp:``:

- ``lp:{RID}:meta`` (string) and ``lp:{RID}:chunks`` (hash of chunk index to bytes): one
  result; the ``{RID}`` hash tag puts both on one Cluster slot, so a result is written and
  read on one node. A hash of chunks rather than a key per chunk: Redis evicts a result's
  chunks as one key under ``maxmemory``, so a result is lost whole or not at all, and one
  key's overhead (~70 bytes) is paid once, not per chunk.
- ``lp:h:{HANDLE}``, ``lp:s:{SESSION}``, ``lp:p:{PRINCIPAL}`` (strings): msgpack records of
  a handle, a session and a principal; session and principal names are hashed into the key,
  so no name can reach another key.

Every key has a TTL: results the query TTL from when they were built, handles and sessions
the session TTL (renewed on use, and never shorter than the query TTL), principals the
session TTL (renewed when written). Redis's memory is bounded by ``maxmemory``; the policy
to give it is ``volatile-ttl``: results, whose TTLs are the shortest, go first, oldest
first, and the small handle records stay, so a handle whose result Redis evicted is re-run
from its record, as a result the memory governor evicted is. Measured here with room for
four results of twenty: ``volatile-ttl`` re-ran the evicted results of all or nearly all
handles (Redis samples keys, so a handle record still goes now and then), while
``allkeys-lru`` evicted handle records as readily as results (each key of a result was
written at the same moment), so many handles became unknown instead of re-run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from logpager.errors import StoreUnavailableError
from logpager.store.keyed import KeyedRecords
from logpager.store.records import (
    Record,
    RecordT,
    pack,
    unpack,
)

if TYPE_CHECKING:
    import redis
    from redis.cluster import RedisCluster

__all__ = ["RedisStore"]

_T = TypeVar("_T")

# Chunks go to Redis in batches of about this many bytes: one command per batch keeps a big
# result's write from building one command of its whole size in both processes' memory.
_WRITE_BATCH_BYTES = 1 << 20


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _hashed(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


class RedisStore(KeyedRecords):
    """
    :class:`~logpager.store.SessionStore` in Redis.

    :param client: A connected ``redis.Redis`` or ``redis.cluster.RedisCluster`` (bytes
        responses).
    :param address: Where it is, without any password.
    """

    def __init__(self, client: redis.Redis | RedisCluster, address: str) -> None:
        from redis import exceptions  # loaded already: a client exists

        self._client = client
        self._address = address
        # Bound once: every call of the store (a page's chunk included) is guarded by them.
        self._response_error = exceptions.ResponseError
        self._redis_error = exceptions.RedisError

    @classmethod
    def from_url(cls, url: str, address: str, *, timeout_seconds: float) -> RedisStore:
        """
        :param url: ``redis://``, ``rediss://`` or ``redis+cluster://`` (a Cluster's node).
        :param address: The URL without its password.
        :param timeout_seconds: Longest wait for a connection or an answer.
        :return: A store (no connection is made until the first call).
        """
        # redis-py is imported when a Redis store is opened, not with logpager: it adds
        # ~18 MiB of RSS to a process (measured alone), a tenth of the edge profile's room.
        import redis
        from redis.backoff import NoBackoff
        from redis.cluster import RedisCluster
        from redis.retry import Retry

        options: dict[str, Any] = {
            "socket_timeout": timeout_seconds,
            "socket_connect_timeout": timeout_seconds,
            # One retry on a fresh connection: after a Redis restart the pooled connections
            # are dead, and the first call on each must not fail for that alone. More retries
            # (redis-py's default backs off exponentially) would hold a page for seconds
            # while Redis is down, instead of saying so.
            "retry": Retry(NoBackoff(), 1),
        }
        if url.startswith("redis+cluster://"):
            client: redis.Redis | RedisCluster = RedisCluster.from_url(
                "redis://" + url.removeprefix("redis+cluster://"), **options
            )
        else:
            client = redis.Redis.from_url(url, **options)
        return cls(client, address)

    @property
    def address(self) -> str:
        """:return: The store's URL without its password."""
        return self._address

    # --- results ---------------------------------------------------------------------------------

    def put_result(
        self, result_id: str, meta: bytes, chunks: Sequence[bytes], ttl_seconds: float
    ) -> None:
        """See :meth:`logpager.store.SessionStore.put_result`."""
        chunks_key, meta_key = self.result_keys(result_id)
        ttl = _ms(ttl_seconds)

        def write() -> None:
            pipe = self._client.pipeline(transaction=False)
            pipe.delete(chunks_key)
            batch: dict[str, bytes] = {}
            size = 0
            for index, chunk in enumerate(chunks):
                batch[str(index)] = chunk
                size += len(chunk)
                if size >= _WRITE_BATCH_BYTES:
                    pipe.hset(chunks_key, mapping=batch)  # type: ignore[arg-type]
                    batch, size = {}, 0
            if batch:
                pipe.hset(chunks_key, mapping=batch)  # type: ignore[arg-type]
            pipe.pexpire(chunks_key, ttl)
            # The meta record last: until it is there, the result does not exist for readers.
            pipe.set(meta_key, meta, px=ttl)
            pipe.execute()

        self._call(write)

    def result_meta(self, result_id: str) -> tuple[bytes, int] | None:
        """See :meth:`logpager.store.SessionStore.result_meta`."""
        chunks_key, meta_key = self.result_keys(result_id)

        def read() -> tuple[bytes, int] | None:
            pipe = self._client.pipeline(transaction=False)
            pipe.get(meta_key)
            pipe.hlen(chunks_key)
            meta, count = pipe.execute()
            return None if meta is None else (bytes(meta), int(count))

        return self._call(read)

    def chunk(self, result_id: str, index: int) -> bytes | None:
        """See :meth:`logpager.store.SessionStore.chunk`."""
        chunks_key, _ = self.result_keys(result_id)
        found = self._call(lambda: self._client.hget(chunks_key, str(index)))
        return None if found is None else bytes(found)  # type: ignore[arg-type]

    def drop_result(self, result_id: str) -> None:
        """See :meth:`logpager.store.SessionStore.drop_result`."""
        chunks_key, meta_key = self.result_keys(result_id)

        def drop() -> None:
            # Meta first: a reader never finds a record whose chunks are gone by design.
            pipe = self._client.pipeline(transaction=False)
            pipe.delete(meta_key)
            pipe.delete(chunks_key)
            pipe.execute()

        self._call(drop)

    # --- records ---------------------------------------------------------------------------------

    def touch(self, handle: str, session_id: str, ttl_seconds: float) -> None:
        """See :meth:`logpager.store.SessionStore.touch`."""
        ttl = _ms(ttl_seconds)

        def touch() -> None:
            pipe = self._client.pipeline(transaction=False)
            pipe.pexpire(self._key("h", handle), ttl)
            pipe.pexpire(self._key("s", session_id), ttl)
            pipe.execute()

        self._call(touch)

    def ping(self) -> None:
        """See :meth:`logpager.store.SessionStore.ping`."""
        self._call(self._client.ping)

    def close(self) -> None:
        """See :meth:`logpager.store.SessionStore.close`."""
        self._client.close()

    # --- internals -------------------------------------------------------------------------------

    @staticmethod
    def result_keys(result_id: str) -> tuple[str, str]:
        """
        :param result_id: A result's id.
        :return: The keys of its chunks and of its meta record (one hash tag: one slot).
        """
        return f"lp:{{{result_id}}}:chunks", f"lp:{{{result_id}}}:meta"

    def _key(self, kind: str, name: str) -> str:
        # Handles are this server's own 32-character tokens when valid, but a name is what a
        # caller sent: hashed, nothing it sends can name another kind of key.
        return f"lp:{kind}:{_hashed(name)}"

    def _put(self, key: str, record: Record, ttl_seconds: float) -> None:
        data = pack(record)
        self._call(lambda: self._client.set(key, data, px=_ms(ttl_seconds)))

    def _get(self, key: str, kind: type[RecordT]) -> RecordT | None:
        data = self._call(lambda: self._client.get(key))
        if data is None:
            return None
        return unpack(bytes(data), kind)  # type: ignore[arg-type]

    def _call(self, work: Callable[[], _T]) -> _T:
        try:
            return work()
        except self._response_error as exc:
            # The pipeline's error wraps Redis's "OOM command not allowed when used memory >
            # 'maxmemory'" in its own words.
            if "maxmemory" in str(exc):
                raise StoreUnavailableError(
                    self._address,
                    "it is full: maxmemory is reached and its policy evicts "
                    "nothing; set maxmemory-policy volatile-ttl",
                ) from exc
            raise StoreUnavailableError(self._address, f"it answered {exc}") from exc
        except self._redis_error as exc:
            raise StoreUnavailableError(
                self._address, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ) from exc
