"""The hand-over of a finished search's sorted runs: :class:`MergedBatches`, latest first.

When the search ends, one argsort over the kept keys gives the output order (a single run
needs none). Every run is already in that order, so the merge reads each run front to back
and needs only the current decompressed piece of each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import pyarrow as pa
import zstandard

from logpager.schema import RESULT_SCHEMA
from logpager.search.ranking import NO_TIMESTAMP, Int32s, Int64s
from logpager.search.sorted_run import KeyColumns, SortedRun, gather

__all__ = ["KeyParts", "MergedBatches"]


class KeyParts:
    """
    Keys, archive codes and event indexes of rows in output order, held in parts.

    :param parts: The parts, in output order.
    """

    __slots__ = ("_parts", "_starts")

    def __init__(self, parts: list[KeyColumns]) -> None:
        self._parts: list[KeyColumns | None] = list(parts)
        self._starts = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([len(keys) for keys, _, _ in parts], out=self._starts[1:])

    def whole(self) -> KeyColumns:
        """:return: The one part (the keys of several runs, joined to be ranked)."""
        (part,) = self._parts
        assert part is not None
        return part

    def rows(self, begin: int, end: int, *, release: bool) -> KeyColumns:
        """
        :param begin: First row.
        :param end: One past the last row.
        :param release: Free each part once its last row has been read.
        :return: Keys, archive codes and event indexes of rows ``begin:end``.
        :raise RuntimeError: If a wanted part was released already.
        """
        starts = self._starts
        pieces: list[KeyColumns] = []
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
        runs: list[SortedRun],
        offsets: Int64s,
        order: Int32s | Int64s | None,
        num_rows: int,
        keys: KeyParts,
        archive_names: list[str],
        batch_rows: int,
        dctx: zstandard.ZstdDecompressor,
        max_stretches: int,
    ) -> None:
        """
        Use :meth:`~logpager.search.runs.SortedRuns.finish`. ``order`` holds the output's
        positions in the concatenated keys (None: they are in order already, in ``keys``'
        parts; otherwise ``keys`` is one part); ``num_rows`` is the output's length;
        ``max_stretches`` is :func:`~logpager.search.sorted_run.gather`'s.
        """
        self._runs = runs
        self._offsets = offsets
        self._order = order
        self._num_rows = num_rows
        self._keys = keys
        self._names = pa.array(archive_names, pa.string())
        self._batch_rows = batch_rows
        self._dctx = dctx
        self._max_stretches = max_stretches
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
            messages = gather(
                self._runs,
                run_of,
                positions - self._offsets[run_of],
                release,
                self._dctx,
                self._max_stretches,
            )
        columns = [
            pa.array(keys, pa.int64(), mask=keys == NO_TIMESTAMP),
            messages,
            self._names.take(pa.array(codes)),
            pa.array(indexes, pa.int64()),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=RESULT_SCHEMA)
