"""How one chunk of result rows is encoded for storage and decoded for paging.

Two steps. :func:`encode_table` turns result rows into a *stored table* whose columns are
chosen for zstd, not for reading: timestamps and event indexes become deltas between
neighbouring rows (results are ordered by time, so deltas are small and repetitive), null
flags move to their own columns, archive ids become small integer codes into a per-result
list (a 36-byte UUID repeated on every row otherwise costs ~4 bytes a row even after
compression), and a message that repeats its row's timestamp at its start
(``{"timestamp":1226398817000,...`` from text-log ingestion, ``{"timestamp":"2024-05-01T
00:00:04.320Z",...`` from JSON logs) loses that copy, which is rebuilt from the timestamp
column when the page is formatted. :mod:`logpager.cache.codec.layout` then lays each chunk of the
stored table out as plain bytes for the compressor (:func:`chunk_bytes` one chunk,
:func:`pack_chunks` many at once).

Measured per 1,000 events on 100-row chunks at zstd level 3 (synthetic JSON and the five
loghub samples), against the Arrow IPC message per chunk used before: the IPC message's
columns other than the message cost 1.7-5.8 KB compressed, this layout's header, number
columns and message lengths together 1.3-4.5 KB; whole chunks (no dictionary) became 16-38%
smaller with the timestamp copies dropped too (the copy alone: synthetic 10%, HDFS 6%,
Zookeeper 20%).

Decoding (:func:`decode_chunk_bytes`) reads the numbers with numpy views of the decompressed
bytes and keeps the messages as one string (one bytes object if the chunk is not ASCII), so a
page slices out only its own rows; Arrow's timestamp-to-string cast formats the whole chunk's
timestamps in one call (~10 us for 100 rows, ~17 us with the 'T' and 'Z' put in), the
cheapest way found here (numpy's datetime_as_string took 23 us, Python's datetime ~1 us a row).

:func:`decompress` holds zstd decompression contexts per thread, not per result: a context
with a digested dictionary costs ~120 KB of C memory that tracemalloc does not see, more
than a whole 2,000-event result.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from logpager.cache.codec.layout import (
    ARCHIVE_CODE,
    BASES,
    ELIDED_EPOCH,
    ELIDED_ISO,
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
    KIND_EVENTS,
    KIND_VERBATIM,
    SIGNED,
    UNSIGNED,
    chunk_bytes,
    pack_chunks,
)
from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE, TIMESTAMP, VERBATIM_SCHEMA

__all__ = [
    "ELIDED_NONE",
    "ENCODED_EVENT_SCHEMA",
    "DecodedChunk",
    "Link",
    "chunk_bytes",
    "decode_chunk",
    "decode_chunk_bytes",
    "decompress",
    "encode_chunks",
    "encode_group",
    "encode_table",
    "pack_chunks",
]

_JSON_TS_KEY = '{"timestamp":'
_JSON_TS_KEY_BYTES = len(_JSON_TS_KEY)
# '"' + 'YYYY-MM-DD' + 'T' + 'HH:MM:SS.fff' + 'Z"'
_ISO_ELIDED_BYTES = _JSON_TS_KEY_BYTES + 1 + 10 + 1 + 12 + 2
# Arrow's cast of a millisecond timestamp to text: 'YYYY-MM-DD HH:MM:SS.fff' for years
# 1000-9999 (other years are wider or narrower).
_ARROW_ISO_CHARS = 23
_FIXED_WIDTH_MS = (-30_610_224_000_000, 253_402_300_799_999)
_EPOCH_DIGITS = 13
# binary_slice with no stop fails on rows shorter than the start in pyarrow 26 ("Negative
# buffer resize"); a stop past any row's end means the same and works.
_TO_END = 2**31 - 1

# --- stored table ----------------------------------------------------------------------------


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


def _both(*conditions: pa.Array) -> pa.Array:
    """:return: The row-wise AND of boolean arrays, null counting as false."""
    out = conditions[0]
    for condition in conditions[1:]:
        out = pc.and_(out, condition)
    return pc.fill_null(out, False)


def _elide_timestamps(messages: pa.Array, timestamps: pa.Array) -> tuple[pa.Array, pa.Array]:
    """
    Drops a message's leading copy of its own timestamp where rebuilding it is exact.

    The check compares the message with exactly the text :class:`DecodedChunk` writes back
    (the decimal epoch milliseconds, or Arrow's ISO text with ``T`` and ``Z``), so a message
    that only looks similar (another precision, a space, another value) is kept whole.

    When every message is at least as long as the longest copy, their first bytes are read
    as numpy records and compared field by field; otherwise Arrow's string kernels do it,
    6x slower (1.5 ms against 0.25 ms for 4,096 synthetic events).

    :param messages: Message strings.
    :param timestamps: Their timestamps (epoch ms, int64, nullable).
    :return: The stored messages (binary) and the elision kind of each row (int8).
    """
    data = messages.cast(pa.binary())
    window = _leading_bytes(data)
    if window is None:
        return _elide_timestamps_generic(messages, data, timestamps)
    kinds = np.zeros(len(data), np.int8)
    keyed = _equal(window, _KEY_EXPECTED, ("k0", "k1", "k2"))
    if not keyed.any():
        return data, pa.array(kinds)
    keyed &= ~pc.is_null(timestamps).to_numpy(zero_copy_only=False)
    values = pc.fill_null(timestamps, 0).to_numpy()
    # Epoch milliseconds of 13 digits (2001-09-09 to 2286-11-20) followed by a comma; other
    # lengths are rare enough to leave to the generic path.
    thirteen = (values >= 10 ** (_EPOCH_DIGITS - 1)) & (values < 10**_EPOCH_DIGITS)
    opened = window["open"] == ord('"')
    if (keyed & ~thirteen & ~opened).any():
        return _elide_timestamps_generic(messages, data, timestamps)
    epoch = keyed & thirteen & (window["after_digits"] == ord(","))
    candidates = np.flatnonzero(epoch)
    if len(candidates):
        text = pc.cast(pa.array(values[candidates]), pa.string())
        expected = np.frombuffer(text.buffers()[2], _EPOCH_TEXT, len(candidates))
        epoch[candidates] = _equal(_rows(window, candidates), expected, ("d0", "d1", "d2"))

    # '"YYYY-MM-DDTHH:MM:SS.fffZ"' against Arrow's 'YYYY-MM-DD HH:MM:SS.fff'.
    iso = (
        keyed
        & ~epoch
        & (values >= _FIXED_WIDTH_MS[0])
        & (values <= _FIXED_WIDTH_MS[1])
        & opened
        & (window["t"] == ord("T"))
        & (window["close"] == _CLOSE_EXPECTED)
    )
    candidates = np.flatnonzero(iso)
    if len(candidates):
        text = pc.cast(pa.array(values[candidates], pa.timestamp("ms")), pa.string())
        expected = np.frombuffer(text.buffers()[2], _ARROW_ISO_TEXT, len(candidates))
        iso[candidates] = _equal(
            _rows(window, candidates), expected, ("date0", "date1", "time0", "time1")
        )

    stored = data
    for kind, mask, dropped in (
        (ELIDED_EPOCH, epoch, _JSON_TS_KEY_BYTES + _EPOCH_DIGITS),
        (ELIDED_ISO, iso, _ISO_ELIDED_BYTES),
    ):
        if mask.all():
            stored = pc.binary_slice(data, dropped, _TO_END)
        elif mask.any():
            stored = pc.if_else(pa.array(mask), pc.binary_slice(data, dropped, _TO_END), stored)
        kinds[mask] = kind
    return stored, pa.array(kinds)


# The first bytes of a message, as integer fields where a timestamp copy would be:
# '{"timestamp":' then 13 digits and ',' or '"' 'YYYY-MM-DD' 'T' 'HH:MM:SS.fff' 'Z"'. Text is
# compared as integers of 8, 4, 2 and 1 bytes: numpy compares those ~10x faster than bytes
# fields, which it also pads and strips of trailing NULs.
_LEADING_FIELDS = np.dtype(
    {
        "names": [
            *("k0", "k1", "k2"),
            *("d0", "d1", "d2", "after_digits"),
            *("open", "date0", "date1", "t", "time0", "time1", "close"),
        ],
        "formats": [
            *("<u8", "<u4", "u1"),
            *("<u8", "<u4", "u1", "u1"),
            *("u1", "<u8", "<u2", "u1", "<u8", "<u4", "<u2"),
        ],
        "offsets": [0, 8, 12, 13, 21, 25, 26, 13, 14, 22, 24, 25, 33, 37],
        "itemsize": _ISO_ELIDED_BYTES,
    }
)
# Arrow's text of epoch milliseconds (13 digits) and of a timestamp, 'YYYY-MM-DD HH:MM:SS.fff'.
_EPOCH_TEXT = np.dtype(
    {"names": ["d0", "d1", "d2"], "formats": ["<u8", "<u4", "u1"], "offsets": [0, 8, 12]}
)
_ARROW_ISO_TEXT = np.dtype(
    {
        "names": ["date0", "date1", "time0", "time1"],
        "formats": ["<u8", "<u2", "<u8", "<u4"],
        "offsets": [0, 8, 11, 19],
        "itemsize": _ARROW_ISO_CHARS,
    }
)
_KEY_EXPECTED = np.frombuffer(
    (_JSON_TS_KEY + " " * (_ISO_ELIDED_BYTES - _JSON_TS_KEY_BYTES)).encode(), _LEADING_FIELDS
)[0]
_CLOSE_EXPECTED = int.from_bytes(b'Z"', "little")


def _rows(records: npt.NDArray[np.void], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.void]:
    """:return: Some of the records (all of them without a copy)."""
    return records if len(rows) == len(records) else records[rows]


def _equal(
    records: npt.NDArray[np.void], expected: npt.NDArray[np.void] | np.void, names: tuple[str, ...]
) -> npt.NDArray[np.bool_]:
    """:return: Whether each record's fields ``names`` equal ``expected``'s."""
    result: npt.NDArray[np.bool_] = records[names[0]] == expected[names[0]]
    for name in names[1:]:
        result &= records[name] == expected[name]
    return result


def _leading_bytes(data: pa.Array) -> npt.NDArray[np.void] | None:
    """
    :return: The first bytes of every value as :data:`_LEADING_FIELDS` records, or None if
        some value is shorter (or there are none).
    """
    rows, width = len(data), _LEADING_FIELDS.itemsize
    window = pc.binary_slice(data, 0, width)
    buffers = window.buffers()
    if not rows or buffers[2] is None:
        return None
    offsets = np.frombuffer(buffers[1], np.int32, rows + 1, window.offset * 4)
    start, end = int(offsets[0]), int(offsets[-1])
    # No value is longer than width, so the total is rows * width only if none is shorter.
    if end - start != rows * width:
        return None
    records: npt.NDArray[np.void] = np.frombuffer(buffers[2], _LEADING_FIELDS, rows, start)
    return records


# Arrow scalars for the generic path's comparisons (pyarrow converts Python values anew on
# every call, ~60 us each).
_COMMA = pa.scalar(b",", pa.binary())
_QUOTE = pa.scalar(b'"', pa.binary())
_T = pa.scalar(b"T", pa.binary())
_Z_QUOTE = pa.scalar(b'Z"', pa.binary())
_NOT_ELIDED = pa.scalar(ELIDED_NONE, pa.int8())
_ARROW_ISO_LENGTH = pa.scalar(_ARROW_ISO_CHARS, pa.int32())


def _elide_timestamps_generic(
    messages: pa.Array, data: pa.Array, timestamps: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """:func:`_elide_timestamps` for messages of any length, with Arrow's string kernels."""
    kinds = np.zeros(len(messages), np.int8)
    starts = pc.fill_null(pc.starts_with(messages, _JSON_TS_KEY), False)
    if not pc.any(starts).as_py():
        return data, pa.array(kinds)
    stored = data
    head = _JSON_TS_KEY_BYTES

    epoch = pc.cast(timestamps, pa.string()).cast(pa.binary())
    digits = pc.binary_length(epoch)
    for width in pc.unique(digits).drop_null().to_pylist():
        mask = _both(
            starts,
            pc.equal(digits, pa.scalar(width, digits.type)),
            pc.equal(pc.binary_slice(data, head, head + width), epoch),
            pc.equal(pc.binary_slice(data, head + width, head + width + 1), _COMMA),
        )
        if pc.any(mask).as_py():
            stored = pc.if_else(mask, pc.binary_slice(data, head + width, _TO_END), stored)
            kinds[mask.to_numpy(zero_copy_only=False)] = ELIDED_EPOCH

    iso = pc.cast(timestamps.view(pa.timestamp("ms")), pa.string()).cast(pa.binary())
    mask = _both(
        starts,
        pc.equal(pa.array(kinds), _NOT_ELIDED),
        pc.equal(pc.binary_length(iso), _ARROW_ISO_LENGTH),
        pc.equal(pc.binary_slice(data, head, head + 1), _QUOTE),
        pc.equal(pc.binary_slice(data, head + 1, head + 11), pc.binary_slice(iso, 0, 10)),
        pc.equal(pc.binary_slice(data, head + 11, head + 12), _T),
        pc.equal(pc.binary_slice(data, head + 12, head + 24), pc.binary_slice(iso, 11, 23)),
        pc.equal(pc.binary_slice(data, head + 24, head + 26), _Z_QUOTE),
    )
    if pc.any(mask).as_py():
        stored = pc.if_else(mask, pc.binary_slice(data, _ISO_ELIDED_BYTES, _TO_END), stored)
        kinds[mask.to_numpy(zero_copy_only=False)] = ELIDED_ISO
    return stored, pa.array(kinds)


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
    messages, elided = _elide_timestamps(
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


# --- decoding --------------------------------------------------------------------------------

Link = tuple[str, str] | None
"""A link rendered around its event index, ``(before, after)``; None where it is ``N/A``."""

_STAMP_CHARS = 24  # 'YYYY-MM-DDTHH:MM:SS.fffZ'


@dataclass(slots=True)
class DecodedChunk:
    """
    One chunk ready to format any of its pages cheaply.

    Messages stay in one ``text`` string when the chunk is ASCII (a page slices its rows out
    by ``offsets``), else in ``data`` bytes decoded a row at a time. ``stamps`` is the item
    timestamp of every row (``YYYY-MM-DDTHH:MM:SS.fffZ``) back to back in one string, 24
    characters a row, or a list when some year does not have four digits; rows flagged in
    ``timestamp_nulls`` have none. The other lists are None when the chunk does not need them
    (verbatim items; no nulls; archive code 0 on every row; no timestamp copy dropped).
    """

    text: str | None
    data: bytes | None
    offsets: list[int]
    stamps: str | list[str] | None
    timestamp_nulls: list[bool] | None
    indexes: list[int] | None
    index_nulls: list[bool] | None
    archive_codes: list[int] | None
    elided: list[int] | None
    """Each row's elision kind, when they are not all the same."""
    elided_kind: int
    """The elision kind of every row, when it is the same (else ``ELIDED_MIXED``)."""
    timestamps: list[int] | None
    """Epoch milliseconds, when a row's epoch copy was dropped from its message."""

    nbytes: int
    """Approximate bytes held: the decoded payload plus CPython's per-object overhead."""

    @property
    def num_rows(self) -> int:
        """:return: Rows in the chunk."""
        return len(self.offsets) - 1

    def stored_messages(self, start: int, stop: int) -> list[str]:
        """
        :param start: First row.
        :param stop: Row after the last.
        :return: Messages of rows ``start:stop`` as stored (the verbatim items, or event
            messages without any dropped timestamp copy; see :meth:`messages`).
        """
        offsets = self.offsets
        if self.text is not None:
            text = self.text
            return [text[offsets[row] : offsets[row + 1]] for row in range(start, stop)]
        data = self.data or b""
        return [data[offsets[row] : offsets[row + 1]].decode() for row in range(start, stop)]

    def stamp(self, row: int) -> str | None:
        """
        :param row: Row in the chunk.
        :return: The row's item timestamp (``YYYY-MM-DDTHH:MM:SS.fffZ``), None if it has none.
        """
        if self.stamps is None or (self.timestamp_nulls and self.timestamp_nulls[row]):
            return None
        if isinstance(self.stamps, str):
            return self.stamps[row * _STAMP_CHARS : (row + 1) * _STAMP_CHARS]
        return self.stamps[row]

    def restore(self, row: int, stored: str) -> str:
        """
        :param row: Row in the chunk.
        :param stored: Its stored message.
        :return: The original message (the dropped timestamp copy put back, if any).
        """
        kind = self.elided[row] if self.elided is not None else self.elided_kind
        if kind == ELIDED_EPOCH:
            assert self.timestamps is not None
            return f"{_JSON_TS_KEY}{self.timestamps[row]}{stored}"
        if kind == ELIDED_ISO:
            return f'{_JSON_TS_KEY}"{self.stamp(row)}"{stored}'
        return stored

    def messages(self, start: int, stop: int) -> list[str]:
        """
        :param start: First row.
        :param stop: Row after the last.
        :return: The original messages of rows ``start:stop``.
        """
        stored = self.stored_messages(start, stop)
        if self.elided is None and self.elided_kind == ELIDED_NONE:
            return stored
        return [
            self.restore(row, message)
            for row, message in zip(range(start, stop), stored, strict=True)
        ]

    def items(self, start: int, stop: int, links: list[Link]) -> list[str]:
        """
        Formats rows as the reference's item lines,
        ``timestamp: <ISO>, message: <original event>, link: <link>``.

        Verbatim chunks return their items as stored.

        :param start: First row.
        :param stop: Row after the last (at most :attr:`num_rows`).
        :param links: Each archive code's link pieces.
        :return: The items of rows ``start:stop``.
        """
        indexes, stamps, text = self.indexes, self.stamps, self.text
        if indexes is None or stamps is None:
            return self.stored_messages(start, stop)
        link, kind = links[0], self.elided_kind
        if (
            link is None
            or text is None
            or not isinstance(stamps, str)
            or self.archive_codes is not None
            or self.index_nulls is not None
            or self.timestamp_nulls is not None
            or kind == ELIDED_MIXED
        ):
            return [
                self._item(row, message, links)
                for row, message in zip(
                    range(start, stop), self.stored_messages(start, stop), strict=True
                )
            ]
        # The warm-page cost is one of these loops: one f-string an item, the timestamp and
        # the message sliced from the chunk's text, a dropped timestamp copy written inline.
        # Plain loops over local names measured 3.5 us for 10 synthetic rows, against 5.3
        # for comprehensions over zipped lists.
        before, after = link
        offsets, width = self.offsets, _STAMP_CHARS
        out = []
        if kind == ELIDED_ISO:
            for row in range(start, stop):
                stamp = stamps[row * width : row * width + width]
                out.append(
                    f'timestamp: {stamp}, message: {{"timestamp":"{stamp}"'
                    f"{text[offsets[row] : offsets[row + 1]]}, "
                    f"link: {before}{indexes[row]}{after}"
                )
        elif kind == ELIDED_EPOCH:
            epochs = self.timestamps
            assert epochs is not None
            for row in range(start, stop):
                out.append(
                    f"timestamp: {stamps[row * width : row * width + width]}, message: "
                    f'{{"timestamp":{epochs[row]}{text[offsets[row] : offsets[row + 1]]}, '
                    f"link: {before}{indexes[row]}{after}"
                )
        else:
            for row in range(start, stop):
                out.append(
                    f"timestamp: {stamps[row * width : row * width + width]}, message: "
                    f"{text[offsets[row] : offsets[row + 1]]}, "
                    f"link: {before}{indexes[row]}{after}"
                )
        return out

    def _item(self, row: int, stored: str, links: list[Link]) -> str:
        """Formats one row in general: any archive, ``N/A`` for a missing timestamp or link."""
        assert self.indexes is not None
        stamp = self.stamp(row)
        code = self.archive_codes[row] if self.archive_codes is not None else 0
        link = links[code]
        if link is None or (self.index_nulls is not None and self.index_nulls[row]):
            where = "N/A"
        else:
            where = f"{link[0]}{self.indexes[row]}{link[1]}"
        message = self.restore(row, stored)
        return f"timestamp: {stamp or 'N/A'}, message: {message}, link: {where}"


# CPython overhead per decoded row: an offset int and list slot (~36 bytes), the event
# index int and slot (~36) and 24 characters of timestamp text.
_ROW_OVERHEAD_BYTES = 36 + 36 + _STAMP_CHARS
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
    :return: The absolute values of a delta column (see :func:`_pack_deltas`) and the next
        position. A cold page pays for every numpy call here (~1 us each on 100 rows).
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
    if rows and np.frombuffer(buffers[1], np.int32, 1, rows * 4)[0] == rows * _ARROW_ISO_CHARS:
        # 'YYYY-MM-DD HH:MM:SS.fff' becomes 'YYYY-MM-DDTHH:MM:SS.fffZ' in one gather.
        padded = np.empty(rows * _ARROW_ISO_CHARS + 2, np.uint8)
        padded[:-2] = np.frombuffer(buffers[2], np.uint8, rows * _ARROW_ISO_CHARS)
        padded[-2:] = (ord("T"), ord("Z"))
        return padded[_widening(rows)].tobytes().decode("ascii")
    return [f"{iso[:10]}T{iso[11:]}Z" for iso in text.to_pylist()]


@functools.lru_cache(maxsize=16)
def _widening(rows: int) -> npt.NDArray[np.intp]:
    """
    :return: Indexes that turn ``rows`` of Arrow's timestamp text followed by ``TZ`` into
        the item timestamps (the space becomes ``T``, a ``Z`` follows the milliseconds).
    """
    text_t, text_z = rows * _ARROW_ISO_CHARS, rows * _ARROW_ISO_CHARS + 1
    row = [*range(10), text_t, *range(11, _ARROW_ISO_CHARS), text_z]
    starts = np.arange(rows)[:, None] * _ARROW_ISO_CHARS
    pattern = np.array(row)
    gather = np.where(pattern < text_t, starts + pattern, pattern)
    result: npt.NDArray[np.intp] = gather.ravel().astype(np.intp)
    return result


def decode_chunk_bytes(raw: bytes) -> DecodedChunk:
    """
    Decodes one decompressed chunk.

    :param raw: Bytes made by :func:`chunk_bytes`.
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
            text, data, offsets, None, None, None, None, None, None, ELIDED_NONE, None, nbytes
        )
    if kind != KIND_EVENTS:
        msg = (
            "not a chunk: compress chunkcodec.chunk_bytes(batch), not an Arrow IPC message"
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
        _held_bytes(text, data) + _ROW_OVERHEAD_BYTES * rows,
    )


def decode_chunk(batch: pa.RecordBatch, single_archive: bool) -> DecodedChunk:
    """
    Decodes a stored batch (as read back from an Arrow IPC message).

    :param batch: A batch with :data:`ENCODED_EVENT_SCHEMA` or the verbatim schema.
    :param single_archive: Unused; every chunk records whether it has other archive codes.
    :return: The chunk, ready to format pages from.
    """
    del single_archive
    return decode_chunk_bytes(chunk_bytes(batch))


# --- decompression contexts ------------------------------------------------------------------

# Contexts with a dictionary kept per thread. A cold page of a result whose context is not
# here pays ~16 us to digest its dictionary again (measured: 31 us against 15 us for a 25 KB
# chunk); four cover an agent paging a few results in turn, for ~0.5 MB a thread.
_DICTIONARY_CONTEXTS = 4


class _Contexts(threading.local):
    """One thread's zstd decompression contexts (python-zstandard's are not thread-safe)."""

    def __init__(self) -> None:
        self.plain = zstandard.ZstdDecompressor()
        self.with_dictionary: OrderedDict[bytes, zstandard.ZstdDecompressor] = OrderedDict()


_contexts = _Contexts()


def decompress(blob: bytes, dictionary: bytes | None) -> bytes:
    """
    Decompresses one chunk with this thread's shared context.

    :param blob: A zstd frame with its content size.
    :param dictionary: The result's dictionary, if it was compressed with one.
    :return: The chunk's bytes.
    :raise zstandard.ZstdError: If the frame is corrupt or needs another dictionary.
    """
    contexts = _contexts
    if not dictionary:
        return bytes(contexts.plain.decompress(blob))
    cache = contexts.with_dictionary
    # Keyed by the bytes object: its hash is computed once and cached by CPython, and a
    # lookup compares identity first.
    context = cache.get(dictionary)
    if context is None:
        context = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary))
        cache[dictionary] = context
        if len(cache) > _DICTIONARY_CONTEXTS:
            cache.popitem(last=False)
    else:
        cache.move_to_end(dictionary)
    return bytes(context.decompress(blob))
