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

    # --- aggregate_results --------------------------------------------------------------------
    # The tool lists the most common values of a field; 1,000 rows of {"value", "count"} are
    # ~40 KB of answer, already more than an agent reads.
    aggregate_max_top: int = Field(
        1000, ge=1, le=100_000, description="Most values aggregate_results lists (its top)."
    )
    # A histogram answer holds only buckets with events; 1,000 is ~50 KB of answer (a day in
    # 5-minute buckets is 288, a month in hours 744). Past it the caller is asked for a longer
    # interval.
    aggregate_max_buckets: int = Field(
        1000, ge=2, le=1_000_000, description="Most non-empty buckets of a time histogram."
    )
    # Different values of a field counted exactly; past this the rarer half is dropped and
    # counts become approximate (lossy counting, an error bound is reported). Counts are held
    # in Arrow and merged when twice this many wait: counting the ~100,000 different trace
    # ids of 100,000 synthetic events peaked 5.7 MB above the process (4.2 MB for 20,000
    # events; a field of 4 values 1.4 MB), however large the result.
    aggregate_max_distinct_values: int = Field(
        10_000,
        ge=2,
        le=10_000_000,
        description="Different values of a field aggregate_results counts exactly.",
    )
    # aggregate_results and filter_result read this many rows (whole chunks) at a time, as
    # each Arrow call costs ~0.1-0.3 ms however few rows it gets (100 a chunk by default).
    # On 100,000 synthetic JSON events (shared 2-core host, loaded), by 100 / 1,024 / 4,096 /
    # 16,384 rows: counting levels took 1.33 / 0.35 / 0.27 / 0.31 s with a peak of 0.6 / 1.6 /
    # 5.4 / 21.6 MB above the process; a 5-minute histogram 0.59 / 0.17 / 0.18 / 0.18 s; a regex
    # filter 0.84 / 0.23 / 0.29 / 0.22 s. Past ~1,000 rows the time stays, the memory grows.
    aggregate_batch_rows: int = Field(
        1024,
        ge=1,
        le=1_000_000,
        description="Rows aggregate_results and filter_result compute over at a time.",
    )

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
