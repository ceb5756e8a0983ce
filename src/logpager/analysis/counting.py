"""Counting how often each value occurs over many batches, in Arrow, in bounded memory.

Each batch's values are counted by :func:`pyarrow.compute.value_counts`; the per-batch counts
wait in a list and are merged (``group_by`` and sum, in C++) once they hold as many rows as
the table of counts may. The table keeps at most ``capacity`` values, so memory is bounded
by the setting, not by how many different values a result holds.

Past ``capacity`` the counter either refuses (:class:`TooManyValuesError`, e.g. a histogram with
more buckets than allowed) or keeps the more frequent half and counts on approximately, as
in lossy counting: it remembers ``floor``, the largest upper bound of a count it dropped, and
a value that comes back is entered with that floor as its possible error. Every kept count
is then at most its error below the true count, and a value no longer held occurred at most
``floor`` times.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Counted", "TooManyValuesError", "ValueCounter"]

_VALUE = "value"
_COUNT = "count"
_ERROR = "error"


class TooManyValuesError(Exception):
    """More different values than the counter may hold, and it was told not to approximate."""


@dataclass(frozen=True)
class Counted:
    """
    One value and how often it occurred.

    :param value: The value (a Python scalar of the counter's type).
    :param count: Occurrences counted (exact unless the counter approximated).
    """

    value: object
    count: int


class ValueCounter:
    """
    Counts the non-null values of arrays of one type.

    :param value_type: The values' Arrow type.
    :param capacity: Most different values held at once (at least 2).
    :param approximate: Past ``capacity``, drop the rarer half and count on approximately;
        otherwise raise :class:`TooManyValuesError`.
    :raise ValueError: If ``capacity`` is below 2.
    """

    def __init__(self, value_type: pa.DataType, capacity: int, *, approximate: bool) -> None:
        if capacity < 2:
            msg = f"capacity must be at least 2, got {capacity}"
            raise ValueError(msg)
        self._schema = pa.schema([(_VALUE, value_type), (_COUNT, pa.int64()), (_ERROR, pa.int64())])
        self._capacity = capacity
        self._approximate = approximate
        self._table: pa.Table = self._schema.empty_table()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.floor = 0
        """Largest count a value no longer held may have had (0 while counts are exact)."""
        self.total = 0
        """Non-null values counted."""

    def add(self, values: pa.Array) -> None:
        """
        Counts the non-null values of one array.

        :param values: Values of the counter's type.
        :raise TooManyValuesError: If more different values than ``capacity`` are seen and the
            counter does not approximate.
        """
        values = values.drop_null()
        if len(values) == 0:
            return
        self.total += len(values)
        counts = pc.value_counts(values)
        n = len(counts)
        self._pending.append(
            pa.Table.from_arrays(
                [
                    counts.field("values"),
                    counts.field("counts"),
                    # A value not held may have been dropped with up to `floor` occurrences.
                    pa.repeat(pa.scalar(self.floor, pa.int64()), n),
                ],
                schema=self._schema,
            )
        )
        self._pending_rows += n
        if self._pending_rows + self._table.num_rows > 2 * self._capacity:
            self._merge()

    @property
    def approximate(self) -> bool:
        """:return: Whether some counts may be short (values were dropped)."""
        return self.floor > 0

    def num_values(self) -> int:
        """:return: Different values held (every value seen, while counts are exact)."""
        self._merge()
        return int(self._table.num_rows)

    def most_common(self, n: int) -> list[Counted]:
        """
        :param n: How many.
        :return: The ``n`` most frequent values, the most frequent first; equal counts in
            ascending value order (so that answers do not depend on batch boundaries).
        """
        self._merge()
        table = self._table
        order = pc.sort_indices(table, sort_keys=[(_COUNT, "descending"), (_VALUE, "ascending")])
        top = table.take(order[:n])
        return [
            Counted(value, count)
            for value, count in zip(
                top.column(_VALUE).to_pylist(), top.column(_COUNT).to_pylist(), strict=True
            )
        ]

    def by_value(self) -> list[Counted]:
        """:return: Every value held with its count, in ascending value order."""
        self._merge()
        table = self._table.sort_by(_VALUE)
        return [
            Counted(value, count)
            for value, count in zip(
                table.column(_VALUE).to_pylist(), table.column(_COUNT).to_pylist(), strict=True
            )
        ]

    def _merge(self) -> None:
        if not self._pending:
            return
        merged = (
            pa.concat_tables([self._table, *self._pending])
            .group_by(_VALUE)
            # A value already held keeps its own error: the floor only grows.
            .aggregate([(_COUNT, "sum"), (_ERROR, "min")])
            .rename_columns({f"{_COUNT}_sum": _COUNT, f"{_ERROR}_min": _ERROR})
            .select([_VALUE, _COUNT, _ERROR])
        )
        self._pending = []
        self._pending_rows = 0
        if merged.num_rows > self._capacity:
            if not self._approximate:
                raise TooManyValuesError
            merged = self._prune(merged)
        self._table = merged.cast(self._schema)

    def _prune(self, table: pa.Table) -> pa.Table:
        """Keeps the more frequent half; what is dropped raises the floor."""
        order = pc.sort_indices(table, sort_keys=[(_COUNT, "descending"), (_VALUE, "ascending")])
        keep = self._capacity // 2
        dropped = table.take(order[keep:])
        bound = pc.max(pc.add(dropped.column(_COUNT), dropped.column(_ERROR))).as_py()
        self.floor = max(self.floor, bound or 0)
        return table.take(order[:keep])
