"""Dropping the copy of its own timestamp that a message starts with, where rebuilding it is exact.

Text-log ingestion wraps a line as ``{"timestamp":1226398817000,...`` and JSON logs often
start with ``{"timestamp":"2024-05-01T00:00:04.320Z",...``: the row's timestamp column holds
the same value, so the stored message loses that copy and the decoder writes it back from
the timestamp when the page is formatted. Measured per 1,000 events on 100-row chunks at zstd
level 3 (no dictionary), dropping the copy alone made chunks 10% smaller on synthetic JSON,
6% on HDFS and 20% on Zookeeper.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.layout import (
    ARROW_ISO_CHARS,
    ELIDED_EPOCH,
    ELIDED_ISO,
    ELIDED_NONE,
    JSON_TS_KEY,
)

__all__ = ["elide_timestamps"]

_JSON_TS_KEY_BYTES = len(JSON_TS_KEY)
# '"' + 'YYYY-MM-DD' + 'T' + 'HH:MM:SS.fff' + 'Z"'
_ISO_ELIDED_BYTES = _JSON_TS_KEY_BYTES + 1 + 10 + 1 + 12 + 2
_FIXED_WIDTH_MS = (-30_610_224_000_000, 253_402_300_799_999)
_EPOCH_DIGITS = 13
# binary_slice with no stop fails on rows shorter than the start in pyarrow 26 ("Negative
# buffer resize"); a stop past any row's end means the same and works.
_TO_END = 2**31 - 1


def elide_timestamps(messages: pa.Array, timestamps: pa.Array) -> tuple[pa.Array, pa.Array]:
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
        "itemsize": ARROW_ISO_CHARS,
    }
)
_KEY_EXPECTED = np.frombuffer(
    (JSON_TS_KEY + " " * (_ISO_ELIDED_BYTES - _JSON_TS_KEY_BYTES)).encode(), _LEADING_FIELDS
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


def _both(*conditions: pa.Array) -> pa.Array:
    """:return: The row-wise AND of boolean arrays, null counting as false."""
    out = conditions[0]
    for condition in conditions[1:]:
        out = pc.and_(out, condition)
    return pc.fill_null(out, False)


# Arrow scalars for the generic path's comparisons (pyarrow converts Python values anew on
# every call, ~60 us each).
_COMMA = pa.scalar(b",", pa.binary())
_QUOTE = pa.scalar(b'"', pa.binary())
_T = pa.scalar(b"T", pa.binary())
_Z_QUOTE = pa.scalar(b'Z"', pa.binary())
_NOT_ELIDED = pa.scalar(ELIDED_NONE, pa.int8())
_ARROW_ISO_LENGTH = pa.scalar(ARROW_ISO_CHARS, pa.int32())


def _elide_timestamps_generic(
    messages: pa.Array, data: pa.Array, timestamps: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """:func:`elide_timestamps` for messages of any length, with Arrow's string kernels."""
    kinds = np.zeros(len(messages), np.int8)
    starts = pc.fill_null(pc.starts_with(messages, JSON_TS_KEY), False)
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
