"""Decoding a decompressed chunk into a :class:`DecodedChunk` that pages are cut from.

:func:`decode_chunk_bytes` reads the numbers with numpy views of the decompressed bytes and
keeps the messages as one string (one bytes object if the chunk is not ASCII), so a page
slices out only its own rows; Arrow's timestamp-to-string cast formats the whole chunk's
timestamps in one call (~10 us for 100 rows, ~17 us with the 'T' and 'Z' put in), the
cheapest way found here (numpy's datetime_as_string took 23 us, Python's datetime ~1 us a row).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.layout import (
    ARROW_ISO_CHARS,
    BASES,
    ELIDED_EPOCH,
    ELIDED_ISO,
    ELIDED_MIXED,
    ELIDED_NONE,
    EVEN_IDX,
    EVEN_TS,
    HAS_CODES,
    HAS_ELIDED,
    HAS_IDX_NULLS,
    HAS_TS_NULLS,
    HEADER,
    JSON_TS_KEY,
    KIND_EVENTS,
    KIND_VERBATIM,
    SIGNED,
    UNSIGNED,
)

__all__ = ["DecodedChunk", "Link", "decode_chunk_bytes"]


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
            return f"{JSON_TS_KEY}{self.timestamps[row]}{stored}"
        if kind == ELIDED_ISO:
            return f'{JSON_TS_KEY}"{self.stamp(row)}"{stored}'
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
