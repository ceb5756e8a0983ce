"""Decoding a decompressed chunk into a :class:`~logpager.cache.codec.decoded.DecodedChunk`.

:func:`decode_chunk_bytes` reads the numbers with numpy views of the decompressed bytes and
keeps the messages as one string (one bytes object if the chunk is not ASCII), so a page
slices out only its own rows; Arrow's timestamp-to-string cast formats the whole chunk's
timestamps in one call (~10 us for 100 rows, ~17 us with the 'T' and 'Z' put in), the
cheapest way found here (numpy's datetime_as_string took 23 us, Python's datetime ~1 us a row).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.decoded import STAMP_CHARS, DecodedChunk
from logpager.cache.codec.layout import (
    ARROW_ISO_CHARS,
    BASES,
    ELIDED_EPOCH,
    ELIDED_MIXED,
    ELIDED_NONE,
    EVEN_IDX,
    EVEN_TS,
    HAS_CODES,
    HAS_ELIDED,
    HAS_IDX_NULLS,
    HAS_TS_NULLS,
    HEADER,
    KIND_EVENTS,
    KIND_VERBATIM,
    SIGNED,
    UNSIGNED,
)

__all__ = ["decode_chunk_bytes"]

# CPython overhead per decoded row: an offset int and list slot (~36 bytes), the event
# index int and slot (~36), 24 characters of timestamp text and the epoch milliseconds (8).
_ROW_OVERHEAD_BYTES = 36 + 36 + STAMP_CHARS + 8
_VERBATIM_ROW_OVERHEAD_BYTES = 36


def _held_bytes(text: str | None, data: bytes | None) -> int:
    """:return: Bytes of the decoded messages (a str or bytes object, header included)."""
    return len(text) + 49 if text is not None else len(data or b"") + 33


def _read(
    raw: bytes, position: int, rows: int, dtype: np.dtype[Any]
) -> tuple[npt.NDArray[Any], int]:
    """:return: ``rows`` values of ``dtype`` read at ``position``, and the next position."""
    values = np.frombuffer(raw, dtype, rows, position)
    return values, position + rows * dtype.itemsize


def _undelta(
    raw: bytes, position: int, rows: int, base: int, step: int, dtype: np.dtype[Any], even: bool
) -> tuple[npt.NDArray[np.int64], int]:
    """
    :return: The absolute values of a delta column (see :mod:`~logpager.cache.codec.layout`)
        and the next position. A cold page pays for every numpy call here (~1 us each on 100
        rows).
    """
    if even:
        values = np.arange(rows, dtype=np.int64)
        values *= step
        values += base
        return values, position
    values = np.empty(rows, np.int64)
    if rows:
        deltas, position = _read(raw, position, rows - 1, dtype)
        values[1:] = deltas
        if step != 1:
            values[1:] *= step
        values[0] = base
        values.cumsum(out=values)
    return values, position


def _read_messages(
    raw: bytes, position: int, rows: int, length_code: int
) -> tuple[str | None, bytes | None, list[int]]:
    """:return: (ASCII text or None, UTF-8 bytes or None, the rows' offsets)."""
    width = UNSIGNED[length_code].itemsize
    planes = np.frombuffer(raw, np.uint8, rows * width, position).reshape(width, rows)
    offsets = np.empty(rows + 1, np.int64)
    offsets[0] = 0
    offsets[1:] = planes[0]
    for plane in range(1, width):
        offsets[1:] |= planes[plane].astype(np.int64) << (8 * plane)
    offsets.cumsum(out=offsets)
    start = position + rows * width
    text = str(memoryview(raw)[start:], "utf-8")
    if text.isascii():
        return text, None, offsets.tolist()
    # Byte offsets differ from character offsets: rows are decoded one by one when used.
    return None, raw[start:], offsets.tolist()


def _stamps(values: npt.NDArray[np.int64]) -> str | list[str]:
    """
    Renders item timestamps with one Arrow cast for the chunk (~10 us for 100 rows; Python's
    datetime or numpy's datetime_as_string took 20-120 us).

    :param values: Epoch milliseconds (rows without a timestamp hold any value).
    :return: ``YYYY-MM-DDTHH:MM:SS.fffZ`` of every row back to back, or a list of them when
        some year is outside 1000-9999 (the text is then not fixed-width).
    """
    rows = len(values)
    stamps = pa.Array.from_buffers(pa.timestamp("ms"), rows, [None, pa.py_buffer(values)])
    text = pc.cast(stamps, pa.string())
    buffers = text.buffers()
    # Arrow never writes fewer than 23 characters (years are zero-padded to four digits,
    # out-of-range values say so at length), so 23 a row in all means 23 in each row.
    if rows and np.frombuffer(buffers[1], np.int32, 1, rows * 4)[0] == rows * ARROW_ISO_CHARS:
        # 'YYYY-MM-DD HH:MM:SS.fff' becomes 'YYYY-MM-DDTHH:MM:SS.fffZ' in one gather.
        padded = np.empty(rows * ARROW_ISO_CHARS + 2, np.uint8)
        padded[:-2] = np.frombuffer(buffers[2], np.uint8, rows * ARROW_ISO_CHARS)
        padded[-2:] = (ord("T"), ord("Z"))
        return padded[_widening(rows)].tobytes().decode("ascii")
    return [f"{iso[:10]}T{iso[11:]}Z" for iso in text.to_pylist()]


@functools.lru_cache(maxsize=16)
def _widening(rows: int) -> npt.NDArray[np.intp]:
    """
    :return: Indexes that turn ``rows`` of Arrow's timestamp text followed by ``TZ`` into
        the item timestamps (the space becomes ``T``, a ``Z`` follows the milliseconds).
    """
    text_t, text_z = rows * ARROW_ISO_CHARS, rows * ARROW_ISO_CHARS + 1
    row = [*range(10), text_t, *range(11, ARROW_ISO_CHARS), text_z]
    starts = np.arange(rows)[:, None] * ARROW_ISO_CHARS
    pattern = np.array(row)
    gather = np.where(pattern < text_t, starts + pattern, pattern)
    result: npt.NDArray[np.intp] = gather.ravel().astype(np.intp)
    return result


def decode_chunk_bytes(raw: bytes) -> DecodedChunk:
    """
    Decodes one decompressed chunk.

    :param raw: One chunk's bytes, as :func:`~logpager.cache.codec.layout.pack_chunks` lays
        them out.
    :return: The chunk, ready to format pages from.
    :raise ValueError: If ``raw`` is not a chunk.
    """
    kind, flags, widths, elided_kind, rows = HEADER.unpack_from(raw, 0)
    position = HEADER.size
    length_code = widths >> 6 & 3
    if kind == KIND_VERBATIM:
        text, data, offsets = _read_messages(raw, position, rows, length_code)
        nbytes = _held_bytes(text, data) + _VERBATIM_ROW_OVERHEAD_BYTES * rows
        return DecodedChunk(
            text, data, offsets, None, None, None, None, None, None, ELIDED_NONE, None, None, nbytes
        )
    if kind != KIND_EVENTS:
        msg = (
            "not a chunk: decompress a chunk that layout.pack_chunks laid out (the chunk_bytes "
            "layout), not an Arrow IPC message"
            if kind == 0xFF
            else f"unknown chunk kind {kind}"
        )
        raise ValueError(msg)
    ts_base, idx_base, ts_step, idx_step = BASES.unpack_from(raw, position)
    position += BASES.size
    ts_values, position = _undelta(
        raw, position, rows, ts_base, ts_step, SIGNED[widths & 3], bool(flags & EVEN_TS)
    )
    if flags & EVEN_IDX:
        indexes = (
            list(range(idx_base, idx_base + idx_step * rows, idx_step))
            if idx_step
            else [idx_base] * rows
        )
    else:
        idx_values, position = _undelta(
            raw, position, rows, idx_base, idx_step, SIGNED[widths >> 2 & 3], False
        )
        indexes = idx_values.tolist()
    ts_nulls = idx_nulls = codes = elided = None
    if flags & HAS_TS_NULLS:
        ts_nulls, position = _read(raw, position, rows, np.dtype(np.bool_))
    if flags & HAS_IDX_NULLS:
        idx_nulls, position = _read(raw, position, rows, np.dtype(np.bool_))
    if flags & HAS_CODES:
        codes, position = _read(raw, position, rows, UNSIGNED[widths >> 4 & 3])
    if flags & HAS_ELIDED:
        elided, position = _read(raw, position, rows, np.dtype(np.int8))
    text, data, offsets = _read_messages(raw, position, rows, length_code)
    # Null rows hold the previous row's value (see _delta), so the text stays fixed-width.
    stamps = _stamps(ts_values)
    mixed = elided_kind == ELIDED_MIXED
    epoch = elided_kind == ELIDED_EPOCH or (
        mixed and elided is not None and bool((elided == ELIDED_EPOCH).any())
    )
    return DecodedChunk(
        text,
        data,
        offsets,
        stamps,
        ts_nulls.tolist() if ts_nulls is not None else None,
        indexes,
        idx_nulls.tolist() if idx_nulls is not None else None,
        codes.tolist() if codes is not None else None,
        elided.tolist() if elided is not None else None,
        elided_kind,
        ts_values.tolist() if epoch else None,
        ts_values,
        _held_bytes(text, data) + _ROW_OVERHEAD_BYTES * rows,
    )
