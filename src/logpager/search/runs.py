"""The best hits of a running search, held as sorted, compressed runs.

An engine reports hits in its own order (``clp-s``: archive by archive, roughly oldest first);
a result is served latest first. Holding every hit as Arrow until the search ends cost several
uncompressed copies of the messages, so each block of hits is instead sorted as it arrives
into a *run* (:mod:`logpager.search.sorted_run`): its ranking keys stay in memory, its
messages are compressed in pieces.

Rows rank as :mod:`logpager.search.ranking` orders them. A block that ranks wholly above the
latest run (the usual case: an archive reported oldest first) extends that run instead of
starting one. Only the best ``cap`` rows are kept: once more than ``2 x cap`` rows are held,
each run is cut back to its share of the best ``cap`` (a prefix, since the run is sorted) and
the ``cap``-th timestamp becomes a floor below which later rows are dropped as they arrive.

When the search ends, the runs are handed over as :class:`~logpager.search.merge.MergedBatches`.
At most ``max_runs`` runs are held (the smallest are merged into one when there are more),
which bounds the merge's memory however the hits arrived.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE
from logpager.search.merge import KeyParts, MergedBatches
from logpager.search.ranking import HIT_KEY, Int32s, Int64s, int64s, rank_order
from logpager.search.sorted_run import SortedRun, compress_pieces, concat_keys, gather

__all__ = ["SortedRuns"]


class SortedRuns:
    """
    The best ``cap`` hits of a running search, as sorted compressed runs.

    :param cap: Rows to keep (the best ones); all rows are counted.
    :param piece_bytes: Message bytes per compressed piece (at least one row a piece).
    :param zstd_level: zstd level of the pieces (fast: they are read back once).
    :param max_runs: Runs held before the smallest are merged into one.
    :param merge_rows: Rows gathered at a time when runs are merged into one.
    :param max_stretches: Above this many stretches of one run among the rows gathered at a
        time, they are sorted by run and taken at once (``settings.merge_max_stretches``).
    :raise ValueError: If a size is not positive or ``max_runs`` is below 2.
    """

    def __init__(
        self,
        cap: int,
        *,
        piece_bytes: int,
        zstd_level: int,
        max_runs: int,
        merge_rows: int = 4_096,
        max_stretches: int = 64,
    ) -> None:
        if cap < 1 or piece_bytes < 1 or max_runs < 2 or merge_rows < 1:
            msg = (
                "cap, piece_bytes and merge_rows must be positive and max_runs at least 2, got "
                f"{cap}, {piece_bytes}, {merge_rows}, {max_runs}"
            )
            raise ValueError(msg)
        self.cap = cap
        self._merge_rows = merge_rows
        self._max_stretches = max_stretches
        self._piece_bytes = piece_bytes
        self._max_runs = max_runs
        self._cctx = zstandard.ZstdCompressor(level=zstd_level)
        self._dctx = zstandard.ZstdDecompressor()
        self._runs: list[SortedRun] = []
        self._codes: dict[str, int] = {}
        self._rank_cache: Int32s | None = None
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
        keys = int64s(hits.column(HIT_KEY))
        indexes = int64s(hits.column(LOG_EVENT_INDEX))
        messages = hits.column(MESSAGE)
        if self.floor is not None:
            keep = keys >= self.floor
            if not keep.all():
                keys, codes, indexes = keys[keep], codes[keep], indexes[keep]
                messages = messages.filter(pa.array(keep))
                if not len(keys):
                    return
        order = rank_order(keys, self._ranks_of(codes), indexes)
        pieces, starts = compress_pieces(messages, order, self._piece_bytes, self._cctx)
        run = SortedRun(keys[order], codes[order], indexes[order], pieces, starts)
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
        narrow: Int32s | Int64s | None = None
        if len(runs) == 1:
            # One run is already in output order, and its keys are read in place, part by
            # part: joining them first would hold them twice (20 bytes a row, 12 MB for
            # 620,000 hits) at the end of the search, where memory peaks.
            run = runs[0]
            total = min(self.cap, run.num_rows)
            run.trim_pieces(total)
            keys = KeyParts(run.key_parts)
            run.drop_keys()
            offsets = np.array([0, run.num_rows], np.int64)
        else:
            joined, codes, indexes, offsets = concat_keys(runs, drop=True)
            total = min(self.cap, len(joined))
            if runs:
                order = rank_order(joined, self._ranks_of(codes), indexes)[: self.cap]
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
            keys = KeyParts([(joined, codes, indexes)])
        merged = MergedBatches(
            runs,
            offsets,
            narrow,
            total,
            keys,
            self.archive_names,
            batch_rows,
            self._dctx,
            self._max_stretches,
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

    def _ranks_of(self, codes: Int32s) -> Int32s | None:
        """:return: The archive ranks of ``codes``, or None when there is one archive."""
        return self._ranks()[codes] if len(self.archive_names) > 1 else None

    def _ranks(self) -> Int32s:
        """:return: Each archive code's place in string order (the tie-break on archive id)."""
        if self._rank_cache is None:
            # Python orders str by code point, as Arrow orders UTF-8 bytes: the same order.
            by_name = sorted(range(len(self.archive_names)), key=self.archive_names.__getitem__)
            ranks = np.empty(len(by_name), np.int32)
            ranks[by_name] = np.arange(len(by_name), dtype=np.int32)
            self._rank_cache = ranks
        return self._rank_cache

    def _prune(self) -> None:
        """Cuts the runs back to the best ``cap`` rows and raises the floor."""
        if len(self._runs) == 1:
            # One run's best rows are its first ones.
            run = self._runs[0]
            run.truncate(self.cap)
            self.floor = run.last_row()[0]
            self.held = run.num_rows
            return
        keys, codes, indexes, offsets = concat_keys(self._runs, drop=False)
        best = rank_order(keys, self._ranks_of(codes), indexes)[: self.cap]
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
        keys, codes, indexes, offsets = concat_keys(merging, drop=True)
        order = rank_order(keys, self._ranks_of(codes), indexes)
        pieces: list[bytes | None] = []
        starts = [np.zeros(1, np.int64)]
        step = self._merge_rows
        for begin in range(0, len(order), step):
            positions = order[begin : begin + step]
            run_of = np.searchsorted(offsets, positions, side="right") - 1
            row_of = positions - offsets[run_of]
            messages = gather(merging, run_of, row_of, True, self._dctx, self._max_stretches)
            more, more_starts = compress_pieces(messages, None, self._piece_bytes, self._cctx)
            pieces.extend(more)
            starts.append(more_starts[1:] + begin)
        # One column at a time, each old one freed as its reordered copy is made.
        keys = keys[order]
        codes = codes[order]
        indexes = indexes[order]
        del order
        merged = SortedRun(keys, codes, indexes, pieces, np.concatenate(starts))
        self._runs = [*others, merged]
