"""Sessions: who owns which cached result, for how long, and how a page is served."""

from __future__ import annotations

from logpager.sessions.manager import (
    HANDLE_BYTES,
    Rerunner,
    Results,
    SessionManager,
    SessionMetrics,
    SessionState,
    Tombstone,
    TombstoneReason,
    new_handle,
)

__all__ = [
    "HANDLE_BYTES",
    "Rerunner",
    "Results",
    "SessionManager",
    "SessionMetrics",
    "SessionState",
    "Tombstone",
    "TombstoneReason",
    "new_handle",
]
