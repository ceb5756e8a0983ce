"""Settings of a cached result's chunks: layout, compression, dictionary, decoding."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ChunkFields"]


class ChunkFields(BaseModel):
    """How a cached result's chunks are laid out, compressed and decoded."""

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
    # A search whose hits arrive oldest first (text logs, one schema, archives in time order)
    # builds its result while the engine runs (logpager.cache.streaming); off, every search
    # sorts its hits into runs and builds once the engine has exited (for comparison).
    streaming_build: bool = Field(
        True,
        description="Build a search's result while the engine runs when hits arrive in order.",
    )
    # Each segment (a stretch of hits in time order: an archive) ends in a short chunk; the
    # 1,000,000-event benchmark's 34 archives give 34 segments of ~5,300 hits, and its result
    # is no larger than the one built after the search (7,984,836 bytes against 7,986,405).
    # Handing the streamed rows back costs in proportion to them: falling back after 20 of
    # those 34 archives (~106,000 hits) took 0.64 s more CPU than never streaming, so the
    # limit is high enough for large searches of many archives; tiny segments (archives of a
    # few hits) are cheap to hand back, and many of them would compress poorly.
    streaming_max_segments: int = Field(
        1_024,
        ge=1,
        le=100_000,
        description="Segments a streaming build may hold before it hands its rows to the runs.",
    )
    decoded_chunk_cache_size: int = Field(
        4, ge=0, le=1024, description="Decoded chunks kept per result for sequential paging."
    )
    link_template: str = Field(
        "clp://{archive_id}/{log_event_index}",
        description="How an item's link is written; {archive_id} and {log_event_index}.",
    )
