"""The chunk layout written one chunk at a time: the plain definition that pack_chunks matches.

:func:`chunk_bytes` lays out one chunk of a stored table with one numpy or Arrow call per
column; :func:`logpager.cache.codec.layout.pack_chunks`, the encoder the package uses, does
all chunks of a table at once and must give the same bytes for every chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from logpager.cache.codec.layout import (
    ARCHIVE_CODE,
    BASES,
    ELIDED,
    ELIDED_MIXED,
    ELIDED_NONE,
    ENCODED_EVENT_SCHEMA,
    EVEN_IDX,
    EVEN_TS,
    HAS_CODES,
    HAS_ELIDED,
    HAS_IDX_NULLS,
    HAS_TS_NULLS,
    HEADER,
    IDX_DELTA,
    IDX_NULL,
    KIND_EVENTS,
    KIND_VERBATIM,
    SIGNED,
    STORED_COLUMNS,
    TS_DELTA,
    TS_NULL,
    UNSIGNED,
)
from logpager.schema import MESSAGE, VERBATIM_SCHEMA

__all__ = ["chunk_bytes"]


def _narrow(
    values: npt.NDArray[np.integer[Any]], low: int, high: int, signed: bool
) -> tuple[int, npt.NDArray[np.integer[Any]]]:
    """
    :param values: Integers, all within ``low..high``.
    :return: (width code, ``values`` in the narrowest little-endian type that holds them).
    :raise OverflowError: If no 64-bit type holds them.
    """
    for code, dtype in enumerate(SIGNED if signed else UNSIGNED):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return code, values.astype(dtype)
    msg = f"values out of 64-bit range: {low}..{high}"
    raise OverflowError(msg)


def _pack_deltas(deltas: npt.NDArray[np.int64]) -> tuple[bool, int, int, bytes]:
    """
    :return: (every delta equal, step, width code, bytes). Equal deltas are stored as their
        step alone; others in units of their greatest common divisor, so logs with
        whole-second timestamps store seconds (which made HDFS's timestamps 47% smaller
        compressed).
    """
    if not len(deltas):
        return True, 0, 0, b""
    # Every numpy call here costs ~1 us a chunk, on the build's compressing threads.
    low, high = int(deltas.min()), int(deltas.max())
    if low == high:
        return True, low, 0, b""
    step = int(np.gcd.reduce(deltas)) or 1
    if step != 1:
        deltas = deltas // step
    code, packed = _narrow(deltas, low // step, high // step, signed=True)
    return False, step, code, packed.tobytes()


def _lengths_and_blob(column: pa.Array) -> tuple[int, bytes, pa.Buffer | bytes]:
    """
    :return: (width code, transposed length bytes, message bytes) of a string/binary column.
        Byte planes of the lengths are stored one after another: their high bytes are
        nearly all zero, and zstd compressed them ~1.4x smaller so than interleaved.
    """
    rows = len(column)
    buffers = column.buffers()
    large = pa.types.is_large_binary(column.type) or pa.types.is_large_string(column.type)
    offset_type = np.dtype("<i8") if large else np.dtype("<i4")
    if buffers[1] is None or not rows:
        return 0, b"", b""
    offsets = np.frombuffer(buffers[1], offset_type, rows + 1, column.offset * offset_type.itemsize)
    lengths = np.diff(offsets)
    code, packed = _narrow(lengths, 0, int(lengths.max()), signed=False)
    planes = packed.view(np.uint8).reshape(rows, packed.itemsize).T.tobytes()
    data = buffers[2]
    blob = data[int(offsets[0]) : int(offsets[-1])] if data is not None else b""
    return code, planes, blob


def chunk_bytes(batch: pa.RecordBatch) -> bytes:
    """
    Lays one chunk of a stored table out as the bytes that are compressed.

    :param batch: One chunk of a table from :func:`~logpager.cache.codec.encode.encode_table`
        (the stored event schema or the verbatim schema).
    :return: The chunk's bytes (see :mod:`logpager.cache.codec.layout` for the layout).
    :raise ValueError: If the batch has another schema.
    """
    rows = batch.num_rows
    if batch.schema.equals(VERBATIM_SCHEMA):
        length_code, lengths, blob = _lengths_and_blob(batch.column(0))
        header = HEADER.pack(KIND_VERBATIM, 0, length_code << 6, 0, rows)
        return b"".join((header, lengths, blob))
    if not batch.schema.equals(ENCODED_EVENT_SCHEMA):
        msg = f"not a stored chunk: {batch.schema}"
        raise ValueError(msg)
    columns = STORED_COLUMNS
    ts = batch.column(columns[TS_DELTA]).to_numpy()
    idx = batch.column(columns[IDX_DELTA]).to_numpy()
    ts_even, ts_step, ts_code, ts_bytes = _pack_deltas(ts[1:])
    idx_even, idx_step, idx_code, idx_bytes = _pack_deltas(idx[1:])
    bases = BASES.pack(int(ts[0]) if rows else 0, int(idx[0]) if rows else 0, ts_step, idx_step)
    parts: list[bytes | pa.Buffer] = [b"", bases, ts_bytes, idx_bytes]
    flags = (EVEN_TS if ts_even else 0) | (EVEN_IDX if idx_even else 0)
    ts_null = batch.column(columns[TS_NULL])
    if ts_null.true_count:
        flags |= HAS_TS_NULLS
        parts.append(ts_null.to_numpy(zero_copy_only=False).tobytes())
    idx_null = batch.column(columns[IDX_NULL])
    if idx_null.true_count:
        flags |= HAS_IDX_NULLS
        parts.append(idx_null.to_numpy(zero_copy_only=False).tobytes())
    codes = batch.column(columns[ARCHIVE_CODE]).to_numpy()
    codes_code = 0
    if codes.any():
        flags |= HAS_CODES
        codes_code, narrow_codes = _narrow(codes, 0, int(codes.max()), signed=False)
        parts.append(narrow_codes.tobytes())
    elided = batch.column(columns[ELIDED]).to_numpy().tobytes()
    elided_kind = elided[0] if rows else ELIDED_NONE
    if elided != elided[:1] * rows:
        elided_kind = ELIDED_MIXED
        flags |= HAS_ELIDED
        parts.append(elided)
    length_code, lengths, blob = _lengths_and_blob(batch.column(columns[MESSAGE]))
    parts += [lengths, blob]
    widths = ts_code | idx_code << 2 | codes_code << 4 | length_code << 6
    parts[0] = HEADER.pack(KIND_EVENTS, flags, widths, elided_kind, rows)
    return b"".join(parts)
