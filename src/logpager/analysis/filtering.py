"""A new result holding the events of a cached result that match, without searching again.

The source is read a bounded group of decoded chunks at a time
(:func:`~logpager.analysis.batches.grouped_batches`); each group is masked in Arrow and what
matches goes straight into a :class:`~logpager.cache.builder.ResultBuilder`, so the events
keep their latest-first order and the filter holds one group, the builder's unfinished rows
and the new result's compressed chunks, never the matches uncompressed.

What ``text`` and ``regex`` read is an event's text (see
:func:`~logpager.analysis.jsonfields.event_texts`): a plain-text log's line, a JSON event's
whole object text, a verbatim item.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from logpager.analysis.batches import grouped_batches
from logpager.analysis.jsonfields import (
    FieldReader,
    event_texts,
    parse_field_path,
    value_text,
)
from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.errors import InvalidArgumentError
from logpager.settings import Settings

__all__ = ["FilterCriteria", "filter_result"]


@dataclass(frozen=True)
class FilterCriteria:
    """
    What events a filter keeps; every criterion given must hold (AND).

    Make one with :meth:`parse`, which checks the caller's arguments.

    :param text: A substring of the event's text, any case.
    :param regex: An RE2 regular expression searched in the event's text.
    :param field: A field's dotted path, with ``value``.
    :param value: The text the field's value must equal exactly.
    """

    text: str | None = None
    regex: str | None = None
    field: str | None = None
    value: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        text: object = None,
        regex: object = None,
        field: object = None,
        value: object = None,
    ) -> FilterCriteria:
        """
        :param text: ``text`` as the caller gave it (a non-empty string, or ``None``).
        :param regex: ``regex`` as given (a non-empty RE2 expression, or ``None``).
        :param field: ``field`` as given (a dotted path, or ``None``).
        :param value: ``value`` as given (a string, number or boolean, compared as the text
            :mod:`~logpager.analysis.jsonfields` gives values; or ``None``).
        :return: The criteria.
        :raise InvalidArgumentError: Naming the parameter: none given, an empty or
            non-string ``text`` or ``regex``, an invalid regular expression, a ``field``
            without ``value`` or the other way round.
        """
        if text is None and regex is None and field is None and value is None:
            raise InvalidArgumentError(
                "text/regex/field",
                "pass at least one criterion: text (a substring, any case), regex (an RE2 "
                "regular expression), or field with value (an exact field value).",
            )
        if text is not None and (not isinstance(text, str) or not text):
            raise InvalidArgumentError("text", "pass a non-empty string to look for.")
        if regex is not None:
            _check_regex(regex)
        if field is not None and value is None:
            raise InvalidArgumentError("value", f"pass the value that field {field!r} must equal.")
        if value is not None and field is None:
            raise InvalidArgumentError("field", "pass the field whose value must equal value.")
        if field is not None:
            parse_field_path(field, "field")
        return cls(
            text=text if isinstance(text, str) else None,
            regex=regex if isinstance(regex, str) else None,
            field=field if isinstance(field, str) else None,
            value=_value_text(value),
        )

    def describe(self) -> str:
        """:return: The criteria as a query suffix, e.g. ``text="timeout" AND level="ERROR"``."""
        parts = []
        if self.text is not None:
            parts.append(f"text={json.dumps(self.text)}")
        if self.regex is not None:
            parts.append(f"regex={json.dumps(self.regex)}")
        if self.field is not None:
            parts.append(f"{self.field}={json.dumps(self.value)}")
        return " AND ".join(parts)

    def mask(
        self, batch: pa.RecordBatch, reader: FieldReader | None = None
    ) -> tuple[pa.BooleanArray, bool]:
        """
        :param batch: Rows of a result (either schema).
        :param reader: Reads ``field`` (one kept over the batches of a result reads faster);
            default: a new one.
        :return: Which rows match, and whether any row of the batch has ``field``.
        """
        keep: pa.BooleanArray = pa.repeat(pa.scalar(True), batch.num_rows)
        if self.text is not None or self.regex is not None:
            texts = event_texts(batch)
            if self.text is not None:
                keep = pc.and_(keep, pc.match_substring(texts, self.text, ignore_case=True))
            if self.regex is not None:
                keep = pc.and_(keep, pc.match_substring_regex(texts, self.regex))
        has_field = False
        if self.field is not None:
            reader = reader if reader is not None else FieldReader(self.field.split("."))
            values = reader.values(batch)
            has_field = values.null_count < len(values)
            keep = pc.and_(keep, pc.fill_null(pc.equal(values, self.value), False))
        return keep, has_field


def filter_result(
    source: QueryResult,
    criteria: FilterCriteria,
    *,
    settings: Settings,
    max_compressed_bytes: int | None = None,
    clock: Clock = time.monotonic,
) -> QueryResult:
    """
    The events of ``source`` that match, as a new result (the ``filter_result`` tool).

    :param source: The cached result to filter.
    :param criteria: What to keep.
    :param settings: Chunking and compression settings of the new result, and
        ``aggregate_batch_rows`` (rows filtered at a time).
    :param max_compressed_bytes: Limit of the new result's compressed bytes, if any.
    :param clock: Monotonic clock of the new result (its owner's, for its lifetime).
    :return: A result with the source's spec, its query followed by ``| filter`` and the
        criteria, holding the matching events latest first; ``num_total_matches`` is how
        many matched.
    :raise InvalidArgumentError: If ``criteria.field`` is in no event of a non-empty source,
        naming ``field``.
    """
    seen = {"field": False}
    reader = FieldReader(criteria.field.split(".")) if criteria.field is not None else None

    def matching() -> Iterator[pa.RecordBatch]:
        for batch in grouped_batches(source, settings.aggregate_batch_rows):
            keep, has_field = criteria.mask(batch, reader)
            seen["field"] = seen["field"] or has_field
            yield batch.filter(keep)

    spec = dataclasses.replace(source.spec, query=f"{source.query} | filter {criteria.describe()}")
    derived = QueryResult.from_batches(
        matching(),
        spec,
        settings=settings,
        presorted=True,
        max_compressed_bytes=max_compressed_bytes,
        clock=clock,
    )
    if criteria.field is not None and source.num_items > 0 and not seen["field"]:
        raise InvalidArgumentError(
            "field",
            f"no event of the result has the field {criteria.field!r}. Plain-text log events "
            'have only "timestamp" and "message"; JSON events have their own keys (dotted for '
            "nested ones).",
        )
    return derived


def _check_regex(regex: object) -> None:
    if not isinstance(regex, str) or not regex:
        raise InvalidArgumentError("regex", "pass a non-empty RE2 regular expression.")
    try:
        # The kernel compiles the expression only when it has a row to match.
        pc.match_substring_regex(pa.array([""]), regex)
    except pa.ArrowInvalid as exc:
        problem = str(exc).removeprefix("Invalid regular expression: ")
        raise InvalidArgumentError(
            "regex",
            f"{regex!r} is not a valid RE2 regular expression ({problem}); RE2 has no "
            "backreferences or lookaround, and (?i) makes it ignore case.",
        ) from None


def _value_text(value: object) -> str | None:
    """A value to compare with, as the text field values are given in."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value_text(value)
    raise InvalidArgumentError("value", "pass a string, a number or true/false.")
