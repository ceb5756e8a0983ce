"""Timestamp elision with Arrow's string kernels: the oracle that the package's numpy path matches.

:func:`elide_timestamps_generic` was the package's path for messages shorter than the
longest timestamp copy and for epoch copies of other than 13 digits; the numpy path
(:func:`logpager.cache.codec.elide.elide_timestamps`) now takes every message, and the tests
check that both give the same stored messages and kinds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.layout import (
    ARROW_ISO_CHARS,
    ELIDED_EPOCH,
    ELIDED_ISO,
    ELIDED_NONE,
    JSON_TS_KEY,
)

__all__ = ["elide_timestamps_generic"]

_JSON_TS_KEY_BYTES = len(JSON_TS_KEY)
# '"' + 'YYYY-MM-DD' + 'T' + 'HH:MM:SS.fff' + 'Z"'
_ISO_ELIDED_BYTES = _JSON_TS_KEY_BYTES + 1 + 10 + 1 + 12 + 2
# binary_slice with no stop fails on rows shorter than the start in pyarrow 26 ("Negative
# buffer resize"); a stop past any row's end means the same and works.
_TO_END = 2**31 - 1


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


def elide_timestamps_generic(
    messages: pa.Array, data: pa.Array, timestamps: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """
    :func:`~logpager.cache.codec.elide.elide_timestamps` with Arrow's string kernels.

    :param messages: Message strings.
    :param data: The same as binary.
    :param timestamps: Their timestamps (epoch ms, int64, nullable).
    :return: The stored messages (binary) and the elision kind of each row (int8).
    """
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
