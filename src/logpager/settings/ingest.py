"""Settings of ingesting log files into archives."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["IngestFields"]


class IngestFields(BaseModel):
    """Ingesting log files into archives."""

    # Not measured: often enough to show that a long conversion or clp-s run is alive, seldom
    # enough not to flood a terminal. Also how long an ingest waits on clp-s between checks.
    ingest_progress_seconds: float = Field(
        2.0, gt=0, le=3600, description="Least time between two progress lines of an ingest."
    )
    # Not measured: bounds the memory one multi-line text event (a stack trace) takes while it
    # is built; the continuation lines after it start new events with the same timestamp. The
    # same value as logpager.ingest.textevents.DEFAULT_MAX_EVENT_BYTES.
    ingest_max_event_bytes: int = Field(
        1 << 20,
        ge=1,
        le=1 << 30,
        description="Size above which a text event takes no more continuation lines.",
    )
