"""Settings of the search engine: archives, the clp-s child, and reading its hits."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["SearchFields", "default_data_dir"]


def default_data_dir() -> Path:
    """
    :return: Where archives live unless told otherwise: ``$XDG_DATA_HOME/logpager`` or
        ``~/.local/share/logpager``.
    """
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "logpager"


class SearchFields(BaseModel):
    """The search engine: where archives live, how clp-s runs and how its hits are read."""

    data_dir: Path = Field(default_factory=default_data_dir, description="Archive directory.")
    clp_s_path: Path | None = Field(
        None, description="clp-s binary; found next to the Python interpreter if unset."
    )
    search_timeout_seconds: float = Field(120, gt=0, description="Wall-clock cap of one search.")
    max_query_length: int = Field(
        16_384, ge=1, le=131_072, description="Longest KQL query accepted, in bytes."
    )
    ignore_case: bool = Field(True, description="Case-insensitive search, as the reference.")
    # While clp-s runs, each block of hits is sorted and its messages compressed into pieces
    # of this size, so only ~20 bytes a row stay uncompressed until the merge at the end.
    # 64 KiB (~260 events of 250 bytes) compressed within 3% of pieces four times as large;
    # the merge at the end holds one decompressed piece per run.
    run_piece_bytes: int = Field(
        65_536,
        ge=1_024,
        le=64 * 1_048_576,
        description="Message bytes per compressed piece of a running search's sorted runs.",
    )
    # Level 1 compressed the pieces at ~450 MB/s to 20% of their size; level 3 saved 1% more
    # for 1.7x the time, and level -1 kept a third more bytes.
    run_zstd_level: int = Field(
        1, ge=-7, le=22, description="zstd level of a running search's sorted runs."
    )
    max_sorted_runs: int = Field(
        32,
        ge=2,
        le=4_096,
        description="Sorted runs a search holds before merging the smallest into one.",
    )
    # Hits that do not stream (see streaming_build) are cut into blocks of this many for the
    # sorted runs; streamed hits go on as each read brings them.
    # 2,048 rows per decoded block (~0.5 MB of events): a search of 1 M events (180,000 hits)
    # ran in 0.78-0.83 s against 0.93-1.0 s with 8,192-row blocks (bare clp-s: 0.70 s). The
    # work on a block stays in the CPU's caches, while bigger blocks streamed through memory
    # and slowed clp-s, which shares the memory bus; 512 and 1,024 rows were no faster.
    search_block_rows: int = Field(
        2_048,
        ge=1,
        le=1_000_000,
        description="Hits sorted into a run at a time, when they do not stream.",
    )
    # Batches merged from the runs: ~1 MB of text each, so the merge holds little at a time.
    search_batch_rows: int = Field(
        4_096,
        ge=1,
        le=1_000_000,
        description="Rows per batch merged from a search's sorted runs.",
    )
    # Above this many stretches of one run in a batch, sorting by run and one take is cheaper
    # than joining many small slices.
    merge_max_stretches: int = Field(
        64,
        ge=1,
        le=1_000_000,
        description="Stretches of one run in a merged batch above which it is taken at once.",
    )
    # Also the pipe's capacity (Linux's default is 64 KiB): clp-s writes ~1 MiB in the ~10-20
    # ms it takes to sort and compress a block of hits, so it need not wait for the pipe
    # meanwhile. Above the host's /proc/sys/fs/pipe-max-size (1 MiB by default) the pipe gets
    # that size instead, and the short-read threshold below a quarter of it.
    search_read_bytes: int = Field(
        1_048_576,
        ge=4_096,
        le=64 * 1_048_576,
        description="Bytes read from clp-s at a time, and the pipe capacity asked for.",
    )
    # clp-s writes its hits 4 KiB at a time, and each write to a pipe that a reader waits on
    # wakes that reader: reading as soon as anything arrived cost clp-s 0.12 s over writing to
    # /dev/null (0.81 s against 0.69 s for 180,000 hits), however little the reader did. After
    # a read that found the pipe less than a quarter full (a quarter of search_read_bytes), a
    # 1 ms pause lets clp-s fill it without waking anyone (0.72 s against 0.71 s); when the
    # pipe fills faster than hits are handled, there is no pause.
    search_short_read_bytes: int = Field(
        262_144,
        ge=0,
        le=64 * 1_048_576,
        description="A read from clp-s shorter than this is followed by a pause (0: never).",
    )
    search_short_read_pause_seconds: float = Field(
        0.001,
        ge=0,
        le=1,
        description="Pause after a short read, so that clp-s fills the pipe meanwhile.",
    )
    # clp-s fills the pipe in bursts, faster than the thread that decodes hits and lays out
    # chunks empties it (search/read_ahead.py), so a thread of its own reads ahead. The search
    # of 180,251 hits, alternating in one process: 1.28x and 1.31x of bare clp-s with 0 (the
    # decoding thread reads; clp-s blocked on the full pipe ~20 times), 1.14x with 4 MiB,
    # 1.16x and 1.22x with 8 MiB, 1.17x with 16 MiB (blocked 2-6 times).
    search_read_ahead_bytes: int = Field(
        4 * 1_048_576,
        ge=0,
        le=256 * 1_048_576,
        description=(
            "Bytes of clp-s's output read ahead of the decoding, in whole reads, at least two "
            "(0: no reading thread, the decoding thread reads)."
        ),
    )
    search_stderr_tail_bytes: int = Field(
        65_536,
        ge=1_024,
        le=16 * 1_048_576,
        description="Bytes of clp-s's stderr (its end) read to explain a failed search.",
    )
    # One clp-s search holds ~78 MiB and keeps a core busy: with 8 at once on the edge
    # profile the process tree reached 955 MiB, and on a 2-core machine 30 concurrent
    # sessions saw searches at p50 9.5 s / p99 21.9 s. One search per core keeps the cores
    # busy without oversubscribing them; the rest wait their turn in arrival order.
    max_concurrent_searches: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=1_024,
        description="Searches (clp-s run and result build) that run at once; others queue.",
    )
    # Beyond this many waiting, a search is refused at once with a "busy, retry" error rather
    # than waiting behind a queue it would time out in.
    max_queued_searches: int = Field(
        32,
        ge=0,
        le=100_000,
        description="Searches that may wait for a slot; more are refused as busy.",
    )
