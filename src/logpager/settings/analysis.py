"""Settings of the analysis tools over cached results and archives."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AnalysisFields"]


class AnalysisFields(BaseModel):
    """Bounds and defaults of the analysis tools."""

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
