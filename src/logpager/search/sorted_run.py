"""One sorted run of a running search: its ranking keys in memory, its messages compressed.

A run's messages are serialized as Arrow IPC and zstd-compressed at a fast level, in pieces
of about ``piece_bytes`` of text (a few hundred rows), so the compression overlaps the search;
its ranking keys (timestamp, archive code, event index: 20 bytes a row) stay in memory as
numpy arrays. Runs are read front to back, so reading one needs only its current
decompressed piece.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import zstandard

from logpager.schema import MESSAGE
from logpager.search.ranking import Int32s, Int64s, Positions

__all__ = ["KeyColumns", "SortedRun", "compress_pieces", "concat_keys", "gather"]

_PIECE_SCHEMA = pa.schema([pa.field(MESSAGE, pa.string(), nullable=False)])

KeyColumns = tuple[Int64s, Int32s, Int64s]
"""Keys, archive codes and event indexes of some rows."""


class SortedRun:
    """
    One sorted run: its keys in memory, its messages in compressed pieces.

    The keys are held as a list of parts, so that a run can take in a block that ranks
    wholly above it (:meth:`extend_above`) without copying what it holds.

    :param keys: Ranking keys, in run order.
    :param codes: Archive codes, in run order.
    :param indexes: Event indexes, in run order.
    :param pieces: The compressed pieces of the messages, in run order.
    :param starts: The first row of each piece, plus the number of rows.
    """

    __slots__ = ("_current", "_parts", "pieces", "starts")

    def __init__(
        self,
        keys: Int64s,
        codes: Int32s,
        indexes: Int64s,
        pieces: list[bytes | None],
        starts: Int64s,
    ) -> None:
        self._parts: list[KeyColumns] = [(keys, codes, indexes)]
        self.pieces = pieces
        # Piece p holds rows starts[p]:starts[p + 1]; len(starts) == len(pieces) + 1.
        self.starts = starts
        self._current: tuple[int, pa.Array] | None = None

    @property
    def num_rows(self) -> int:
        """:return: Rows in the run."""
        return int(self.starts[-1])

    @property
    def key_parts(self) -> list[KeyColumns]:
        """:return: Keys, archive codes and event indexes, in parts, in run order."""
        return self._parts

    def first_row(self) -> tuple[int, int, int]:
        """:return: Key, archive code and event index of the best row."""
        keys, codes, indexes = self._parts[0]
        return int(keys[0]), int(codes[0]), int(indexes[0])

    def last_row(self) -> tuple[int, int, int]:
        """:return: Key, archive code and event index of the last row."""
        keys, codes, indexes = self._parts[-1]
        return int(keys[-1]), int(codes[-1]), int(indexes[-1])

    def extend_above(self, above: SortedRun) -> None:
        """Puts ``above``, whose rows all rank before this run's, in front of this run."""
        self._parts = above._parts + self._parts
        self.pieces = above.pieces + self.pieces
        self.starts = np.concatenate((above.starts[:-1], self.starts + above.num_rows))
        self._current = None

    def drop_keys(self) -> None:
        """Frees the keys once a merge holds its own copy of them."""
        self._parts = []

    def truncate(self, rows: int) -> None:
        """Keeps the first ``rows`` rows (the best ones) and frees the pieces after them."""
        kept = []
        remaining = rows
        for keys, codes, indexes in self._parts:
            if remaining <= 0:
                break
            # Copies, so that the full arrays are freed rather than kept alive by a view.
            take = min(remaining, len(keys))
            kept.append((keys[:take].copy(), codes[:take].copy(), indexes[:take].copy()))
            remaining -= take
        self._parts = kept
        self.trim_pieces(rows)

    def trim_pieces(self, rows: int) -> None:
        """Frees the pieces that hold none of the first ``rows`` rows."""
        needed = int(np.searchsorted(self.starts[:-1], rows, side="left"))
        self.pieces = self.pieces[:needed]
        self.starts = np.append(self.starts[:needed], rows).astype(np.int64)
        self._current = None

    def rows(self, lo: int, hi: int, release: bool, dctx: zstandard.ZstdDecompressor) -> pa.Array:
        """
        :param lo: First row wanted.
        :param hi: One past the last row wanted.
        :param release: Free each piece once its last row has been read.
        :param dctx: Decompressor for the pieces.
        :return: The messages of rows ``lo:hi``.
        :raise RuntimeError: If a wanted piece was released already.
        """
        parts: list[pa.Array] = []
        piece = int(np.searchsorted(self.starts, lo, side="right")) - 1
        while piece < len(self.pieces) and self.starts[piece] < hi:
            begin, end = int(self.starts[piece]), int(self.starts[piece + 1])
            messages = self._piece(piece, dctx)
            first = max(lo - begin, 0)
            parts.append(messages.slice(first, min(hi, end) - begin - first))
            if release and hi >= end:
                self.pieces[piece] = None
                self._current = None
            piece += 1
        if len(parts) == 1:
            return parts[0]
        return pa.concat_arrays(parts) if parts else pa.array([], pa.string())

    def _piece(self, piece: int, dctx: zstandard.ZstdDecompressor) -> pa.Array:
        if self._current is not None and self._current[0] == piece:
            return self._current[1]
        data = self.pieces[piece]
        if data is None:
            msg = "these search results were handed over already and cannot be read again"
            raise RuntimeError(msg)
        raw = dctx.decompress(data)
        messages = pa.ipc.read_record_batch(pa.py_buffer(raw), _PIECE_SCHEMA).column(0)
        # Runs are read front to back, so one decoded piece per run is all a merge reuses.
        self._current = (piece, messages)
        return messages


def compress_pieces(
    messages: pa.Array,
    order: Positions | None,
    piece_bytes: int,
    cctx: zstandard.ZstdCompressor,
) -> tuple[list[bytes | None], Int64s]:
    """
    Cuts messages, taken in ``order`` (None: as they are), into pieces of about
    ``piece_bytes`` and compresses each.

    :param messages: The messages of a block (string, or a type that casts to it).
    :param order: The order to take them in, or None.
    :param piece_bytes: Message bytes per piece (at least one row a piece).
    :param cctx: Compressor for the pieces.
    :return: The compressed pieces and the first row of each, plus the number of rows (as
        :class:`SortedRun` takes them).
    """
    if messages.type != pa.string():
        messages = messages.cast(pa.string())
    count = len(messages)
    offsets = np.frombuffer(
        messages.buffers()[1], dtype=np.int32, count=count + 1, offset=messages.offset * 4
    )
    lengths = np.diff(offsets) if order is None else np.diff(offsets)[order]
    # A row goes to the piece its first byte falls in: pieces of about piece_bytes, and
    # one row at least.
    bucket = (np.cumsum(lengths) - lengths) // piece_bytes
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1, [count])).astype(np.int64)
    pieces: list[bytes | None] = []
    for begin, end in itertools.pairwise(starts):
        # A piece at a time: taking the whole block in order first would copy all of it.
        piece_messages = (
            messages.slice(int(begin), int(end - begin))
            if order is None
            else messages.take(pa.array(order[begin:end]))
        )
        piece = pa.RecordBatch.from_arrays([piece_messages], schema=_PIECE_SCHEMA)
        # compress() returns a buffer sized for the worst case; the copy is exact-size.
        pieces.append(memoryview(cctx.compress(piece.serialize())).tobytes())
    return pieces, starts


def gather(
    runs: Sequence[SortedRun],
    run_of: Positions,
    row_of: Positions,
    release: bool,
    dctx: zstandard.ZstdDecompressor,
    max_stretches: int,
) -> pa.Array:
    """
    Messages of the given (run, row) pairs, in the order given.

    The pairs are a stretch of a merge's output order, so each run's rows among them are
    consecutive and ascending.

    :param runs: The runs the rows come from.
    :param run_of: Each row's run.
    :param row_of: Each row's place in its run.
    :param release: Free each piece once its last row has been read.
    :param dctx: Decompressor for the pieces.
    :param max_stretches: Above this many stretches of one run, sort by run and take once
        (``settings.merge_max_stretches``).
    :return: The messages, in the order given.
    :raise RuntimeError: If a wanted piece was released already.
    """
    count = len(run_of)
    if count == 0:
        return pa.array([], pa.string())
    changes = np.flatnonzero(run_of[1:] != run_of[:-1]) + 1
    if len(changes) < max_stretches:
        # Runs that do not overlap in time (the usual case: clp-s reports each archive
        # roughly in time order) give a few long stretches of one run each: slice and join.
        bounds = [0, *changes.tolist(), count]
        parts = [
            runs[int(run_of[begin])].rows(
                int(row_of[begin]), int(row_of[begin]) + end - begin, release, dctx
            )
            for begin, end in itertools.pairwise(bounds)
        ]
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    # Interleaved runs: take each run's rows as one slice, then put them in order.
    by_run = np.argsort(run_of, kind="stable")
    grouped = run_of[by_run]
    bounds = [0, *(np.flatnonzero(np.diff(grouped)) + 1).tolist(), count]
    parts = []
    for begin, end in itertools.pairwise(bounds):
        lo = int(row_of[by_run[begin]])
        parts.append(runs[int(grouped[begin])].rows(lo, lo + end - begin, release, dctx))
    # Position k of the joined slices is output position by_run[k]; invert that.
    inverse = np.empty(count, np.int64)
    inverse[by_run] = np.arange(count)
    return pa.concat_arrays(parts).take(pa.array(inverse))


def concat_keys(
    runs: Sequence[SortedRun], *, drop: bool
) -> tuple[Int64s, Int32s, Int64s, Int64s]:
    """
    :param runs: Runs to rank together.
    :param drop: Free each run's keys once copied (the runs will not be ranked again).
    :return: Keys, archive codes and event indexes of all rows, run after run, and the offset
        of each run's first row (plus the total).
    """
    offsets = np.zeros(len(runs) + 1, np.int64)
    np.cumsum([run.num_rows for run in runs], out=offsets[1:])
    total = int(offsets[-1])
    keys = np.empty(total, np.int64)
    codes = np.empty(total, np.int32)
    indexes = np.empty(total, np.int64)
    for run, begin in zip(runs, offsets[:-1], strict=True):
        position = int(begin)
        for part_keys, part_codes, part_indexes in run.key_parts:
            end = position + len(part_keys)
            keys[position:end] = part_keys
            codes[position:end] = part_codes
            indexes[position:end] = part_indexes
            position = end
        if drop:
            run.drop_keys()
    return keys, codes, indexes, offsets
