"""Settings of sessions and their results' lifetimes (the seed's four among them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["SessionFields"]


class SessionFields(BaseModel):
    """Sessions and their results' lifetimes (the seed's four settings among them)."""

    page_size: int = Field(10, ge=1, le=10_000, description="Items per page.")
    max_cached_results: int = Field(
        1000, ge=1, le=100_000_000, description="Results kept per query (the latest)."
    )
    session_ttl_minutes: float = Field(60, gt=0, description="Idle time before a session ends.")
    query_ttl_minutes: float = Field(30, gt=0, description="Lifetime of one cached result.")
    sweep_interval_seconds: float = Field(
        60, gt=0, description="How often the background sweep drops expired sessions."
    )
    require_instructions: bool = Field(
        True, description="Refuse searches and paging until get_instructions() was called."
    )
    max_results_per_session: int = Field(
        8, ge=1, le=1000, description="Live results one session keeps; the oldest goes first."
    )
    # Session ids seen to expire are remembered (bounded) so that a late caller is told
    # "expired" rather than "not found". 10,000 stateless ids ("sl:" and a 32-character
    # handle) took ~1.5 MB (tracemalloc, the ids and the ordered dict holding them).
    expired_session_ids_remembered: int = Field(
        10_000,
        ge=0,
        le=1_000_000,
        description="Expired session ids remembered, so a late caller is told 'expired'.",
    )
