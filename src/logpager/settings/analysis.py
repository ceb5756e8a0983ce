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

    # --- summarize_patterns, compare_patterns ---
    # Masking runs eight RE2 passes over a block of rows, whose per-call overhead a chunk of
    # 100 rows would leave dominant. summarize_patterns over 100,000 synthetic events
    # (benchmarks/bench_analysis_patterns.py, a shared 2-core machine, best of 3 in each of
    # two runs): 1,024 rows 1.30-1.55 s and 1.4 MiB peak above the process; 8,192 rows
    # 0.65-0.93 s and 9.3 MiB; 32,768 rows 0.81-0.83 s and 32 MiB (decoding the result's
    # 1,000 chunks alone: 0.12 s). The peaks were the same at 400,000 events: they are a
    # block's, not the result's. 8,192 is most of the speed for a quarter of the memory.
    patterns_batch_rows: int = Field(
        8192,
        ge=1,
        le=1_000_000,
        description="Rows masked into templates together (chunks are gathered up to this).",
    )
    # Memory held across a pass is the templates seen: at most this many, each at most
    # patterns_max_template_chars, so ~10 MB at worst; the loghub samples have 6-194 each.
    patterns_max_templates: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Distinct templates tracked per result; later new ones count as other.",
    )
    patterns_max_template_chars: int = Field(
        1000,
        ge=16,
        le=100_000,
        description="Templates are cut to this many characters (longer events group by it).",
    )
    patterns_max_top: int = Field(
        500, ge=1, le=100_000, description="Largest top summarize/compare_patterns accept."
    )
