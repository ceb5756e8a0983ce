"""The one settings object, and how profiles and the environment feed it.

Precedence, lowest to highest: the defaults below, a profile file (``profiles/NAME.toml`` or
any TOML path), ``LOGPAGER_*`` environment variables, then keyword arguments given in code.
Every tunable constant of the package lives here, once.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from logpager.errors import SettingsError

__all__ = [
    "PROFILES_DIR",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "list_profiles",
    "load_settings",
    "resolve_profile",
]

# Profiles are package data (``src/logpager/profiles``; the repository's ``profiles/`` is a
# link to it), so a checkout, an editable install and an installed wheel read the same files.
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


def default_data_dir() -> Path:
    """
    :return: Where archives live unless told otherwise: ``$XDG_DATA_HOME/logpager`` or
        ``~/.local/share/logpager``.
    """
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "logpager"


class Settings(BaseSettings):
    """
    Every setting of logpager, validated on construction and on assignment.

    The seed's four settings keep their names and defaults (``page_size=10``,
    ``max_cached_results=1000``, ``session_ttl_minutes=60``, ``query_ttl_minutes=30``).
    """

    model_config = SettingsConfigDict(
        env_prefix="LOGPAGER_",
        validate_assignment=True,
        extra="forbid",
        frozen=False,
    )

    # --- session cache (seed settings) -------------------------------------------------------
    page_size: int = Field(10, ge=1, le=10_000, description="Items per page.")
    max_cached_results: int = Field(
        1000, ge=1, le=100_000_000, description="Results kept per query (the latest)."
    )
    session_ttl_minutes: float = Field(60, gt=0, description="Idle time before a session ends.")
    query_ttl_minutes: float = Field(30, gt=0, description="Lifetime of one cached result.")
    sweep_interval_seconds: float = Field(
        60, gt=0, description="How often the background sweep drops expired sessions."
    )
    require_instructions: bool = Field(
        True, description="Refuse searches and paging until get_instructions() was called."
    )
    max_results_per_session: int = Field(
        8, ge=1, le=1000, description="Live results one session keeps; the oldest goes first."
    )
    # Session ids seen to expire are remembered (bounded) so that a late caller is told
    # "expired" rather than "not found". 10,000 stateless ids ("sl:" and a 32-character
    # handle) took ~1.5 MB (tracemalloc, the ids and the ordered dict holding them).
    expired_session_ids_remembered: int = Field(
        10_000,
        ge=0,
        le=1_000_000,
        description="Expired session ids remembered, so a late caller is told 'expired'.",
    )

    # --- compressed chunk layout ---------------------------------------------------------------
    # 10 pages of 10 rows: a cold page of a 1,000,000-event result took ~85 us (median), of
    # which decompressing the ~25 KB chunk ~22 us and decoding it ~36 us (timestamp text 17);
    # 20-page chunks compressed 6-14% better (before the dictionary) but doubled both, past
    # the 100 us budget, so the trained dictionary, not the chunk size, carries the ratio.
    pages_per_chunk: int = Field(10, ge=1, le=10_000, description="Pages in one chunk.")
    # Level 3 compresses ~1 M synthetic events/s a core. Level 4 made synthetic events 1%
    # larger and HDFS/Zookeeper 2-7% smaller; level 5 saved 5-13% but built ~370,000 events/s
    # (target 500,000) on the shared 2-core host; level 9 saved ~8% more for 4x the time.
    zstd_level: int = Field(3, ge=-7, le=22, description="zstd level for chunks.")
    # An upper bound: each result's dictionary is sized to ~1/16 of its compressed chunks and
    # kept only if it saves more than its size (2-4 KiB on 2,000-event loghub samples). A
    # 64 KiB bound made 20,000 synthetic events 4% larger than 16 KiB.
    zstd_dictionary_bytes: int = Field(
        16_384,
        ge=0,
        le=1_048_576,
        description="Upper size of the dictionary trained per result (0 disables it).",
    )
    # A result is compressed while it is built, so its dictionary is trained on its first
    # (latest) rows, or on this many of the first hits while the search runs. On a
    # 180,000-row result of synthetic JSON, 4,096 to 65,536 rows all compressed within 0.5% of
    # a dictionary trained on samples of the whole result (7.93 MB); the rows wait encoded,
    # ~2 MB here, until it is trained.
    dictionary_training_rows: int = Field(
        8_192,
        ge=1,
        le=10_000_000,
        description="Rows a result holds uncompressed until its zstd dictionary is trained.",
    )
    # Dictionary training needs enough samples to find repeats; below this many rows the
    # result is small enough that plain zstd costs little and a dictionary would outweigh its
    # savings.
    dictionary_min_rows: int = Field(
        256,
        ge=1,
        le=10_000_000,
        description="Fewest rows a result needs for a zstd dictionary to be trained.",
    )
    # Page-sized samples handed to the trainer, spread evenly over the result. 256 samples
    # train in 30-75 ms; 1,024 took ~0.35 s on 20,000 synthetic rows for a result 0.2% smaller
    # (2,000 took ~0.6 s on 36,000 rows for 0.7%), so the trainer sees a sample, not the result.
    dictionary_samples: int = Field(
        256, ge=1, le=100_000, description="Page-sized samples a dictionary is trained on."
    )
    # A dictionary is sized to about a sixteenth of the chunks' estimated compressed bytes, and
    # kept only if it saves more than its size. On 2,000-event loghub samples 1-2 KiB
    # dictionaries saved 5-15% while 8-16 KiB ones cost more than they saved (an eighth
    # instead of a sixteenth made HDFS 3% and Zookeeper 3% larger); on 20,000 synthetic events
    # 4-16 KiB all saved ~9%.
    dictionary_size_share: int = Field(
        16,
        ge=1,
        le=1_024,
        description="A dictionary is sized to the chunks' estimated compressed bytes over this.",
    )
    dictionary_min_bytes: int = Field(
        1_024,
        ge=256,
        le=1_048_576,
        description="Smallest dictionary worth training; a result sized below it gets none.",
    )
    # Chunks compressed with and without a new dictionary to see whether it pays for itself
    # (~1 ms for 16 chunks of 25 KB at level 3).
    dictionary_probe_chunks: int = Field(
        16,
        ge=1,
        le=10_000,
        description="Chunks compressed with and without a new dictionary to see if it pays.",
    )
    # The trainer's segment size (k), d-mer size (d) and frequency table size (2**f entries),
    # fixed instead of searched for. Its default search took 45 ms on 8,192 synthetic hits, on
    # a core that the search itself needs (the dictionary is trained while clp-s runs), and its
    # default table (f=20) 6 MB of memory; these took 12 ms and 0.4 MB. Compressed sizes
    # against the search's choice: synthetic +0.2%, HDFS +1.5%, OpenSSH -1.9%, Apache, Linux,
    # Zookeeper within 0.3%.
    dictionary_trainer_segment: int = Field(
        1_024, ge=16, le=1_048_576, description="The zstd dictionary trainer's segment size (k)."
    )
    dictionary_trainer_dmer: Literal[6, 8] = Field(
        8, description="The zstd dictionary trainer's d-mer size (d)."
    )
    dictionary_trainer_table_log: int = Field(
        16,
        ge=1,
        le=22,
        description="log2 of the entries of the zstd dictionary trainer's frequency table (f).",
    )
    # Chunks are compressed in worker threads while the next rows are merged, encoded and
    # laid out (zstd releases the GIL). On a 2-core host one thread built a 180,000-row
    # result in ~0.19 s after the search for ~0.3 s of CPU; two took ~0.18 s.
    compression_threads: int = Field(
        1, ge=1, le=64, description="Threads that compress a result's chunks while it is built."
    )
    # Enough to amortise Arrow's and the thread pool's per-call costs, few enough that the
    # groups held while they are compressed stay small (~1 MB each for typical events).
    build_group_rows: int = Field(
        4_096,
        ge=1,
        le=1_000_000,
        description="Rows a result's builder encodes and hands to a compressing thread at once.",
    )
    decoded_chunk_cache_size: int = Field(
        4, ge=0, le=1024, description="Decoded chunks kept per result for sequential paging."
    )
    link_template: str = Field(
        "clp://{archive_id}/{log_event_index}",
        description="How an item's link is written; {archive_id} and {log_event_index}.",
    )

    # --- search engine (clp-s) -----------------------------------------------------------------
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
    # 2,048 rows per decoded block (~0.5 MB of events): a search of 1 M events (180,000 hits)
    # ran in 0.78-0.83 s against 0.93-1.0 s with 8,192-row blocks (bare clp-s: 0.70 s). The
    # work on a block stays in the CPU's caches, while bigger blocks streamed through memory
    # and slowed clp-s, which shares the memory bus; 512 and 1,024 rows were no faster.
    search_block_rows: int = Field(
        2_048,
        ge=1,
        le=1_000_000,
        description="Hits decoded into one Arrow block and sorted into a run at a time.",
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
    # meanwhile.
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
    search_stderr_tail_bytes: int = Field(
        65_536,
        ge=1_024,
        le=16 * 1_048_576,
        description="Bytes of clp-s's stderr (its end) read to explain a failed search.",
    )

    # --- server ----------------------------------------------------------------------------------
    transport: Literal["stdio", "http"] = Field("stdio", description="MCP transport.")
    host: str = Field("127.0.0.1", description="HTTP bind address.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra Origin values accepted over HTTP besides the loopback ones.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header values accepted over HTTP besides the loopback ones.",
    )
    # FastMCP's own default. Open streams get this long to finish after SIGTERM/SIGINT before
    # they are cut; longer would let one idle SSE stream hold up a supervisor's restart.
    shutdown_grace_seconds: int = Field(
        2, ge=0, le=300, description="HTTP: time open requests get to finish on shutdown."
    )

    # --- memory governor -------------------------------------------------------------------------
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
        None, ge=0, description="Process RSS above which the governor evicts (None: no limit)."
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
        False, description="After startup, drop clean file-backed pages from the process's RSS."
    )
    malloc_arena_max: int | None = Field(
        None, ge=1, le=64, description="glibc malloc arenas for the server (None: glibc's own)."
    )

    # --- ingest ----------------------------------------------------------------------------------
    # Not measured: often enough to show that a long conversion or clp-s run is alive, seldom
    # enough not to flood a terminal. Also how long an ingest waits on clp-s between checks.
    ingest_progress_seconds: float = Field(
        2.0, gt=0, le=3600, description="Least time between two progress lines of an ingest."
    )
    # Not measured: bounds the memory one multi-line text event (a stack trace) takes while it
    # is built; the continuation lines after it start new events with the same timestamp. The
    # same value as logpager.ingest.textformats.DEFAULT_MAX_EVENT_BYTES.
    ingest_max_event_bytes: int = Field(
        1 << 20,
        ge=1,
        le=1 << 30,
        description="Size above which a text event takes no more continuation lines.",
    )

    @model_validator(mode="after")
    def _check_watermarks(self) -> Settings:
        if self.low_watermark > self.high_watermark:
            msg = (
                f"low_watermark ({self.low_watermark}) must not exceed "
                f"high_watermark ({self.high_watermark})"
            )
            raise ValueError(msg)
        return self

    @property
    def chunk_rows(self) -> int:
        """:return: Rows in one compressed chunk (``pages_per_chunk x page_size``)."""
        return self.pages_per_chunk * self.page_size


def list_profiles() -> list[str]:
    """:return: Names of the profiles that ship with logpager."""
    if not PROFILES_DIR.is_dir():
        return []
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def resolve_profile(profile: str | Path) -> Path:
    """
    :param profile: A profile name (``edge``) or a path to a TOML file.
    :return: The profile file's path.
    :raise SettingsError: If no such profile exists.
    """
    candidate = Path(profile)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            msg = f"profile file not found: {candidate}"
            raise SettingsError(msg)
        return candidate
    named = PROFILES_DIR / f"{profile}.toml"
    if not named.is_file():
        known = ", ".join(list_profiles()) or "none"
        msg = f"unknown profile {str(profile)!r} (known profiles: {known})"
        raise SettingsError(msg)
    return named


def _format_validation_error(source: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "settings"
        parts.append(f"{loc}: {e['msg']} (got {e.get('input')!r})")
    return f"invalid settings from {source}: " + "; ".join(parts)


def load_settings(profile: str | Path | None = None, **overrides: Any) -> Settings:
    """
    Builds the settings from a profile, the environment and explicit overrides.

    :param profile: Profile name or TOML path; ``None`` reads ``LOGPAGER_PROFILE`` if set.
    :param overrides: Values that win over everything else.
    :return: Validated settings.
    :raise SettingsError: If the profile is missing or malformed, or any value is invalid.
    """
    profile = profile if profile is not None else os.environ.get("LOGPAGER_PROFILE") or None
    file_values: dict[str, Any] = {}
    source = "defaults and environment"
    if profile is not None:
        path = resolve_profile(profile)
        source = f"profile {path}"
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            msg = f"profile {path} is not valid TOML: {exc}"
            raise SettingsError(msg) from exc
        # Profiles may group keys under tables for readability; they flatten to one namespace.
        flat: dict[str, Any] = {}
        for key, value in file_values.items():
            if isinstance(value, dict) and key not in Settings.model_fields:
                flat.update(value)
            else:
                flat[key] = value
        file_values = flat
    try:
        from_env = Settings()
        env_values = {k: getattr(from_env, k) for k in from_env.model_fields_set}
        merged = {**file_values, **env_values, **overrides}
        return Settings(**merged)
    except ValidationError as exc:
        raise SettingsError(_format_validation_error(source, exc)) from exc
