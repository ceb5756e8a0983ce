"""The rows a result is built from: the schemas it accepts, seed items as rows, latest first."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from logpager.schema import (
    ARCHIVE_ID,
    ITEM,
    LOG_EVENT_INDEX,
    MESSAGE,
    RESULT_SCHEMA,
    TIMESTAMP,
    VERBATIM_SCHEMA,
)

__all__ = ["check_schema", "gather_latest_first", "rows_from_items", "sort_latest_first"]


def check_schema(schema: pa.Schema, expected: pa.Schema) -> None:
    """
    :param schema: The schema of rows offered to a result.
    :param expected: The schema of the result's first rows.
    :raise ValueError: Unless ``schema`` is ``expected`` and a schema results are stored in.
    """
    if not schema.equals(expected):
        msg = f"batch schema {schema} does not match {expected}"
        raise ValueError(msg)
    if not (schema.equals(RESULT_SCHEMA) or schema.equals(VERBATIM_SCHEMA)):
        msg = f"unsupported result schema: {schema}"
        raise ValueError(msg)


def rows_from_items(items: Sequence[str | dict[str, Any]]) -> pa.Table:
    """
    Turns the seed API's items into a table: strings verbatim, dicts as event rows.

    :param items: All strings (formatted items, kept in order) or all dicts (events with
        ``timestamp`` in epoch ms or ``None``, ``message``, and optionally ``archive_id``
        and ``log_event_index``; a dict without ``message`` becomes its JSON).
    :return: Verbatim rows, or event rows latest first.
    :raise TypeError: If items mix kinds or a timestamp is not an int.
    """
    if not items:
        return RESULT_SCHEMA.empty_table()
    if all(isinstance(x, str) for x in items):
        return pa.table({ITEM: pa.array(items, pa.string())}, schema=VERBATIM_SCHEMA)
    if not all(isinstance(x, dict) for x in items):
        msg = "results must be all strings (formatted items) or all dicts (events)"
        raise TypeError(msg)
    columns: dict[str, list[Any]] = {
        TIMESTAMP: [],
        MESSAGE: [],
        ARCHIVE_ID: [],
        LOG_EVENT_INDEX: [],
    }
    for event in items:
        assert isinstance(event, dict)
        ts = event.get(TIMESTAMP)
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int)):
            msg = f"event timestamp must be epoch milliseconds (int), got {ts!r}"
            raise TypeError(msg)
        message = event.get(MESSAGE)
        if message is None:
            rest = {k: v for k, v in event.items() if k not in (ARCHIVE_ID, LOG_EVENT_INDEX)}
            message = json.dumps(rest, ensure_ascii=False)
        columns[TIMESTAMP].append(ts)
        columns[MESSAGE].append(str(message))
        columns[ARCHIVE_ID].append(str(event.get(ARCHIVE_ID) or ""))
        columns[LOG_EVENT_INDEX].append(event.get(LOG_EVENT_INDEX))
    table = pa.table(columns, schema=RESULT_SCHEMA)
    # Dicts carry timestamps, so they are put latest first here; the sort is stable, so input
    # that is already ordered keeps its order among equal timestamps.
    return sort_latest_first(table)


def sort_latest_first(table: pa.Table) -> pa.Table:
    """
    :param table: Result rows in any order.
    :return: The rows latest first, those without a timestamp last (verbatim rows as given).
    """
    if table.num_rows <= 1 or TIMESTAMP not in table.column_names:
        return table
    # Arrow's sort_indices is stable, so rows with equal timestamps keep the engine's order.
    order = pc.sort_indices(table, sort_keys=[(TIMESTAMP, "descending", "at_end")])
    return table.take(order)


def gather_latest_first(batches: Iterable[pa.RecordBatch | pa.Table]) -> pa.Table:
    """
    Gathers rows that come in any order into one table, latest first.

    :param batches: Rows with one schema results are stored in.
    :return: All the rows, sorted (an empty table of
        :data:`~logpager.schema.RESULT_SCHEMA` when there are none).
    :raise ValueError: If a batch has another schema or an unsupported one.
    """
    parts = list(batches)
    schema = parts[0].schema if parts else RESULT_SCHEMA
    for part in parts:
        check_schema(part.schema, schema)
    table = pa.concat_tables(
        [p if isinstance(p, pa.Table) else pa.Table.from_batches([p]) for p in parts]
        or [schema.empty_table()]
    )
    del parts
    return sort_latest_first(table)
