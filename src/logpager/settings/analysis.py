"""Settings of the analysis tools over cached results and archives."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AnalysisFields"]


class AnalysisFields(BaseModel):
    """Bounds and defaults of the analysis tools."""

    # list_results: a principal searching over stateless connections gets a session per
    # search, so its history is as long as its searches within the session TTL. An entry is
    # 230 (dropped) to 300 (live, with a time range) characters of JSON, ~60-80 tokens; 50 of
    # each kind keeps the answer under ~27,000 characters (~7,000 tokens) while covering far
    # more than an agent's working set of handles.
    list_results_max_entries: int = Field(
        50,
        ge=1,
        le=10_000,
        description="Most live and most dropped results list_results returns (newest first).",
    )
