"""What remains of a result a session no longer holds, and why it went."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from logpager.query import QuerySpec

__all__ = ["Tombstone", "TombstoneReason"]


class TombstoneReason(enum.Enum):
    """Why a result is no longer held."""

    EVICTED = "evicted"
    """Dropped by the memory governor; re-runnable from its recipe."""
    REPLACED = "replaced"
    """Pushed out by newer results past ``max_results_per_session``."""
    EXPIRED = "expired"
    """Outlived ``query_ttl_minutes``."""


@dataclass(slots=True)
class Tombstone:
    """
    What remains of a result that is no longer held: enough to re-run it.

    :param handle: The result's handle.
    :param spec: The result's spec, pinned to the archives it covered, with a cap of the
        items it held: re-run, it yields the same pages.
    :param created_at: When the result was first built (its query TTL counts from here).
    :param reason: Why it is gone.
    """

    handle: str
    spec: QuerySpec
    created_at: float
    reason: TombstoneReason

    @property
    def query(self) -> str:
        """:return: The query of the result."""
        return self.spec.query
