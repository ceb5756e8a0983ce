"""The stored table: result rows turned into columns chosen for zstd, ready to lay out.

:func:`encode_table` turns result rows into a *stored table* whose columns are chosen for
zstd, not for reading: timestamps and event indexes become deltas between neighbouring rows
(results are ordered by time, so deltas are small and repetitive), null flags move to their
own columns, archive ids become small integer codes into a per-result list (a 36-byte UUID
repeated on every row otherwise costs ~4 bytes a row even after compression), and a message
that repeats its row's timestamp at its start loses that copy
(:mod:`logpager.cache.codec.elide`). :func:`logpager.cache.codec.layout.pack_chunks` then
lays each chunk of the stored table out as plain bytes for the compressor.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.elide import elide_timestamps
from logpager.cache.codec.layout import ARCHIVE_CODE, ENCODED_EVENT_SCHEMA
from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE, TIMESTAMP, VERBATIM_SCHEMA

__all__ = ["encode_chunks", "encode_group", "encode_table"]


def _delta(column: pa.ChunkedArray | pa.Array, chunk_rows: int) -> tuple[pa.Array, pa.Array]:
    """
    Returns (deltas of the null-filled values, null flags).

    The first row of every chunk holds its absolute value, so each chunk decodes alone.
    """
    filled = pc.fill_null(pc.fill_null_forward(column), 0).to_numpy()
    deltas = np.empty_like(filled)
    if len(filled):
        deltas[0] = filled[0]
        np.subtract(filled[1:], filled[:-1], out=deltas[1:])
        deltas[::chunk_rows] = filled[::chunk_rows]
    nulls = pc.is_null(column)
    if isinstance(nulls, pa.ChunkedArray):
        nulls = nulls.combine_chunks()
    return pa.array(deltas, pa.int64()), nulls


def encode_table(rows: pa.Table, chunk_rows: int) -> tuple[pa.Table, list[str]]:
    """
    Turns result rows into the stored form, ready to be cut into chunks of ``chunk_rows``.

    :param rows: Rows with the result schema or the verbatim schema.
    :param chunk_rows: Rows per chunk (each chunk's first row stores absolute values).
    :return: The stored table (one Arrow chunk per column) and the archive names that the
        archive codes index.
    """
    if rows.schema.equals(VERBATIM_SCHEMA):
        return rows.combine_chunks(), []
    timestamps = rows.column(TIMESTAMP).combine_chunks()
    ts_delta, ts_null = _delta(timestamps, chunk_rows)
    idx_delta, idx_null = _delta(rows.column(LOG_EVENT_INDEX), chunk_rows)
    messages, elided = elide_timestamps(
        pc.cast(rows.column(MESSAGE), pa.string()).combine_chunks(), timestamps
    )
    encoded_archives = pc.dictionary_encode(rows.column(ARCHIVE_ID)).combine_chunks()
    table = pa.table(
        [
            ts_delta,
            ts_null,
            messages,
            elided,
            pc.cast(encoded_archives.indices, pa.int32()),
            idx_delta,
            idx_null,
        ],
        schema=ENCODED_EVENT_SCHEMA,
    )
    names: list[str] = encoded_archives.dictionary.to_pylist()
    return table, names


def encode_group(rows: pa.Table, chunk_rows: int, archive_names: list[str]) -> pa.Table:
    """
    Encodes rows that start on a chunk boundary, for a result built a few chunks at a time.

    Every chunk decodes alone (:func:`encode_table` stores each chunk's first row whole), so
    encoding a result piece by piece gives the chunks of encoding it at once, provided the
    archive codes index one list for the whole result: here they index ``archive_names``,
    which is extended in place in order of first appearance, so that it ends up the list
    :func:`encode_table` would return for the whole result.

    :param rows: Rows with the result schema or the verbatim schema, starting on a chunk
        boundary of the result.
    :param chunk_rows: Rows per chunk.
    :param archive_names: The result's archive names so far; new ones are appended.
    :return: The stored table of these rows, one Arrow chunk per column, ready for
        :func:`pack_chunks` with the same ``chunk_rows``.
    """
    stored, names = encode_table(rows, chunk_rows)
    if names:
        known = {name: code for code, name in enumerate(archive_names)}
        mapping = []
        for name in names:
            code = known.get(name)
            if code is None:
                code = known[name] = len(archive_names)
                archive_names.append(name)
            mapping.append(code)
        if mapping != list(range(len(names))):
            position = stored.schema.get_field_index(ARCHIVE_CODE)
            codes = pc.take(pa.array(mapping, pa.int32()), stored.column(position))
            stored = stored.set_column(position, stored.schema.field(position), codes)
    combined: pa.Table = stored.combine_chunks()
    return combined


def encode_chunks(
    rows: pa.Table, chunk_rows: int, archive_names: list[str]
) -> list[pa.RecordBatch]:
    """
    :func:`encode_group`, cut into one stored batch per chunk.

    :param rows: Rows with the result schema or the verbatim schema, starting on a chunk
        boundary of the result.
    :param chunk_rows: Rows per chunk.
    :param archive_names: The result's archive names so far; new ones are appended.
    :return: One stored batch per chunk (the last one may be short).
    """
    chunks: list[pa.RecordBatch] = encode_group(rows, chunk_rows, archive_names).to_batches(
        max_chunksize=chunk_rows
    )
    return chunks
