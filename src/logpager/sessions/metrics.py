"""The session manager's counters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SessionMetrics"]


@dataclass(slots=True)
class SessionMetrics:
    """Counters since the manager started."""

    sessions_created: int = 0
    sessions_expired: int = 0
    results_cached: int = 0
    results_expired: int = 0
    results_evicted: int = 0
    reruns: int = 0
    bytes_freed: int = 0
    reuse_hits: int = 0
    """Searches served from an identical search's live result (no engine run)."""
    reuse_misses: int = 0
    """Searches that found no live result to reuse and ran the engine."""
