"""Sessions: who owns which cached result, for how long, and how a page is served."""

from __future__ import annotations

from logpager.sessions.handles import HANDLE_BYTES, new_handle
from logpager.sessions.intake import Results
from logpager.sessions.manager import SessionManager
from logpager.sessions.metrics import SessionMetrics
from logpager.sessions.revival import Rerunner
from logpager.sessions.state import SessionState
from logpager.sessions.tombstones import Tombstone, TombstoneReason

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
