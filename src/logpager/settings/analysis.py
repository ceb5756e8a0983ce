"""Settings of the analysis tools over cached results and archives."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AnalysisFields"]


class AnalysisFields(BaseModel):
    """Bounds and defaults of the analysis tools."""

    # list_fields scans every event of the archives: 100,000 synthetic events (260 bytes,
    # 25.8 MB) took 0.33 s on the shared 2-core host when idle and 0.7 s under load, so the
    # default cap keeps one scan within ~3-7 s, well inside search_timeout_seconds.
    fields_max_events_scanned: int = Field(
        1_000_000,
        ge=1,
        description="Most events list_fields scans; counts are over that many when capped.",
    )
    # A batch is what list_fields holds at once (its text and its Arrow table); 1 MiB, 4 MiB
    # and 16 MiB scanned 100,000 events in 0.66, 0.71 and 0.64 s under load (within
    # run-to-run noise), and 1 MiB and 4 MiB both in 0.33 s when idle, while the peak above
    # the process was 10 MB at 1 MiB and 18 MB at 4 MiB (of which ~6 MB is one read of
    # clp-s's stream, whatever the batch): benchmarks/bench_analysis_archives.py.
    fields_batch_bytes: int = Field(
        1 << 20,
        ge=4_096,
        le=256 << 20,
        description="Bytes of events list_fields parses with pyarrow.json at once.",
    )
    fields_example_chars: int = Field(
        80, ge=8, le=4_096, description="Longest example value list_fields shows whole."
    )
    fields_max_listed: int = Field(
        500, ge=1, le=100_000, description="Most fields list_fields lists (the most common)."
    )
    fields_cache_entries: int = Field(
        8, ge=1, le=1_024, description="Sets of archives whose list_fields answer is kept."
    )
    # get_log_context: the bound of its before and after.
    log_context_max_events: int = Field(
        100, ge=1, le=10_000, description="Most neighbours get_log_context shows on each side."
    )
