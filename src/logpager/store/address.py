"""Making a session store from a ``store_url``, and showing that URL without its password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from logpager.errors import SettingsError
from logpager.store.memory import MemoryStore
from logpager.store.protocol import SessionStore
from logpager.store.redis_store import RedisStore

__all__ = ["open_store", "redact"]

_REDIS_SCHEMES = ("redis", "rediss", "redis+cluster")


def redact(url: str) -> str:
    """
    :param url: A store URL, perhaps with a password.
    :return: The URL with any password replaced by ``***`` (for messages and logs).
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_store(url: str, *, timeout_seconds: float = 2.0) -> SessionStore:
    """
    :param url: ``memory://``, ``redis://HOST:PORT/DB``, ``rediss://...`` or
        ``redis+cluster://HOST:PORT`` (any node of a Redis Cluster).
    :param timeout_seconds: Longest wait for one answer from a Redis store.
    :return: The store (a Redis store connects on first use).
    :raise SettingsError: If the URL's scheme is not one of these, or it names no host.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme not in _REDIS_SCHEMES:
        msg = (
            f"store_url {redact(url)!r} is not a session store: use memory://, "
            "redis://HOST:PORT/DB, rediss://HOST:PORT/DB or redis+cluster://HOST:PORT"
        )
        raise SettingsError(msg)
    if not urlsplit(url).hostname:
        msg = f"store_url {redact(url)!r} names no host: use redis://HOST:PORT/DB"
        raise SettingsError(msg)
    return RedisStore.from_url(url, redact(url), timeout_seconds=timeout_seconds)
