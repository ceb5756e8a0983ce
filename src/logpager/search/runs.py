"""Search hits held as sorted, compressed runs while a search runs, then merged latest first.

An engine reports hits in its own order (``clp-s``: archive by archive, roughly oldest first);
a result is served latest first. Holding every hit as Arrow until the search ends cost several
uncompressed copies of the messages, so each block of hits is instead sorted as it arrives
into a *run*:

- its ranking keys (timestamp, archive code, event index: 20 bytes a row) stay in memory as
  numpy arrays;
- its messages are serialized as Arrow IPC and zstd-compressed at a fast level, in pieces of
  about ``piece_bytes`` of text (a few hundred rows), so the compression overlaps the search.

Rows rank by timestamp descending (rows without one last), then archive id and event index
descending, so ties order the same on every run. A block that ranks wholly above the latest
run (the usual case: an archive reported oldest first) extends that run instead of starting
one. Only the best ``cap`` rows are kept: once more than ``2 x cap`` rows are held, each run
is cut back to its share of the best ``cap`` (a prefix, since the run is sorted) and the
``cap``-th timestamp becomes a floor below which later rows are dropped as they arrive.

When the search ends, one argsort over the kept keys gives the output order (a single run
needs none). Every run is already in that order, so the merge reads each run front to back
and needs only the current decompressed piece of each. At most ``max_runs`` runs are held
(the smallest are merged into one when there are more), which bounds the merge's memory
however the hits arrived.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE, RESULT_SCHEMA

__all__ = ["HIT_KEY", "NO_TIMESTAMP", "MergedBatches", "SortedRuns", "hits_as_results"]

HIT_KEY = "key"
"""Column of a block of hits: the ranking timestamp, epoch ms, :data:`NO_TIMESTAMP` if none."""

NO_TIMESTAMP = -(2**63)
"""The key of a hit without a timestamp: the smallest int64, so it ranks last."""

# An Arrow scalar, not a Python int: pyarrow converts those anew on every compute call
# (~60 us each, see clp_s).
_NO_TIMESTAMP_KEY = pa.scalar(NO_TIMESTAMP, pa.int64())

_PIECE_SCHEMA = pa.schema([pa.field(MESSAGE, pa.string(), nullable=False)])

_Int64s = npt.NDArray[np.int64]
_Int32s = npt.NDArray[np.int32]
_Positions = npt.NDArray[np.intp]


def hits_as_results(hits: pa.RecordBatch | pa.Table) -> pa.Table:
    """
    :param hits: Hits as :meth:`SortedRuns.add` takes them (one block, or several as a table).
    :return: The same rows with :data:`~logpager.schema.RESULT_SCHEMA`, latest first (one
        copy of the rows, whatever the number of blocks).
    """
    order = pc.sort_indices(hits, sort_keys=[(HIT_KEY, "descending")])
    rows = hits.take(order)
    keys = rows.column(HIT_KEY)
    columns = [
        pc.if_else(pc.equal(keys, _NO_TIMESTAMP_KEY), pa.scalar(None, pa.int64()), keys),
        rows.column(MESSAGE),
        rows.column(ARCHIVE_ID),
        rows.column(LOG_EVENT_INDEX),
    ]
    return pa.Table.from_arrays(columns, schema=RESULT_SCHEMA)


def _rank_order(keys: _Int64s, ranks: _Int32s | None, indexes: _Int64s) -> _Positions:
    """
    :param keys: Timestamps (:data:`NO_TIMESTAMP` for none); inverted and restored in place.
    :param ranks: Archive ranks (inverted in place), or None when all rows share an archive.
    :param indexes: Event indexes; inverted and restored in place.
    :return: Positions in output order: timestamp, archive rank, event index, all descending.
    """
    # ~x reverses the order of an int64 without the overflow of -x at NO_TIMESTAMP; done in
    # place, so ranking all of a search's rows at the end needs no copies of its keys.
    columns: list[npt.NDArray[np.signedinteger[Any]]] = (
        [indexes, keys] if ranks is None else [indexes, ranks, keys]
    )
    for column in columns:
        np.invert(column, out=column)
    try:
        # lexsort is stable: rows with equal keys keep their order (a run's, or arrival's).
        order: _Positions = np.lexsort(columns)
    finally:
        np.invert(indexes, out=indexes)
        np.invert(keys, out=keys)
    return order


class _Run:
    """
    One sorted run: its keys in memory, its messages in compressed pieces.

    The keys are held as a list of parts, so that a run can take in a block that ranks
    wholly above it (:meth:`extend_above`) without copying what it holds.
    """

    __slots__ = ("_current", "_parts", "pieces", "starts")

    def __init__(
        self,
        keys: _Int64s,
        codes: _Int32s,
        indexes: _Int64s,
        pieces: list[bytes | None],
        starts: _Int64s,
    ) -> None:
        self._parts: list[tuple[_Int64s, _Int32s, _Int64s]] = [(keys, codes, indexes)]
        self.pieces = pieces
        # Piece p holds rows starts[p]:starts[p + 1]; len(starts) == len(pieces) + 1.
        self.starts = starts
        self._current: tuple[int, pa.Array] | None = None

    @property
    def num_rows(self) -> int:
        return int(self.starts[-1])

    @property
    def key_parts(self) -> list[tuple[_Int64s, _Int32s, _Int64s]]:
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

    def extend_above(self, above: _Run) -> None:
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


def _gather(
    runs: Sequence[_Run],
    run_of: _Positions,
    row_of: _Positions,
    release: bool,
    dctx: zstandard.ZstdDecompressor,
) -> pa.Array:
    """
    Messages of the given (run, row) pairs, in the order given.

    The pairs are a stretch of a merge's output order, so each run's rows among them are
    consecutive and ascending.
    """
    count = len(run_of)
    if count == 0:
        return pa.array([], pa.string())
    changes = np.flatnonzero(run_of[1:] != run_of[:-1]) + 1
    if len(changes) < _MAX_STRETCHES:
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


# Above this many stretches of one run in a batch, sorting by run and one take is cheaper
# than joining many small slices.
_MAX_STRETCHES = 64


class SortedRuns:
    """
    The best ``cap`` hits of a running search, as sorted compressed runs.

    :param cap: Rows to keep (the best ones); all rows are counted.
    :param piece_bytes: Message bytes per compressed piece (at least one row a piece).
    :param zstd_level: zstd level of the pieces (fast: they are read back once).
    :param max_runs: Runs held before the smallest are merged into one.
    :param merge_rows: Rows gathered at a time when runs are merged into one.
    :raise ValueError: If a size is not positive or ``max_runs`` is below 2.
    """

    def __init__(
        self, cap: int, *, piece_bytes: int, zstd_level: int, max_runs: int, merge_rows: int = 4_096
    ) -> None:
        if cap < 1 or piece_bytes < 1 or max_runs < 2 or merge_rows < 1:
            msg = (
                "cap, piece_bytes and merge_rows must be positive and max_runs at least 2, got "
                f"{cap}, {piece_bytes}, {merge_rows}, {max_runs}"
            )
            raise ValueError(msg)
        self.cap = cap
        self._merge_rows = merge_rows
        self._piece_bytes = piece_bytes
        self._max_runs = max_runs
        self._cctx = zstandard.ZstdCompressor(level=zstd_level)
        self._dctx = zstandard.ZstdDecompressor()
        self._runs: list[_Run] = []
        self._codes: dict[str, int] = {}
        self._rank_cache: _Int32s | None = None
        self.archive_names: list[str] = []
        """Every archive id seen, in order of first appearance (kept or not)."""
        self.held = 0
        """Rows held in runs (at most ``2 x cap`` plus one block)."""
        self.floor: int | None = None
        """The lowest key that can still be kept, once the cap has been reached."""

    @property
    def num_runs(self) -> int:
        """:return: Runs held."""
        return len(self._runs)

    @property
    def compressed_bytes(self) -> int:
        """:return: Bytes of the compressed pieces held."""
        return sum(len(p) for run in self._runs for p in run.pieces if p is not None)

    def clear(self) -> None:
        """Forgets every row (not the archives seen)."""
        self._runs = []
        self.held = 0
        self.floor = None

    def add(self, hits: pa.RecordBatch) -> None:
        """
        Sorts a block of hits into a new run, keeping only rows that can still rank in the cap.

        :param hits: Columns :data:`HIT_KEY` (int64), ``message`` (string), ``archive_id``
            (string) and ``log_event_index`` (int64), none null.
        :raise ValueError: If a key or index column holds nulls.
        """
        if hits.num_rows == 0:
            return
        local = pc.dictionary_encode(hits.column(ARCHIVE_ID))
        mapping = np.array([self._code(n) for n in local.dictionary.to_pylist()], np.int32)
        codes = mapping[local.indices.to_numpy(zero_copy_only=False)]
        keys = _int64s(hits.column(HIT_KEY))
        indexes = _int64s(hits.column(LOG_EVENT_INDEX))
        messages = hits.column(MESSAGE)
        if self.floor is not None:
            keep = keys >= self.floor
            if not keep.all():
                keys, codes, indexes = keys[keep], codes[keep], indexes[keep]
                messages = messages.filter(pa.array(keep))
                if not len(keys):
                    return
        order = _rank_order(keys, self._ranks_of(codes), indexes)
        pieces, starts = self._compress(messages, order)
        run = _Run(keys[order], codes[order], indexes[order], pieces, starts)
        latest = self._runs[-1] if self._runs else None
        if latest is not None and self._ranks_before(run.last_row(), latest.first_row()):
            # The usual case: clp-s reports an archive roughly oldest first, so a block often
            # ranks wholly above the one before. One run then holds them all, in order, and
            # needs neither merging when runs pile up nor sorting at the end.
            latest.extend_above(run)
        else:
            self._runs.append(run)
        self.held += len(keys)
        if self.held > 2 * self.cap:
            self._prune()
        if len(self._runs) > self._max_runs:
            self._compact()

    def finish(self, batch_rows: int) -> MergedBatches:
        """
        Ends the search: orders the kept rows and hands them over.

        :param batch_rows: Rows per output batch.
        :return: The best ``cap`` rows, latest first, built batch by batch when read.
        """
        runs, self._runs = self._runs, []
        narrow: npt.NDArray[np.int32] | _Int64s | None = None
        if len(runs) == 1:
            # One run is already in output order, and its keys are read in place, part by
            # part: joining them first would hold them twice (20 bytes a row, 12 MB for
            # 620,000 hits) at the end of the search, where memory peaks.
            run = runs[0]
            total = min(self.cap, run.num_rows)
            run.trim_pieces(total)
            keys = _KeyParts(run.key_parts)
            run.drop_keys()
            offsets = np.array([0, run.num_rows], np.int64)
        else:
            joined, codes, indexes, offsets = _concat_keys(runs, drop=True)
            total = min(self.cap, len(joined))
            if runs:
                order = _rank_order(joined, self._ranks_of(codes), indexes)[: self.cap]
                # Rows past the cap are never read: free their pieces now, not when the merge
                # ends.
                run_of = np.searchsorted(offsets, order, side="right") - 1
                kept = np.bincount(run_of, minlength=len(runs))
                for merging, rows in zip(runs, kept, strict=True):
                    merging.trim_pieces(int(rows))
                del run_of
                # 4 bytes a row instead of 8 while the result is built from the runs.
                narrow = order.astype(np.int32) if len(joined) < 2**31 else order.astype(np.int64)
                del order
            keys = _KeyParts([(joined, codes, indexes)])
        merged = MergedBatches(
            runs,
            offsets,
            narrow,
            total,
            keys,
            self.archive_names,
            batch_rows,
            self._dctx,
        )
        self.held = 0
        return merged

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.archive_names)
            self.archive_names.append(name)
            self._rank_cache = None
        return code

    def _ranks_before(self, row: tuple[int, int, int], other: tuple[int, int, int]) -> bool:
        """:return: Whether ``row`` (key, archive code, index) ranks strictly before ``other``."""
        ranks = self._ranks()
        return (row[0], int(ranks[row[1]]), row[2]) > (other[0], int(ranks[other[1]]), other[2])

    def _ranks_of(self, codes: _Int32s) -> _Int32s | None:
        """:return: The archive ranks of ``codes``, or None when there is one archive."""
        return self._ranks()[codes] if len(self.archive_names) > 1 else None

    def _ranks(self) -> _Int32s:
        """:return: Each archive code's place in string order (the tie-break on archive id)."""
        if self._rank_cache is None:
            # Python orders str by code point, as Arrow orders UTF-8 bytes: the same order.
            by_name = sorted(range(len(self.archive_names)), key=self.archive_names.__getitem__)
            ranks = np.empty(len(by_name), np.int32)
            ranks[by_name] = np.arange(len(by_name), dtype=np.int32)
            self._rank_cache = ranks
        return self._rank_cache

    def _compress(
        self, messages: pa.Array, order: _Positions | None
    ) -> tuple[list[bytes | None], _Int64s]:
        """
        Cuts messages, taken in ``order`` (None: as they are), into pieces of about
        ``piece_bytes`` and compresses each.
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
        bucket = (np.cumsum(lengths) - lengths) // self._piece_bytes
        starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1, [count])).astype(
            np.int64
        )
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
            pieces.append(memoryview(self._cctx.compress(piece.serialize())).tobytes())
        return pieces, starts

    def _prune(self) -> None:
        """Cuts the runs back to the best ``cap`` rows and raises the floor."""
        if len(self._runs) == 1:
            # One run's best rows are its first ones.
            run = self._runs[0]
            run.truncate(self.cap)
            self.floor = run.last_row()[0]
            self.held = run.num_rows
            return
        keys, codes, indexes, offsets = _concat_keys(self._runs, drop=False)
        best = _rank_order(keys, self._ranks_of(codes), indexes)[: self.cap]
        self.floor = int(keys[best[-1]])
        run_of = np.searchsorted(offsets, best, side="right") - 1
        kept = np.bincount(run_of, minlength=len(self._runs))
        for run, rows in zip(self._runs, kept, strict=True):
            run.truncate(int(rows))
        self._runs = [run for run in self._runs if run.num_rows]
        self.held = sum(run.num_rows for run in self._runs)

    def _compact(self) -> None:
        """Merges the smallest runs into one, so that at most ``max_runs // 2 + 1`` remain."""
        by_size = sorted(range(len(self._runs)), key=lambda i: self._runs[i].num_rows)
        chosen = set(by_size[: len(self._runs) - self._max_runs // 2])
        merging = [run for i, run in enumerate(self._runs) if i in chosen]
        others = [run for i, run in enumerate(self._runs) if i not in chosen]
        keys, codes, indexes, offsets = _concat_keys(merging, drop=True)
        order = _rank_order(keys, self._ranks_of(codes), indexes)
        pieces: list[bytes | None] = []
        starts = [np.zeros(1, np.int64)]
        step = self._merge_rows
        for begin in range(0, len(order), step):
            positions = order[begin : begin + step]
            run_of = np.searchsorted(offsets, positions, side="right") - 1
            row_of = positions - offsets[run_of]
            messages = _gather(merging, run_of, row_of, True, self._dctx)
            more, more_starts = self._compress(messages, None)
            pieces.extend(more)
            starts.append(more_starts[1:] + begin)
        # One column at a time, each old one freed as its reordered copy is made.
        keys = keys[order]
        codes = codes[order]
        indexes = indexes[order]
        del order
        merged = _Run(keys, codes, indexes, pieces, np.concatenate(starts))
        self._runs = [*others, merged]


def _int64s(column: pa.Array) -> _Int64s:
    if column.null_count:
        msg = "hit keys and event indexes must not be null"
        raise ValueError(msg)
    # A copy: Arrow's buffer is read-only, and ranking inverts the keys in place.
    values: _Int64s = column.to_numpy(zero_copy_only=False).astype(np.int64, copy=True)
    return values


def _concat_keys(runs: Sequence[_Run], *, drop: bool) -> tuple[_Int64s, _Int32s, _Int64s, _Int64s]:
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


class _KeyParts:
    """Keys, archive codes and event indexes of rows in output order, held in parts."""

    __slots__ = ("_parts", "_starts")

    def __init__(self, parts: list[tuple[_Int64s, _Int32s, _Int64s]]) -> None:
        self._parts: list[tuple[_Int64s, _Int32s, _Int64s] | None] = list(parts)
        self._starts = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([len(keys) for keys, _, _ in parts], out=self._starts[1:])

    def whole(self) -> tuple[_Int64s, _Int32s, _Int64s]:
        """:return: The one part (the keys of several runs, joined to be ranked)."""
        (part,) = self._parts
        assert part is not None
        return part

    def rows(self, begin: int, end: int, *, release: bool) -> tuple[_Int64s, _Int32s, _Int64s]:
        """
        :param begin: First row.
        :param end: One past the last row.
        :param release: Free each part once its last row has been read.
        :return: Keys, archive codes and event indexes of rows ``begin:end``.
        :raise RuntimeError: If a wanted part was released already.
        """
        starts = self._starts
        pieces: list[tuple[_Int64s, _Int32s, _Int64s]] = []
        part = int(np.searchsorted(starts, begin, side="right")) - 1
        while part < len(self._parts) and starts[part] < end:
            held = self._parts[part]
            if held is None:
                msg = "these search results were handed over already and cannot be read again"
                raise RuntimeError(msg)
            first, stop = int(starts[part]), int(starts[part + 1])
            lo, hi = max(begin - first, 0), min(end, stop) - first
            keys, codes, indexes = held
            pieces.append((keys[lo:hi], codes[lo:hi], indexes[lo:hi]))
            if release and end >= stop:
                self._parts[part] = None
            part += 1
        if len(pieces) == 1:
            return pieces[0]
        return (
            np.concatenate([piece[0] for piece in pieces]),
            np.concatenate([piece[1] for piece in pieces]),
            np.concatenate([piece[2] for piece in pieces]),
        )


class MergedBatches(Sequence[pa.RecordBatch]):
    """
    The kept hits, latest first, as :data:`~logpager.schema.RESULT_SCHEMA` batches built on
    demand from the compressed runs.

    Indexing and iterating leave the runs in place, so the batches can be read again;
    :meth:`drain` reads them once and frees each compressed piece as soon as it has been read,
    after which the batches cannot be read again.
    """

    def __init__(
        self,
        runs: list[_Run],
        offsets: _Int64s,
        order: npt.NDArray[np.int32] | _Int64s | None,
        num_rows: int,
        keys: _KeyParts,
        archive_names: list[str],
        batch_rows: int,
        dctx: zstandard.ZstdDecompressor,
    ) -> None:
        """
        Use :meth:`SortedRuns.finish`. ``order`` holds the output's positions in the
        concatenated keys (None: they are in order already, in ``keys``' parts; otherwise
        ``keys`` is one part); ``num_rows`` is the output's length.
        """
        self._runs = runs
        self._offsets = offsets
        self._order = order
        self._num_rows = num_rows
        self._keys = keys
        self._names = pa.array(archive_names, pa.string())
        self._batch_rows = batch_rows
        self._dctx = dctx
        self._drained = False

    @property
    def num_rows(self) -> int:
        """:return: Rows in all batches."""
        return self._num_rows

    def __len__(self) -> int:
        return (self._num_rows + self._batch_rows - 1) // self._batch_rows

    @overload
    def __getitem__(self, index: int) -> pa.RecordBatch: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[pa.RecordBatch]: ...
    def __getitem__(self, index: int | slice) -> pa.RecordBatch | Sequence[pa.RecordBatch]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(index)
        return self._batch(index, release=False)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for index in range(len(self)):
            yield self._batch(index, release=False)

    def drain(self) -> Iterator[pa.RecordBatch]:
        """
        :return: The batches in order, each compressed piece freed once read; afterwards the
            batches cannot be read again.
        :raise RuntimeError: If the batches were drained already.
        """
        if self._drained:
            msg = "these search results were handed over already and cannot be read again"
            raise RuntimeError(msg)
        self._drained = True
        return self._drain()

    def _drain(self) -> Iterator[pa.RecordBatch]:
        for index in range(len(self)):
            yield self._batch(index, release=True)
        self._runs = []

    def _batch(self, index: int, *, release: bool) -> pa.RecordBatch:
        if self._drained and not release:
            msg = "these search results were handed over already and cannot be read again"
            raise RuntimeError(msg)
        begin = index * self._batch_rows
        end = min(begin + self._batch_rows, self._num_rows)
        if self._order is None:
            keys, codes, indexes = self._keys.rows(begin, end, release=release)
            messages = self._runs[0].rows(begin, end, release, self._dctx)
        else:
            positions = self._order[begin:end].astype(np.int64)
            all_keys, all_codes, all_indexes = self._keys.whole()
            keys, codes = all_keys[positions], all_codes[positions]
            indexes = all_indexes[positions]
            run_of = np.searchsorted(self._offsets, positions, side="right") - 1
            messages = _gather(
                self._runs, run_of, positions - self._offsets[run_of], release, self._dctx
            )
        columns = [
            pa.array(keys, pa.int64(), mask=keys == NO_TIMESTAMP),
            messages,
            self._names.take(pa.array(codes)),
            pa.array(indexes, pa.int64()),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=RESULT_SCHEMA)
