"""Session stores: where sessions, results, handles and principals live beyond one process.

:class:`SessionStore` is the protocol; :class:`MemoryStore` keeps everything in this process,
:class:`RedisStore` in a Redis server or Redis Cluster shared by every replica.
:func:`open_store` makes one from a ``store_url``.
"""

from logpager.store.address import open_store, redact
from logpager.store.chunks import StoreChunks
from logpager.store.memory import MemoryStore
from logpager.store.protocol import SessionStore
from logpager.store.records import HandleRecord, PrincipalRecord, SessionRecord
from logpager.store.redis_store import RedisStore

__all__ = [
    "HandleRecord",
    "MemoryStore",
    "PrincipalRecord",
    "RedisStore",
    "SessionRecord",
    "SessionStore",
    "StoreChunks",
    "open_store",
    "redact",
]
