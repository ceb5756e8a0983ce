"""How search hits rank: the key column, the key of a hit without a timestamp, and the order.

Rows rank by timestamp descending (rows without one last), then archive id and event index
descending, so ties order the same on every run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE, RESULT_SCHEMA, TIMESTAMP

__all__ = [
    "HIT_KEY",
    "NO_TIMESTAMP",
    "Int32s",
    "Int64s",
    "Positions",
    "as_results",
    "hits_as_results",
    "int64s",
    "rank_order",
    "results_as_hits",
]

HIT_KEY = "key"
"""Column of a block of hits: the ranking timestamp, epoch ms, :data:`NO_TIMESTAMP` if none."""

NO_TIMESTAMP = -(2**63)
"""The key of a hit without a timestamp: the smallest int64, so it ranks last."""

# An Arrow scalar, not a Python int: pyarrow converts those anew on every compute call
# (~60 us each, see logpager.search.hits).
_NO_TIMESTAMP_KEY = pa.scalar(NO_TIMESTAMP, pa.int64())
_NULL_TIMESTAMP = pa.scalar(None, pa.int64())

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Positions = npt.NDArray[np.intp]


def hits_as_results(hits: pa.RecordBatch | pa.Table) -> pa.Table:
    """
    :param hits: Hits as :meth:`~logpager.search.runs.SortedRuns.add` takes them (one block,
        or several as a table).
    :return: The same rows with :data:`~logpager.schema.RESULT_SCHEMA`, latest first (one
        copy of the rows, whatever the number of blocks).
    """
    order = pc.sort_indices(hits, sort_keys=[(HIT_KEY, "descending")])
    return pa.Table.from_arrays(_result_columns(hits.take(order)), schema=RESULT_SCHEMA)


def as_results(hits: pa.RecordBatch) -> pa.RecordBatch:
    """
    :param hits: Hits as :meth:`~logpager.search.runs.SortedRuns.add` takes them.
    :return: The same rows, in the same order, with :data:`~logpager.schema.RESULT_SCHEMA`
        (a key of :data:`NO_TIMESTAMP` becomes a null timestamp).
    """
    return pa.RecordBatch.from_arrays(_result_columns(hits), schema=RESULT_SCHEMA)


def results_as_hits(rows: pa.RecordBatch) -> pa.RecordBatch:
    """
    :param rows: Rows with :data:`~logpager.schema.RESULT_SCHEMA`.
    :return: The same rows, in the same order, as hits (the inverse of :func:`as_results`).
    """
    return pa.RecordBatch.from_arrays(
        [
            pc.fill_null(rows.column(TIMESTAMP), _NO_TIMESTAMP_KEY),
            rows.column(MESSAGE),
            rows.column(ARCHIVE_ID),
            rows.column(LOG_EVENT_INDEX),
        ],
        names=[HIT_KEY, MESSAGE, ARCHIVE_ID, LOG_EVENT_INDEX],
    )


def _result_columns(hits: pa.RecordBatch | pa.Table) -> list[Any]:
    keys = hits.column(HIT_KEY)
    return [
        pc.if_else(pc.equal(keys, _NO_TIMESTAMP_KEY), _NULL_TIMESTAMP, keys),
        hits.column(MESSAGE),
        hits.column(ARCHIVE_ID),
        hits.column(LOG_EVENT_INDEX),
    ]


def rank_order(keys: Int64s, ranks: Int32s | None, indexes: Int64s) -> Positions:
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
        order: Positions = np.lexsort(columns)
    finally:
        np.invert(indexes, out=indexes)
        np.invert(keys, out=keys)
    return order


def int64s(column: pa.Array) -> Int64s:
    """
    :param column: A key or event index column of a block of hits.
    :return: Its values as a writable int64 copy.
    :raise ValueError: If it holds nulls.
    """
    if column.null_count:
        msg = "hit keys and event indexes must not be null"
        raise ValueError(msg)
    # A copy: Arrow's buffer is read-only, and ranking inverts the keys in place.
    values: Int64s = column.to_numpy(zero_copy_only=False).astype(np.int64, copy=True)
    return values
