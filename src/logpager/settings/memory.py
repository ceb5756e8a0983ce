"""Settings of the memory governor (budget, pressure, eviction) and the allocators."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

__all__ = ["MemoryFields"]


class MemoryFields(BaseModel):
    """The memory governor's budget and pressure signals, and the process's allocators."""

    memory_budget_bytes: int | None = Field(
        None, ge=0, description="Cache budget in bytes; overrides the fraction when set."
    )
    memory_budget_fraction: float | None = Field(
        0.25, gt=0, le=1, description="Cache budget as a fraction of host (or cgroup) memory."
    )
    governor_enabled: bool = Field(True, description="Evict under pressure (False: TTL only).")
    high_watermark: float = Field(0.9, gt=0, le=1, description="Evict above this budget share.")
    low_watermark: float = Field(0.7, gt=0, le=1, description="...until below this share.")
    min_available_bytes: int = Field(
        256 * 1024 * 1024, ge=0, description="Host available-memory floor that counts as pressure."
    )
    rss_limit_bytes: int | None = Field(
        None,
        ge=0,
        description=(
            "RSS of the server and its clp-s children above which the governor evicts "
            "(None: no limit)."
        ),
    )
    probe_interval_seconds: float = Field(
        0.5, ge=0, description="Least time between two psutil readings."
    )
    evicted_result_policy: Literal["rerun", "error"] = Field(
        "rerun", description="On paging an evicted result: re-run it, or explain and refuse."
    )
    max_tombstones_per_session: int = Field(
        32, ge=0, le=10_000, description="Evicted results remembered per session for re-runs."
    )
    # Arrow's own pool (mimalloc) keeps freed memory around: with it, the 1,000,000-event
    # search benchmark (180,000 hits) peaked at ~160 MB RSS against ~133 MB with the system
    # pool, and paging and search-and-cache times did not differ. 'default' is Arrow's choice.
    arrow_memory_pool: Literal["default", "system"] = Field(
        "system", description="Arrow allocator of the server process ('system': C malloc)."
    )
    # A fresh install leaves the libraries' files in the page cache, so the kernel maps far
    # more of them than the server ever runs: 83 MiB of file-backed RSS after import against
    # 13 MiB once paged out and used (measured); the page cache keeps them either way.
    page_out_library_pages: bool = Field(
        False,
        description="After startup, and again under RSS pressure (see "
        "library_page_out_interval_seconds), drop clean file-backed pages from the RSS.",
    )
    # Library pages come back into RSS as the server runs. Once, in a venv installed minutes
    # before (a clean clone's CI run), the edge soak's server held 84 MiB of file-backed RSS at
    # its peak against ~60 otherwise, its tree reached 258-274 MiB, and the governor, with 4 MB
    # of cache left, had nothing else to free. Under RSS pressure it now pages them out again,
    # at most once per interval (a re-fault is a page-cache hit; the page-out walks the
    # process's mappings). Measured on a warm venv, alternating: the soak's tree 236 and
    # 236 MiB with it, 237 and 236 without, in the same time; the fresh-venv state was not
    # reproduced at will, so what it saves there is not measured.
    library_page_out_interval_seconds: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="Least time between two page-outs of library pages under RSS pressure "
        "(with page_out_library_pages).",
    )
    malloc_arena_max: int | None = Field(
        None, ge=1, le=64, description="glibc malloc arenas for the server (None: glibc's own)."
    )
    # glibc raises its mmap threshold (from 128 KiB up to 32 MiB) each time a large mmap'd
    # block is freed, so later large blocks stay in the heap. Fixed at 128 KiB for clp-s, a
    # search of 300,000 events in 2 MiB archives peaked at 23 MB against 33, in the same time
    # (ratio 1.02, within noise); the edge soak's tree peaked at 228-229 MiB against 231-232 in
    # runs of the same hour (the soak's peak is the server's, while clp-s runs). The same
    # threshold in the server made its searches 1.25x slower (every large Arrow or zstd buffer
    # an mmap and fresh pages) for 5 MiB less peak: measured and rejected
    # (benchmarks/bench_malloc.py).
    clp_s_mmap_threshold_bytes: int | None = Field(
        None,
        ge=4096,
        le=32 * 1024 * 1024,
        description=(
            "Fixed glibc mmap and trim threshold for clp-s searches (GLIBC_TUNABLES; "
            "None: glibc's own, which grows)."
        ),
    )

    @model_validator(mode="after")
    def _check_watermarks(self) -> MemoryFields:
        if self.low_watermark > self.high_watermark:
            msg = (
                f"low_watermark ({self.low_watermark}) must not exceed "
                f"high_watermark ({self.high_watermark})"
            )
            raise ValueError(msg)
        return self
