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
    # clp-s starts a new archive when its dictionaries and encoded messages reach this size
    # (its own default is 8 GiB: one archive per ingest), and a search holds the tables of
    # the archives it reads in memory. Measured on 300,000 synthetic events (77 MB of JSON),
    # one clp-s search of '*' over all of them peaked at 78 MB with one archive (7.6 MB on
    # disk), 48 MB at 8 MiB (5 archives, 8.3 MB), 42 MB at 4 MiB (11 archives, 9.1 MB) and
    # 31 MB at 2 MiB (22 archives, 11 MB); 4 MiB buys most of the memory for a fifth more
    # disk. Search time: see benchmarks/bench_archive_size.py.
    archive_target_bytes: int = Field(
        4 << 20,
        ge=64 << 10,
        le=1 << 40,
        description="Size of dictionaries and encoded messages at which clp-s starts a new "
        "archive while ingesting (smaller archives: less memory per search, more disk).",
    )
