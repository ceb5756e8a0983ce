"""Settings of the session store: where sessions and results live when more than one process,
or a restart, must see them."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

__all__ = ["StoreFields"]


class StoreFields(BaseModel):
    """Where sessions, results, handles and principals are kept, and how long the store may
    take to answer."""

    store_url: str | None = Field(
        None,
        description="Session store: unset keeps everything in this process; 'memory://' is the "
        "same through the store interface; 'redis://HOST:PORT/DB' (or 'rediss://', or "
        "'redis+cluster://HOST:PORT' for a Redis Cluster) shares sessions with every process "
        "using that Redis and keeps them across restarts.",
    )
    # A call under the session lock waits at most this long: a Redis that stopped answering
    # must turn into a clear error fast, not hold every other session's page for the OS's
    # TCP timeout (minutes).
    store_timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="Longest wait for one answer from the session store."
    )

    @field_validator("store_url")
    @classmethod
    def _known_store(cls, url: str | None) -> str | None:
        # Checked with the other settings, so a typo is refused before the server starts,
        # with the source of the value named (flag, variable or profile).
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme == "memory":
            return url
        if parts.scheme not in {"redis", "rediss", "redis+cluster"}:
            msg = (
                "not a session store: use memory://, redis://HOST:PORT/DB, "
                "rediss://HOST:PORT/DB or redis+cluster://HOST:PORT"
            )
            raise ValueError(msg)
        if not parts.hostname:
            msg = "names no host: use redis://HOST:PORT/DB"
            raise ValueError(msg)
        return url
