"""A result as a session store keeps it: its chunks, and one small record of everything else.

The record (the *meta*) is what a process needs to serve the result's pages without having
built it: the layout (rows per chunk, chunk count, the segments the chunks are aligned in),
the dictionary, the archive names links are made of, the counts, and the spec a re-run
needs. It is msgpack, like the engine's
stream: a JSON record would carry the dictionary (~10-100 KB) as base64, a third more bytes.
"""

from __future__ import annotations

import time
from typing import Any

import msgpack

from logpager.cache.chunks import ChunkSource
from logpager.cache.result import QueryResult
from logpager.clock import Clock
from logpager.query import QuerySpec
from logpager.settings import Settings

__all__ = [
    "META_VERSION",
    "decode_meta",
    "encode_meta",
    "held_chunks",
    "keep_chunks_in",
    "restore_result",
]

META_VERSION = 2
"""Bumped when the record changes shape; a record of another version is not read, but for
:data:`_READABLE`."""

# Version 1 records lack ``segments`` (their chunks count from the latest row: one segment).
# A version 1 reader refuses version 2 records, which it would page wrongly.
_READABLE = (1, META_VERSION)


def encode_meta(result: QueryResult, *, created_wall: float) -> bytes:
    """
    :param result: A built result.
    :param created_wall: When it was built, in seconds since the epoch (a store is shared by
        processes whose monotonic clocks do not agree).
    :return: The record of everything but the chunks.
    """
    record: dict[str, Any] = {
        "v": META_VERSION,
        "spec": result.spec.to_dict(),
        "archive_names": result._archive_names,
        "dictionary": result._dictionary,
        "num_items": result.num_items,
        "num_total_matches": result.num_total_matches,
        "chunk_rows": result.chunk_rows,
        "segments": result.alignment.segments,
        "num_chunks": result.num_chunks,
        "link_template": result._link_template,
        "skipped_archives": list(result.skipped_archives),
        "created_wall": created_wall,
    }
    packed: bytes = msgpack.packb(record, use_bin_type=True)
    return packed


def keep_chunks_in(result: QueryResult, source: ChunkSource, store_key: str) -> None:
    """
    Makes a result read its chunks from a session store from now on, letting go of this
    process's copy (write them to the store first: :func:`held_chunks`).

    :param result: A result whose chunks this process holds.
    :param source: The same chunks, where the store keeps them.
    :param store_key: The store's id for them.
    :raise ValueError: If ``source`` holds another number of chunks.
    """
    if len(source) != len(result._chunks):
        msg = f"the store holds {len(source)} chunks of {len(result._chunks)}"
        raise ValueError(msg)
    result._chunks = source
    result.store_key = store_key


def held_chunks(result: QueryResult) -> list[bytes]:
    """
    :param result: A result whose chunks this process holds.
    :return: Its compressed chunks, in order (to write them to a store).
    """
    return list(result._chunks)


def decode_meta(meta: bytes) -> dict[str, Any]:
    """
    :param meta: A record :func:`encode_meta` made.
    :return: Its fields.
    :raise ValueError: If it is not such a record, or of another version.
    """
    try:
        record = msgpack.unpackb(meta, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        msg = f"not a stored result's record: {exc}"
        raise ValueError(msg) from exc
    if not isinstance(record, dict) or record.get("v") not in _READABLE:
        msg = "a stored result's record of another version"
        raise ValueError(msg)
    return record


def restore_result(
    meta: bytes,
    chunks: ChunkSource,
    *,
    settings: Settings,
    clock: Clock,
    wall: Clock = time.time,
) -> QueryResult:
    """
    Makes a pageable result of what a store keeps, reading its chunks from the store.

    :param meta: The result's record.
    :param chunks: Its chunks where the store keeps them.
    :param settings: The decoded-chunk LRU's capacity.
    :param clock: This process's monotonic clock; ``created_at`` is set so the result's age
        is the same as on the process that built it.
    :param wall: The wall clock (seconds since the epoch).
    :return: The result.
    :raise ValueError: If the record is not readable or disagrees with ``chunks``.
    """
    record = decode_meta(meta)
    if record["num_chunks"] != len(chunks):
        msg = f"record says {record['num_chunks']} chunks, the store holds {len(chunks)}"
        raise ValueError(msg)
    result = QueryResult(
        chunks=chunks,
        archive_names=list(record["archive_names"]),
        dictionary=record["dictionary"],
        num_items=record["num_items"],
        num_total_matches=record["num_total_matches"],
        chunk_rows=record["chunk_rows"],
        segments=[tuple(s) for s in record.get("segments", ())],
        spec=QuerySpec.from_dict(record["spec"]),
        link_template=record["link_template"],
        decoded_capacity=settings.decoded_chunk_cache_size,
        clock=clock,
    )
    result.skipped_archives = tuple(record["skipped_archives"])
    age = max(0.0, wall() - float(record["created_wall"]))
    result.created_at -= age
    result.last_accessed = result.created_at + age
    return result
