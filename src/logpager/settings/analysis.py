"""Settings of the analysis tools over cached results and archives."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["AnalysisFields"]


class AnalysisFields(BaseModel):
    """Bounds and defaults of the analysis tools."""
