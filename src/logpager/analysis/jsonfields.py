"""The values of one field of a result's events, read from their JSON text a batch at a time.

An event's ``message`` is its JSON object text; a plain-text log line was ingested wrapped as
``{"timestamp": <epoch ms>, "message": "<line>"}``, so a text log's events have exactly the
fields ``timestamp`` and ``message``. A batch's messages are parsed in C++ by
:func:`pyarrow.json.read_json` (newline-joined, one block, no threads: a batch is small),
reading only the field asked for (:class:`FieldReader`); a batch it cannot take (a field
that is a number in one event and a string in another, an object where a scalar is looked
for, a value out of range) is read row by row with :mod:`json` instead, which gives the
same text.

Values are reported as text: strings as they are, numbers as written in JSON (``200``,
``1.5``; a float with no fraction without ``.0``), booleans ``true``/``false``, objects and
arrays as compact JSON. A JSON ``null`` counts as a missing field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from logpager.cache.codec.textevents import TEXT_LOG_EVENT
from logpager.errors import InvalidArgumentError
from logpager.schema import ITEM, MESSAGE

__all__ = [
    "TEXT_LOG_EVENT",
    "FieldReader",
    "event_texts",
    "field_values",
    "parse_field_path",
    "value_text",
]

# The types a field's value is tried as, before inference (see FieldReader).
_LEAF_TYPES = (pa.string(), pa.int64(), pa.float64(), pa.bool_())

# Whole floats below 2**53 (exact as doubles) print as integers: 87.0 and 87 are one value.
_PLAIN_FLOAT_LIMIT = float(2**53)


def parse_field_path(path: object, parameter: str) -> tuple[str, ...]:
    """
    :param path: A dotted field path as the caller gave it, e.g. ``http.request.method``.
    :param parameter: The tool parameter that carried it (named in errors).
    :return: Its keys, outermost first.
    :raise InvalidArgumentError: If it is not a non-empty string of non-empty dotted keys.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgumentError(
            parameter, 'pass a field name, e.g. "level", or a dotted path such as "http.method".'
        )
    keys = tuple(path.split("."))
    if any(not key for key in keys):
        raise InvalidArgumentError(
            parameter, f"{path!r} has an empty key; separate nested keys with single dots."
        )
    return keys


def field_values(batch: pa.RecordBatch, path: Sequence[str]) -> pa.Array:
    """
    The value of one field in each event of a batch, as text.

    :param batch: Rows of :data:`~logpager.schema.RESULT_SCHEMA`; verbatim rows (an ``item``
        column) have no fields.
    :param path: The field's keys, outermost first (see :func:`parse_field_path`).
    :return: A string array, one value a row, null where the event lacks the field (or holds
        JSON ``null`` there).
    """
    return FieldReader(path).values(batch)


class FieldReader:
    """
    Reads one field's values from batch after batch.

    The JSON reader is told the field's type and to skip every other key: on 10,000
    synthetic events that parsed in 8.5 ms where inferring every key's type took 77 ms. The
    type is not known beforehand, so string, integer, float and boolean are tried in turn
    (a wrong one fails at the first row that disagrees), the one that parsed last first.
    A field that holds objects or arrays, or several types in one batch, is read with type
    inference, or row by row.

    :param path: The field's keys, outermost first (see :func:`parse_field_path`).
    """

    def __init__(self, path: Sequence[str]) -> None:
        self.path = tuple(path)
        self._types: list[pa.DataType] = list(_LEAF_TYPES)

    def values(self, batch: pa.RecordBatch) -> pa.Array:
        """
        :param batch: Rows of a result (either schema).
        :return: As :func:`field_values`.
        """
        if MESSAGE not in batch.schema.names or batch.num_rows == 0:
            return pa.nulls(batch.num_rows, pa.string())
        messages = batch.column(MESSAGE)
        data = _json_lines(messages)
        for kind in self._types:
            try:
                table = _read_json(data, _schema_for(self.path, kind))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            values = _column_at(table, self.path, batch.num_rows)
            if values is not None:
                self._types.remove(kind)
                self._types.insert(0, kind)
                return values
        try:
            table = _read_json(data, None)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _values_row_by_row(messages, self.path)
        values = _column_at(table, self.path, batch.num_rows)
        if values is None:
            return _values_row_by_row(messages, self.path)
        return values


def event_texts(batch: pa.RecordBatch) -> pa.Array:
    """
    The text a filter reads in each event: the line of a plain-text log event, the whole JSON
    object text of a JSON event, the item of a verbatim result.

    :param batch: Rows of :data:`~logpager.schema.RESULT_SCHEMA` or the verbatim schema.
    :return: A string array, one text a row.
    """
    if MESSAGE not in batch.schema.names:
        return batch.column(ITEM)
    messages = batch.column(MESSAGE)
    wrapped = pc.match_substring_regex(messages, TEXT_LOG_EVENT)
    kept = pc.sum(wrapped).as_py() or 0
    if kept == 0:
        return messages
    if kept == batch.num_rows:
        return field_values(batch, (MESSAGE,))
    lines = field_values(batch.filter(wrapped), (MESSAGE,))
    return pc.replace_with_mask(messages, wrapped, lines)


def _schema_for(path: Sequence[str], leaf: pa.DataType) -> pa.Schema:
    kind = leaf
    for key in reversed(path[1:]):
        kind = pa.struct([(key, kind)])
    return pa.schema([(path[0], kind)])


def _json_lines(messages: pa.Array) -> pa.Buffer:
    """The messages as JSON-lines text, in one buffer."""
    # Each message with "\n" after it: the joined array's data buffer is the JSON-lines text.
    joined = pc.binary_join_element_wise(messages, "", "\n")
    _validity, offsets_buffer, data_buffer = joined.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), len(joined) + 1, [None, offsets_buffer], offset=joined.offset
    )
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return data_buffer.slice(start, end - start)


def _read_json(data: pa.Buffer, schema: pa.Schema | None) -> pa.Table:
    """
    Parses JSON lines in one block (so that inferred types cover every row) on this thread
    (a group of chunks is small); with ``schema``, only its keys, other keys skipped.
    """
    parse = (
        pa_json.ParseOptions()
        if schema is None
        else pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    )
    return pa_json.read_json(
        pa.BufferReader(data),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=max(len(data), 1) + 1),
        parse_options=parse,
    )


def _column_at(table: pa.Table, path: Sequence[str], num_rows: int) -> pa.Array | None:
    """The path's values as text; ``None`` when they are not all scalars Arrow can print."""
    if table.num_rows != num_rows:  # an empty line or a second object on one line
        return None
    if path[0] not in table.schema.names:
        return pa.nulls(num_rows, pa.string())
    column: pa.Array = table.column(path[0]).combine_chunks()
    for key in path[1:]:
        if not pa.types.is_struct(column.type):
            if pa.types.is_null(column.type):
                return pa.nulls(num_rows, pa.string())
            # A scalar in some events where others hold an object: only rows hold the answer.
            return None
        if column.type.get_field_index(key) < 0:
            return pa.nulls(num_rows, pa.string())
        # Unlike StructArray.field, the kernel keeps the parent's nulls (a missing object).
        column = pc.struct_field(column, [column.type.get_field_index(key)])
    kind = column.type
    if pa.types.is_string(kind):
        return column
    if pa.types.is_null(kind):
        return pa.nulls(num_rows, pa.string())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_large_string(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(kind):
        return _floats_text(column)
    return None  # objects, arrays, timestamps: printed as JSON row by row


def _floats_text(column: pa.Array) -> pa.Array:
    """Floats as JSON writes them; Arrow's own cast prints 123456789012.0 as 1.23456789012e+11."""
    # A column of integers with one float among them is inferred as double: whole numbers go
    # through int64 so that they print as the integers they were written as.
    whole = pc.and_(pc.equal(pc.floor(column), column), pc.less(pc.abs(column), _PLAIN_FLOAT_LIMIT))
    if pc.all(whole).as_py() in (True, None):
        return pc.cast(pc.cast(column, pa.int64()), pa.string())
    return pa.array([value_text(v) for v in column.to_pylist()], pa.string())


def _values_row_by_row(messages: pa.Array, path: Sequence[str]) -> pa.Array:
    """The slow path, for batches whose types Arrow cannot reconcile."""
    return pa.array(
        [value_text(_lookup(text, path)) for text in messages.to_pylist()], pa.string()
    )


def _lookup(text: str | None, path: Sequence[str]) -> Any:
    if text is None:
        return None
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def value_text(value: Any) -> str | None:
    """
    :param value: A value decoded from JSON.
    :return: It as text, as the fast path gives it (see the module's docstring); ``None``
        for ``None``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < _PLAIN_FLOAT_LIMIT:
            return str(int(value))
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
