"""``clp-s``'s stream of msgpack hits, decoded straight into Arrow blocks of hits.

Each hit is a msgpack array ``[timestamp_ms, event_json, path, archive_id, index]``. Decoded
with ``msgpack`` (one Python tuple of five objects a hit) and then turned into Arrow columns,
the hits of 1,000,000 synthetic events (180,251 hits, 55 MB) cost this process ~0.17 s of CPU
in the reading thread, as much as a quarter of what ``clp-s`` itself spends on the search; and
while that thread is busy, ``clp-s`` may block on a full pipe. :class:`HitDecoder` finds the
hits of each read with numpy instead, and hands them over as one Arrow block, the messages
and archive ids gathered by Arrow from the bytes read (through a ``binary_view`` array).

How: an archive id is a UUID, a msgpack ``str8`` of 36 bytes (``d9 24``) whose dashes stand at
fixed places; those two bytes never occur in UTF-8 text, so each hit's archive id is found by
a scan for them. From there the hit ends after its event index, and the next one starts.
Every hit is then parsed from its start exactly as a msgpack decoder would (array of five,
integer, string, string) and must reach its archive id precisely; a parse that does not (a
false match inside a number, an archive id of another form, any other encoding) is never
guessed at: from that read on, the stream goes through ``msgpack`` and
:func:`rows_as_block`, as before, which also reports malformed output as it always did.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE
from logpager.search.child import RowDecoder, Rows
from logpager.search.ranking import HIT_KEY, NO_TIMESTAMP

__all__ = ["HitDecoder", "rows_as_block"]

# Arrow scalars for compute calls: pyarrow converts a Python int argument anew on each call,
# and its conversion tries to import dateutil every time (~60 us a call when dateutil is not
# installed, against ~5 us with a scalar).
_ZERO = pa.scalar(0, pa.int64())
_NO_TIMESTAMP_KEY = pa.scalar(NO_TIMESTAMP, pa.int64())

_ARRAY_OF_FIVE = 0x95
_ID_BYTES = 36
_ID_HEAD = 2  # d9 24
_DASHES = np.array([8, 13, 18, 23]) + _ID_HEAD
# A hit parsed in place reads at most 9 bytes past a position it checks (a 64-bit integer).
_PAD = b"\0" * 16
# Without a whole hit in this many bytes, the stream is not read in place (a hit this large,
# or output that is not hits at all): msgpack takes it from there.
_MAX_TAIL = 1 << 20

# msgpack integers: type byte -> (bytes after it, big-endian numpy type).
_INTS = {
    0xCC: ">u1",
    0xCD: ">u2",
    0xCE: ">u4",
    0xCF: ">u8",
    0xD0: ">i1",
    0xD1: ">i2",
    0xD2: ">i4",
    0xD3: ">i8",
}
# msgpack strings and binaries (``raw=True`` reads both as bytes): type byte -> length type.
_STRS = {0xD9: ">u1", 0xDA: ">u2", 0xDB: ">u4", 0xC4: ">u1", 0xC5: ">u2", 0xC6: ">u4"}

_Ints = npt.NDArray[np.int64]


class HitDecoder:
    """
    Decodes ``clp-s``'s msgpack hits as they are read, into blocks of hits.

    A block is a record batch with the columns ``key`` (the timestamp, epoch ms, with
    :data:`~logpager.search.ranking.NO_TIMESTAMP` where ``clp-s`` reports 0), ``message``
    (the event's JSON without its final newline), ``archive_id`` and ``log_event_index``.

    :param on_block: Called in the reading thread with the hits decoded (not with none).
    :param min_bytes: Bytes gathered before they are decoded in place: each decoding costs
        ~30 numpy and Arrow calls however few hits it finds (reads of 64 KiB took twice the
        CPU of msgpack's way, reads of 1 MiB 0.77 of it).
    """

    def __init__(self, on_block: Callable[[pa.RecordBatch], object], min_bytes: int = 0) -> None:
        self._on_block = on_block
        self._min_bytes = min_bytes
        # The bytes held (the hit held over from the last decoding, then the bytes fed since)
        # at its start, then _PAD. Fed bytes are copied here, which leaves the reader free to
        # reuse its buffers; joining fresh reads before each decoding instead cost
        # 0.035-0.055 s of CPU for 55 MB of hits.
        self._buffer = bytearray()
        self._held = 0
        self._msgpack: RowDecoder | None = None
        """Set once the stream cannot be read in place: msgpack decodes the rest."""
        self.in_place = 0
        """Hits decoded in place (the others went through ``msgpack``)."""

    def feed(self, data: bytes | memoryview) -> int:
        """
        :param data: The next bytes of the stream (copied: the caller may reuse them).
        :return: The hits they completed.
        :raise ValueError: Or ``TypeError``, ``msgpack.UnpackException``: if the stream is
            not made of hits.
        """
        if self._msgpack is not None:
            return self._msgpack.feed(data)
        count = len(data)
        need = self._held + count + len(_PAD)
        if len(self._buffer) < need:
            # A new buffer rather than a resize: a bytearray cannot grow while viewed.
            grown = bytearray(max(need, 2 * len(self._buffer)))
            grown[: self._held] = self._buffer[: self._held]
            self._buffer = grown
        self._buffer[self._held : self._held + count] = data
        self._held += count
        if self._held < self._min_bytes:
            return 0
        return self._decode()

    def _decode(self) -> int:
        """Decodes the bytes held in place, or starts msgpack on them."""
        buffer, size = self._buffer, self._held
        buffer[size : size + len(_PAD)] = _PAD  # room for reads past the end
        parsed = _parse(buffer, size)
        if parsed is not None:
            block, used = parsed
            left = size - used
            if left <= _MAX_TAIL:
                # The hit cut by the read moves to the start (the buffer is decoded anew
                # from there; no Arrow array of the block points into it).
                buffer[:left] = buffer[used:size]
                self._held = left
                if block is None:
                    return 0
                hits: int = block.num_rows
                self.in_place += hits
                self._on_block(block)
                return hits
        return self._to_msgpack()

    def finish(self) -> int:
        """
        Decodes what is left once the stream has ended.

        :return: Bytes left over that do not make a whole hit (0 for a stream that ended
            cleanly).
        :raise ValueError: Or ``TypeError``, ``msgpack.UnpackException``: as :meth:`feed`.
        """
        if self._msgpack is None and self._held:
            self._decode()
        if self._msgpack is None:
            if not self._held:
                return 0
            self._to_msgpack()
        assert self._msgpack is not None
        return self._msgpack.finish()

    def _to_msgpack(self) -> int:
        """Hands the bytes held, and the rest of the stream, to msgpack's decoding."""
        self._msgpack = RowDecoder(self._rows_decoded)
        with memoryview(self._buffer) as view:
            hits = self._msgpack.feed(view[: self._held])
        self._held = 0
        return hits

    def _rows_decoded(self, rows: Rows) -> None:
        if rows:
            self._on_block(rows_as_block(rows))


def rows_as_block(rows: Rows) -> pa.RecordBatch:
    """
    :param rows: Hits decoded by ``msgpack`` (at least one).
    :return: Them as a block (see :class:`HitDecoder`).
    :raise TypeError: Or ``ValueError``: if a row is not a hit.
    """
    ts, messages, _paths, archive_ids, indexes = zip(*rows, strict=True)
    joined = b"".join(messages)
    offset_type = pa.int64() if len(joined) >= 2**31 - 1 else pa.int32()
    binary_type = pa.large_binary() if offset_type == pa.int64() else pa.binary()
    offsets = pa.array(itertools.accumulate(map(len, messages), initial=0), offset_type)
    raw = pa.Array.from_buffers(
        binary_type, len(messages), [None, offsets.buffers()[1], pa.py_buffer(joined)]
    )
    raw_ts = pa.array(ts, pa.int64())
    key = pc.if_else(pc.equal(raw_ts, _ZERO), _NO_TIMESTAMP_KEY, raw_ts)
    archive = pa.array(archive_ids, pa.binary()).cast(pa.string())
    return _block(key, _message_column(raw), archive, pa.array(indexes, pa.int64()))


def _message_column(raw: pa.Array) -> pa.Array:
    """:return: Events as ``clp-s`` wrote them, without the final newline, as strings."""
    # clp-s ends every event with "\n"; cutting one byte is 10x cheaper than a trim.
    if pc.all(pc.ends_with(raw, b"\n")).as_py():
        message = pc.binary_slice(raw, 0, -1)
    else:  # pragma: no cover - defensive
        message = pc.utf8_rtrim(raw.cast(pa.large_string()), characters="\n")
    return message.cast(pa.string())


def _block(key: pa.Array, message: pa.Array, archive: pa.Array, index: pa.Array) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [key, message, archive, index], names=[HIT_KEY, MESSAGE, ARCHIVE_ID, LOG_EVENT_INDEX]
    )


def _parse(data: bytes | bytearray, size: int) -> tuple[pa.RecordBatch | None, int] | None:
    """
    Decodes the whole hits at the start of ``data`` in place.

    :param data: The stream's bytes: ``size`` of them, then :data:`_PAD` (any bytes after
        it are never read).
    :param size: The bytes of the stream in ``data``.
    :return: Their block (None if there is no whole hit) and the bytes they take; None if
        the bytes cannot be read in place (let ``msgpack`` read them).
    """
    buffer = pa.py_buffer(data)
    raw = np.frombuffer(buffer, np.uint8)
    heads = np.flatnonzero(raw[: max(size - _ID_HEAD - _ID_BYTES, 0)] == 0xD9)
    anchors = heads[raw[heads + 1] == _ID_BYTES]
    if len(anchors):
        anchors = anchors[(raw[anchors[:, None] + _DASHES] == ord("-")).all(axis=1)]
    if not len(anchors):
        return None, 0
    indexes, index_bytes, ints_ok = _ints(raw, anchors + _ID_HEAD + _ID_BYTES)
    ends = anchors + _ID_HEAD + _ID_BYTES + index_bytes
    whole = ends <= size
    if not whole.all():
        # A hit cut by the read ends the hits read now (a later one is a false match).
        stop = int(np.argmin(whole))
        anchors, indexes, ends, ints_ok = (
            anchors[:stop],
            indexes[:stop],
            ends[:stop],
            ints_ok[:stop],
        )
        if not len(anchors):
            return None, 0
    starts = np.concatenate(([0], ends[:-1]))
    timestamps, ts_bytes, ts_ok = _ints(raw, starts + 1)
    message_at = np.minimum(starts + 1 + ts_bytes, size)
    message_head, message_bytes, message_ok = _strs(raw, message_at)
    path_at = np.minimum(message_at + message_head + message_bytes, size)
    path_head, path_bytes, path_ok = _strs(raw, path_at)
    valid = (
        (raw[starts] == _ARRAY_OF_FIVE)
        & ints_ok
        & ts_ok
        & message_ok
        & path_ok
        & (path_at + path_head + path_bytes == anchors)
    )
    if not valid.all():
        return None
    message_at = message_at + message_head
    if (message_bytes > 0).all() and (raw[message_at + message_bytes - 1] == ord("\n")).all():
        # clp-s ends every event with "\n": the view leaves it out.
        message = _views(raw, buffer, message_at, message_bytes - 1).cast(pa.binary())
        message = message.cast(pa.string())
    else:  # pragma: no cover - defensive
        message = _message_column(_views(raw, buffer, message_at, message_bytes).cast(pa.binary()))
    archives = _views(raw, buffer, anchors + _ID_HEAD, np.full(len(anchors), _ID_BYTES))
    key = np.where(timestamps == 0, NO_TIMESTAMP, timestamps)
    block = _block(
        pa.array(key, pa.int64()),
        message,
        archives.cast(pa.binary()).cast(pa.string()),
        pa.array(indexes, pa.int64()),
    )
    return block, int(ends[-1])


def _ints(raw: npt.NDArray[np.uint8], at: _Ints) -> tuple[_Ints, _Ints, npt.NDArray[np.bool_]]:
    """:return: The msgpack integers at ``at``: values, bytes taken, and which are integers
    that fit in 64 signed bits."""
    head = raw[at].astype(np.int64)
    values = np.where(head >= 0xE0, head - 256, head)
    taken = np.ones(len(at), np.int64)
    ok = (head <= 0x7F) | (head >= 0xE0)
    for code, found, numbers, size in _numbers_after(raw, at, head, ok, _INTS):
        # A uint64 past int64's range stays not ok: msgpack's own decoding takes the stream.
        fits = numbers < np.uint64(2**63) if code == 0xCF else slice(None)
        chosen = found[fits]
        values[chosen] = numbers[fits].astype(np.int64)
        taken[chosen] = size
        ok[chosen] = True
    return values, taken, ok


def _strs(raw: npt.NDArray[np.uint8], at: _Ints) -> tuple[_Ints, _Ints, npt.NDArray[np.bool_]]:
    """:return: The msgpack strings (or binaries) at ``at``: header bytes, lengths, and
    which are strings."""
    head = raw[at].astype(np.int64)
    ok = (head & 0xE0) == 0xA0  # fixstr
    header = np.ones(len(at), np.int64)
    lengths = head & 0x1F
    for _, chosen, number, size in _numbers_after(raw, at, head, ok, _STRS):
        lengths[chosen] = number.astype(np.int64)
        header[chosen] = size
        ok[chosen] = True
    return header, lengths, ok


def _numbers_after(
    raw: npt.NDArray[np.uint8],
    at: _Ints,
    head: _Ints,
    done: npt.NDArray[np.bool_],
    kinds: dict[int, str],
) -> Iterator[tuple[int, _Ints, npt.NDArray[Any], int]]:
    """
    :param head: The type byte at each of ``at``.
    :param done: Where the type byte holds its value itself (no number follows).
    :param kinds: Type byte -> the big-endian numpy type of the number after it.
    :return: For each type byte present (not ``done``) that ``kinds`` knows: the byte, the
        positions that have it, the numbers after it there, and the bytes they take with it.
    """
    for code in _codes(head, done):
        kind = kinds.get(code)
        if kind is None:
            continue
        chosen = _where(head == code)
        dtype = np.dtype(kind)
        laid = raw[at[chosen, None] + 1 + np.arange(dtype.itemsize)]
        yield code, chosen, np.ascontiguousarray(laid).view(dtype).reshape(-1), 1 + dtype.itemsize


def _where(mask: npt.NDArray[np.bool_]) -> _Ints:
    """:return: The positions where ``mask`` holds (all of them without a search, if so)."""
    if mask.all():
        return np.arange(len(mask))
    found: _Ints = np.flatnonzero(mask)
    return found


def _codes(head: _Ints, done: npt.NDArray[np.bool_]) -> list[int]:
    """:return: The type bytes in ``head`` where not ``done`` (mostly one, or none)."""
    rest = head[~done]
    if not len(rest):
        return []
    first = int(rest[0])
    if (rest == first).all():
        return [first]
    # Type bytes are 0-255: counting them is ~5x faster than np.unique's sort.
    present: list[int] = np.flatnonzero(np.bincount(rest, minlength=256)).tolist()
    return present


def _views(raw: npt.NDArray[np.uint8], buffer: pa.Buffer, at: _Ints, lengths: _Ints) -> pa.Array:
    """:return: A ``binary_view`` array of the bytes ``at`` .. ``at + lengths`` of ``raw``
    (held in ``buffer``): short values inline, longer ones by prefix and offset."""
    count = len(at)
    views = np.zeros((count, 16), np.uint8)
    words = views.view("<i4")
    words[:, 0] = lengths
    short = lengths <= 12
    if short.any():
        chosen = np.flatnonzero(short)
        span = np.arange(12)
        laid = raw[at[chosen, None] + span]
        views[chosen, 4:16] = np.where(span < lengths[chosen, None], laid, 0)
    long = ~short
    if long.any():
        chosen = np.flatnonzero(long)
        views[chosen, 4:8] = raw[at[chosen, None] + np.arange(4)]
        words[chosen, 3] = at[chosen]
    return pa.Array.from_buffers(pa.binary_view(), count, [None, pa.py_buffer(views), buffer])
