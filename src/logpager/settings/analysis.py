"""Settings of the analysis tools over cached results and archives."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AnalysisFields"]


class AnalysisFields(BaseModel):
    """Bounds and defaults of the analysis tools."""

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
