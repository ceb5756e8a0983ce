"""Settings of the session store: where sessions and results live when more than one process,
or a restart, must see them."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
