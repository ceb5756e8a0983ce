"""The bytes a stored chunk is compressed as: the layout, and laying out a stored table's chunks.

The stored table (:data:`ENCODED_EVENT_SCHEMA`, made by
:func:`logpager.cache.codec.encode.encode_table`) is cut into chunks; each chunk is laid out as:

==========  ===================================================================
header      kind, flags, column widths, elision kind, row count (8 bytes); for events, the
            chunk's first timestamp and event index and the step of each (32 bytes)
ts_delta    one signed integer a row in units of the step (the greatest common divisor
            of the chunk's deltas), as narrow as the chunk allows; nothing when every
            delta is the step (events a fixed interval apart)
idx_delta   the same for event indexes (nothing for consecutive events of one archive)
ts_null     one byte a row (only if the chunk has a row without a timestamp)
idx_null    one byte a row (only if the chunk has a row without an event index)
codes       archive code a row, narrow (only if some row's code is not 0)
elided      which timestamp copy was dropped, a byte a row (only if rows differ)
lengths     message length in bytes a row, narrow, byte planes transposed
messages    the UTF-8 message bytes, back to back
==========  ===================================================================

Measured per 1,000 events on 100-row chunks at zstd level 3 (synthetic JSON and the five
loghub samples), against the Arrow IPC message per chunk used before: the IPC message's
columns other than the message cost 1.7-5.8 KB compressed, this layout's header, number
columns and message lengths together 1.3-4.5 KB; whole chunks (no dictionary) became 16-38%
smaller with the timestamp copies dropped too (:mod:`logpager.cache.codec.elide`).

:func:`pack_chunks` writes every chunk of a stored table at once. A result's build lays out
~1,800 chunks for 180,000 hits, and writing them one at a time spent ~55 us of numpy and
Arrow calls on each (0.1 s, while the search's caller waits); ``pack_chunks`` computes the
per-chunk widths, steps and flags for all chunks in one pass of numpy ``reduceat`` calls and
leaves only the slicing and joining of each chunk's parts to Python. The one-at-a-time
writer is kept with the tests (``tests/support/chunk_oracle.py``) as the layout's plain
definition, which ``pack_chunks`` must match byte for byte.
"""

from __future__ import annotations

import struct
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from logpager.schema import MESSAGE, VERBATIM_SCHEMA

__all__ = [
    "ARCHIVE_CODE",
    "ARROW_ISO_CHARS",
    "BASES",
    "ELIDED",
    "ELIDED_EPOCH",
    "ELIDED_ISO",
    "ELIDED_MIXED",
    "ELIDED_NONE",
    "ENCODED_EVENT_SCHEMA",
    "EVEN_IDX",
    "EVEN_TS",
    "HAS_CODES",
    "HAS_ELIDED",
    "HAS_IDX_NULLS",
    "HAS_TS_NULLS",
    "HEADER",
    "IDX_DELTA",
    "IDX_NULL",
    "JSON_TS_KEY",
    "KIND_EVENTS",
    "KIND_VERBATIM",
    "SIGNED",
    "STORED_COLUMNS",
    "TS_DELTA",
    "TS_NULL",
    "UNSIGNED",
    "pack_chunks",
]

TS_DELTA = "ts_delta"
TS_NULL = "ts_null"
IDX_DELTA = "idx_delta"
IDX_NULL = "idx_null"
ARCHIVE_CODE = "archive_code"
ELIDED = "ts_elided"

ELIDED_NONE: Final = 0
"""The message is stored whole."""
ELIDED_EPOCH: Final = 1
"""``{"timestamp":<epoch ms>`` was dropped from the message's start."""
ELIDED_ISO: Final = 2
"""``{"timestamp":"<YYYY-MM-DDTHH:MM:SS.fffZ>"`` was dropped from the message's start."""
ELIDED_MIXED: Final = 3
"""Rows of a chunk differ; each row's kind is stored."""
JSON_TS_KEY: Final = '{"timestamp":'
"""How a message with an elided timestamp copy started, before the copy."""
# Arrow's cast of a millisecond timestamp to text: 'YYYY-MM-DD HH:MM:SS.fff' for years
# 1000-9999 (other years are wider or narrower).
ARROW_ISO_CHARS: Final = 23

ENCODED_EVENT_SCHEMA = pa.schema(
    [
        pa.field(TS_DELTA, pa.int64(), nullable=False),
        pa.field(TS_NULL, pa.bool_(), nullable=False),
        pa.field(MESSAGE, pa.binary(), nullable=False),
        pa.field(ELIDED, pa.int8(), nullable=False),
        pa.field(ARCHIVE_CODE, pa.int32(), nullable=False),
        pa.field(IDX_DELTA, pa.int64(), nullable=False),
        pa.field(IDX_NULL, pa.bool_(), nullable=False),
    ]
)
"""The stored table: deltas, null flags, archive codes and elision kinds beside the messages."""

STORED_COLUMNS: Final = {
    name: ENCODED_EVENT_SCHEMA.get_field_index(name) for name in ENCODED_EVENT_SCHEMA.names
}
"""Each stored column's position."""

# Kinds are below 0xFF, so a chunk is never mistaken for an Arrow IPC message (0xFFFFFFFF).
KIND_EVENTS: Final = 1
KIND_VERBATIM: Final = 2
HAS_TS_NULLS: Final = 1
HAS_IDX_NULLS: Final = 2
HAS_CODES: Final = 4
HAS_ELIDED: Final = 8
EVEN_TS: Final = 16
EVEN_IDX: Final = 32
# kind, flags, widths (2 bits each: ts, idx, codes, lengths), elision kind, rows
HEADER = struct.Struct("<BBBBI")
# first timestamp, first event index, and the step of each (see _pack_delta_column)
BASES = struct.Struct("<qqqq")
SIGNED: tuple[np.dtype[Any], ...] = tuple(np.dtype(f"<i{n}") for n in (1, 2, 4, 8))
UNSIGNED: tuple[np.dtype[Any], ...] = tuple(np.dtype(f"<u{n}") for n in (1, 2, 4, 8))


# --- many chunks at once ---------------------------------------------------------------------

_BLOCK_HEADER = np.dtype(
    [
        ("kind", "u1"),
        ("flags", "u1"),
        ("widths", "u1"),
        ("elided_kind", "u1"),
        ("rows", "<u4"),
        ("ts_base", "<i8"),
        ("idx_base", "<i8"),
        ("ts_step", "<i8"),
        ("idx_step", "<i8"),
    ]
)
# The largest value of each width: 1, 2, 4 and 8 bytes (searchsorted gives the width code).
_SIGNED_MAX = np.array([2**7 - 1, 2**15 - 1, 2**31 - 1], np.int64)
_UNSIGNED_MAX = np.array([2**8 - 1, 2**16 - 1, 2**32 - 1], np.int64)

_INT8: tuple[np.dtype[Any], ...] = (np.dtype(np.int8),)

_Parts = list[bytes | memoryview]


class _Cuts:
    """Where each chunk of ``rows`` rows starts and ends, ``chunk_rows`` rows a chunk."""

    def __init__(self, rows: int, chunk_rows: int) -> None:
        self.chunk_rows = chunk_rows
        self.starts = np.arange(0, rows, chunk_rows, dtype=np.int64)
        self.ends = np.minimum(self.starts + chunk_rows, rows)
        self.sizes = self.ends - self.starts
        self.count = len(self.starts)
        # Python ints, for the per-chunk slicing.
        self.start_list: list[int] = self.starts.tolist()
        self.end_list: list[int] = self.ends.tolist()


def _width_codes(highest: npt.NDArray[np.int64], maxima: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """:return: The width code of each value: the narrowest type whose maximum holds it."""
    codes: npt.NDArray[Any] = np.searchsorted(maxima, highest, side="left")
    return codes


def _narrow_by_chunk(
    values: npt.NDArray[np.integer[Any]],
    codes: npt.NDArray[Any],
    wanted: npt.NDArray[np.bool_],
    begin: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    types: tuple[np.dtype[Any], ...],
) -> _Parts:
    """
    :param values: One column of all chunks.
    :param codes: Each chunk's width code.
    :param wanted: Chunks whose values are stored.
    :param begin: Each chunk's first position in ``values``.
    :param end: Each chunk's end position in ``values``.
    :param types: The type of each width code.
    :return: Each wanted chunk's values as bytes of its width (``b""`` for the others).
    """
    parts: _Parts = [b""] * len(codes)
    for code in np.unique(codes[wanted]).tolist():
        itemsize = types[code].itemsize
        view = memoryview(values.astype(types[code]).tobytes())
        chosen = np.flatnonzero(wanted & (codes == code))
        for chunk, first, stop in zip(
            chosen.tolist(), begin[chosen].tolist(), end[chosen].tolist(), strict=True
        ):
            parts[chunk] = view[first * itemsize : stop * itemsize]
    return parts


def _pack_delta_column(
    values: npt.NDArray[np.int64], cuts: _Cuts
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[Any], _Parts]:
    """
    Packs every chunk of a delta column (each chunk's first row holds its absolute value, the
    others the change from the row before). A chunk whose deltas are all equal is stored as
    their step alone; others in units of their greatest common divisor, so logs with
    whole-second timestamps store seconds (which made HDFS's timestamps 47% smaller
    compressed).

    :return: (every delta of the chunk equal, step, width code, bytes) of each chunk.
    """
    count = cuts.count
    # The deltas alone, chunk after chunk: chunk c's are deltas[starts[c] - c : ends[c] - c - 1].
    deltas = np.delete(values, cuts.starts)
    many = cuts.sizes >= 2  # only the last chunk can have one row, and so no delta
    begin = cuts.starts - np.arange(count)
    end = cuts.ends - np.arange(count) - 1
    even = np.ones(count, np.bool_)
    step = np.zeros(count, np.int64)
    codes = np.zeros(count, np.int64)
    if not many.any():
        return even, step, codes, [b""] * count
    at = begin[many]
    low = np.minimum.reduceat(deltas, at)
    high = np.maximum.reduceat(deltas, at)
    divisor = np.gcd.reduceat(deltas, at)
    equal = low == high
    even[many] = equal
    # Not all equal, so not all zero: the greatest common divisor is positive.
    chunk_step = np.where(equal, low, divisor)
    step[many] = chunk_step
    scale = np.where(equal, 1, divisor)
    widest = np.maximum(high // scale, ~(low // scale))
    codes[many] = np.where(equal, 0, _width_codes(widest, _SIGNED_MAX))
    if (scale != 1).any():
        per_delta = np.ones(count, np.int64)
        per_delta[many] = scale
        deltas = deltas // np.repeat(per_delta, cuts.sizes - 1)
    return even, step, codes, _narrow_by_chunk(deltas, codes, ~even, begin, end, SIGNED)


def _pack_lengths(column: pa.Array, cuts: _Cuts) -> tuple[npt.NDArray[Any], _Parts, _Parts]:
    """
    Lays out the lengths and the bytes of every chunk of a string or binary column. Byte
    planes of the lengths are stored one after another: their high bytes are nearly all zero,
    and zstd compressed them ~1.4x smaller so than interleaved.

    :return: (width code, transposed length bytes, message bytes) of each chunk.
    """
    rows, chunk_rows = len(column), cuts.chunk_rows
    buffers = column.buffers()
    large = pa.types.is_large_binary(column.type) or pa.types.is_large_string(column.type)
    offset_type = np.dtype("<i8") if large else np.dtype("<i4")
    offsets = np.frombuffer(buffers[1], offset_type, rows + 1, column.offset * offset_type.itemsize)
    lengths = np.diff(offsets).astype(np.int64)
    codes = _width_codes(np.maximum.reduceat(lengths, cuts.starts), _UNSIGNED_MAX)
    planes: _Parts = [b""] * cuts.count
    full_chunks = rows // chunk_rows  # every chunk but perhaps the last
    for code in np.unique(codes).tolist():
        dtype = UNSIGNED[code]
        width = dtype.itemsize
        members = np.flatnonzero(codes == code)
        full = members[members < full_chunks]
        if len(full):
            # Chunk j of `full`: its rows' byte planes one after another.
            grid = lengths[: full_chunks * chunk_rows].reshape(full_chunks, chunk_rows)[full]
            laid = (
                grid.astype(dtype)
                .view(np.uint8)
                .reshape(len(full), chunk_rows, width)
                .transpose(0, 2, 1)
                .tobytes()
            )
            view, size = memoryview(laid), chunk_rows * width
            for j, chunk in enumerate(full.tolist()):
                planes[chunk] = view[j * size : (j + 1) * size]
        for chunk in members[members >= full_chunks].tolist():
            start, end = cuts.start_list[chunk], cuts.end_list[chunk]
            part = lengths[start:end].astype(dtype)
            planes[chunk] = part.view(np.uint8).reshape(end - start, width).T.tobytes()
    data = buffers[2]
    message_view = memoryview(data if data is not None else b"")
    bounds = offsets[cuts.starts].tolist(), offsets[cuts.ends].tolist()
    blobs: _Parts = [message_view[a:b] for a, b in zip(*bounds, strict=True)]
    return codes, planes, blobs


def pack_chunks(stored: pa.Table | pa.RecordBatch, chunk_rows: int) -> list[bytes]:
    """
    Lays out every chunk of a stored table at once.

    :param stored: A stored table (:data:`ENCODED_EVENT_SCHEMA`, each chunk's first row holding
        absolute values, as :func:`logpager.cache.codec.encode.encode_table` makes it for
        ``chunk_rows``) or rows of the verbatim schema.
    :param chunk_rows: Rows per chunk (the last chunk may be short).
    :return: The bytes of each chunk of ``chunk_rows`` rows (see the module docstring for
        the layout), computed column by column for all chunks.
    :raise ValueError: If the schema is neither, or ``chunk_rows`` is not positive.
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be positive, got {chunk_rows}"
        raise ValueError(msg)
    table = pa.Table.from_batches([stored]) if isinstance(stored, pa.RecordBatch) else stored
    verbatim = table.schema.equals(VERBATIM_SCHEMA)
    if not verbatim and not table.schema.equals(ENCODED_EVENT_SCHEMA):
        msg = f"not a stored table: {table.schema}"
        raise ValueError(msg)
    if not table.num_rows:
        return []
    table = table.combine_chunks()
    cuts = _Cuts(table.num_rows, chunk_rows)
    if verbatim:
        return _pack_verbatim(table.column(0).chunk(0), cuts)
    return _pack_events([column.chunk(0) for column in table.columns], cuts)


def _pack_verbatim(items: pa.Array, cuts: _Cuts) -> list[bytes]:
    """:return: The bytes of each chunk of a verbatim column."""
    length_codes, lengths, blobs = _pack_lengths(items, cuts)
    heads = [
        HEADER.pack(KIND_VERBATIM, 0, code << 6, 0, rows)
        for code, rows in zip(length_codes.tolist(), cuts.sizes.tolist(), strict=True)
    ]
    return [b"".join(parts) for parts in zip(heads, lengths, blobs, strict=True)]


def _pack_events(columns: list[pa.Array], cuts: _Cuts) -> list[bytes]:
    """:return: The bytes of each chunk of a stored table's columns (one Arrow array each)."""
    count = cuts.count
    ts = columns[STORED_COLUMNS[TS_DELTA]].to_numpy()
    idx = columns[STORED_COLUMNS[IDX_DELTA]].to_numpy()
    ts_even, ts_step, ts_codes, ts_parts = _pack_delta_column(ts, cuts)
    idx_even, idx_step, idx_codes, idx_parts = _pack_delta_column(idx, cuts)
    flags = np.where(ts_even, EVEN_TS, 0) | np.where(idx_even, EVEN_IDX, 0)

    optional: list[_Parts] = []
    for name, flag in ((TS_NULL, HAS_TS_NULLS), (IDX_NULL, HAS_IDX_NULLS)):
        nulls = columns[STORED_COLUMNS[name]].to_numpy(zero_copy_only=False).view(np.uint8)
        present = np.maximum.reduceat(nulls, cuts.starts) > 0
        flags |= np.where(present, flag, 0)
        optional.append(_pack_where(nulls, present, None, cuts, UNSIGNED))

    codes = columns[STORED_COLUMNS[ARCHIVE_CODE]].to_numpy().astype(np.int64)
    highest_code = np.maximum.reduceat(codes, cuts.starts)
    coded = highest_code > 0
    code_widths = _width_codes(highest_code, _UNSIGNED_MAX)
    flags |= np.where(coded, HAS_CODES, 0)
    code_widths[~coded] = 0
    optional.append(_pack_where(codes, coded, code_widths, cuts, UNSIGNED))

    elided = columns[STORED_COLUMNS[ELIDED]].to_numpy()
    mixed = np.minimum.reduceat(elided, cuts.starts) != np.maximum.reduceat(elided, cuts.starts)
    flags |= np.where(mixed, HAS_ELIDED, 0)
    optional.append(_pack_where(elided, mixed, None, cuts, _INT8))

    length_codes, lengths, blobs = _pack_lengths(columns[STORED_COLUMNS[MESSAGE]], cuts)
    header = np.zeros(count, _BLOCK_HEADER)
    header["rows"] = cuts.sizes
    header["kind"] = KIND_EVENTS
    header["flags"] = flags
    header["widths"] = ts_codes | idx_codes << 2 | code_widths << 4 | length_codes << 6
    header["elided_kind"] = np.where(mixed, ELIDED_MIXED, elided[cuts.starts])
    header["ts_base"] = ts[cuts.starts]
    header["idx_base"] = idx[cuts.starts]
    header["ts_step"] = ts_step
    header["idx_step"] = idx_step
    size, laid = _BLOCK_HEADER.itemsize, memoryview(header.tobytes())
    heads: _Parts = [laid[chunk * size : (chunk + 1) * size] for chunk in range(count)]
    return [
        b"".join(parts)
        for parts in zip(heads, ts_parts, idx_parts, *optional, lengths, blobs, strict=True)
    ]


def _pack_where(
    values: npt.NDArray[Any],
    wanted: npt.NDArray[np.bool_],
    codes: npt.NDArray[Any] | None,
    cuts: _Cuts,
    types: tuple[np.dtype[Any], ...],
) -> _Parts:
    """
    :param codes: Each chunk's width code; None: the first of ``types`` everywhere.
    :return: An optional column's bytes in the chunks that store it (``b""`` in the others),
        with :func:`_narrow_by_chunk` when some chunk does.
    """
    if not wanted.any():
        return [b""] * cuts.count
    if codes is None:
        codes = np.zeros(cuts.count, np.int64)
    return _narrow_by_chunk(values, codes, wanted, cuts.starts, cuts.ends, types)
