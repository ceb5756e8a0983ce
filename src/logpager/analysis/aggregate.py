"""Counts over a whole cached result: events per time bucket, or the most common values of a
field.

Every chunk of the result is read, a bounded group of decoded chunks at a time
(:func:`~logpager.analysis.batches.grouped_batches`), and counted in Arrow
(:mod:`logpager.analysis.counting`); no page is formatted. A result that kept fewer events
than matched (``truncated``) is counted over the events it kept: the answer says so.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from logpager.analysis.batches import grouped_batches
from logpager.analysis.counting import TooManyValuesError, ValueCounter
from logpager.analysis.jsonfields import FieldReader, parse_field_path
from logpager.cache import QueryResult
from logpager.errors import InvalidArgumentError
from logpager.schema import TIMESTAMP
from logpager.settings import Settings
from logpager.timeutil import format_epoch_ms

__all__ = [
    "BY_TIME",
    "INTERVAL_UNITS_MS",
    "aggregate",
    "check_top",
    "parse_interval",
    "time_histogram",
    "top_values",
]

BY_TIME = "time"
"""The ``by`` that asks for a histogram over time rather than a field's values."""

INTERVAL_UNITS_MS: dict[str, int] = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
"""Units of a histogram interval: seconds, minutes, hours, days (UTC)."""

# A count and one unit, nothing else: "30s", "5m", "1h", "1d". Up to 6 digits (11.5 days in
# seconds, ~2,700 years in days) keeps the milliseconds far inside int64.
_INTERVAL = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_INTERVAL_HELP = (
    'pass a positive whole number and one unit, s (seconds), m (minutes), h (hours) or d '
    '(days), with no space, e.g. "30s", "1m", "5m", "1h", "1d".'
)


def parse_interval(interval: object) -> int:
    """
    :param interval: A histogram interval as the caller gave it, e.g. ``"5m"``.
    :return: Its length in milliseconds.
    :raise InvalidArgumentError: If it is not a count and a unit (see
        :data:`INTERVAL_UNITS_MS`), naming ``interval``.
    """
    match = _INTERVAL.fullmatch(interval) if isinstance(interval, str) else None
    if match is None:
        raise InvalidArgumentError("interval", f"{interval!r} is not an interval; {_INTERVAL_HELP}")
    return int(match[1]) * INTERVAL_UNITS_MS[match[2]]


def check_top(top: object, max_top: int) -> int:
    """
    :param top: How many values to list, as the caller gave it.
    :param max_top: The most allowed.
    :return: ``top``.
    :raise InvalidArgumentError: If it is not an integer in ``1..max_top``, naming ``top``.
    """
    if type(top) is not int or not 1 <= top <= max_top:
        raise InvalidArgumentError("top", f"{top!r} is not an integer from 1 to {max_top}.")
    return top


def aggregate(
    result: QueryResult, *, by: object, top: object, interval: object, settings: Settings
) -> dict[str, Any]:
    """
    Counts a whole result, by time or by a field's values (the ``aggregate_results`` tool).

    :param result: The cached result.
    :param by: ``"time"`` for a histogram, else a field's dotted path.
    :param top: How many of the most common values to list (``by`` a field).
    :param interval: The histogram's bucket length (required ``by="time"``, refused
        otherwise); see :func:`parse_interval`.
    :param settings: The ``aggregate_*`` bounds.
    :return: :func:`time_histogram`'s or :func:`top_values`' answer.
    :raise InvalidArgumentError: For an unusable ``by``, ``top`` or ``interval``, naming it.
    """
    if by == BY_TIME:
        if interval is None:
            raise InvalidArgumentError(
                "interval", f'by="time" needs an interval to count by; {_INTERVAL_HELP}'
            )
        return time_histogram(
            result,
            interval,
            max_buckets=settings.aggregate_max_buckets,
            batch_rows=settings.aggregate_batch_rows,
        )
    path = parse_field_path(by, "by")
    if interval is not None:
        raise InvalidArgumentError(
            "interval", 'an interval is only used with by="time"; leave it out to count a field.'
        )
    return top_values(
        result,
        path,
        check_top(top, settings.aggregate_max_top),
        capacity=settings.aggregate_max_distinct_values,
        batch_rows=settings.aggregate_batch_rows,
    )


def time_histogram(
    result: QueryResult, interval: object, *, max_buckets: int, batch_rows: int = 1024
) -> dict[str, Any]:
    """
    Events per bucket of time, over the whole result.

    Buckets are aligned to the Unix epoch in UTC (a ``1d`` bucket starts at midnight UTC).

    :param result: The cached result.
    :param interval: The bucket length, see :func:`parse_interval`.
    :param max_buckets: Most non-empty buckets the answer may hold.
    :param batch_rows: Rows counted at a time (see :mod:`logpager.analysis.batches`).
    :return: ``by``, ``interval``, ``buckets`` (``{"start": ISO 8601, "count": n}`` for
        each bucket holding events, oldest first; empty buckets are left out),
        ``no_timestamp`` (events without a timestamp), and :func:`coverage`'s keys.
    :raise InvalidArgumentError: If ``interval`` is malformed, or there would be more than
        ``max_buckets`` buckets, naming ``interval``.
    """
    interval_ms = parse_interval(interval)
    counter = ValueCounter(pa.int64(), max_buckets, approximate=False)
    no_timestamp = 0
    try:
        for batch in grouped_batches(result, batch_rows):
            if TIMESTAMP not in batch.schema.names:  # verbatim items carry no time
                no_timestamp += batch.num_rows
                continue
            timestamps = batch.column(TIMESTAMP)
            no_timestamp += timestamps.null_count
            counter.add(_bucket_starts(timestamps, interval_ms))
    except TooManyValuesError:
        raise InvalidArgumentError(
            "interval",
            f"the events fall in more than {max_buckets} buckets of {interval}; pass a longer "
            "interval, or narrow the query or time range.",
        ) from None
    buckets = [
        {"start": format_epoch_ms(_as_int(item.value)), "count": item.count}
        for item in counter.by_value()
    ]
    return {
        "by": BY_TIME,
        "interval": interval,
        "buckets": buckets,
        "no_timestamp": no_timestamp,
        **coverage(result),
    }


def top_values(
    result: QueryResult, path: tuple[str, ...], top: int, *, capacity: int, batch_rows: int = 1024
) -> dict[str, Any]:
    """
    The most common values of one field, over the whole result.

    :param result: The cached result.
    :param path: The field's keys (see :func:`~logpager.analysis.jsonfields.parse_field_path`).
    :param top: How many values to list.
    :param capacity: Most different values counted exactly; past it, counts are approximate
        (see :mod:`logpager.analysis.counting`).
    :param batch_rows: Rows counted at a time (see :mod:`logpager.analysis.batches`).
    :return: ``by``, ``values`` (``{"value": text, "count": n}``, the most common first, ties
        in value order), ``other`` (events holding any other value), ``missing`` (events
        without the field), ``num_distinct_values`` (``None`` once approximate),
        ``approximate`` and, when approximate, ``count_error_bound`` (a listed count may be
        up to this far below the true one), and :func:`coverage`'s keys.
    :raise InvalidArgumentError: If no event of a non-empty result has the field, naming
        ``by``.
    """
    counter = ValueCounter(pa.string(), capacity, approximate=True)
    missing = 0
    reader = FieldReader(path)
    for batch in grouped_batches(result, batch_rows):
        values = reader.values(batch)
        missing += values.null_count
        counter.add(values)
    by = ".".join(path)
    if counter.total == 0 and result.num_items > 0:
        raise InvalidArgumentError(
            "by",
            f"no event of the result has the field {by!r}. Plain-text log events have only "
            '"timestamp" and "message"; JSON events have their own keys (dotted for nested '
            'ones); by="time" counts events over time.',
        )
    listed = counter.most_common(top)
    answer: dict[str, Any] = {
        "by": by,
        "values": [{"value": item.value, "count": item.count} for item in listed],
        "other": counter.total - sum(item.count for item in listed),
        "missing": missing,
        "num_distinct_values": None if counter.approximate else counter.num_values(),
        "approximate": counter.approximate,
    }
    if counter.approximate:
        answer["count_error_bound"] = counter.floor
    return {**answer, **coverage(result)}


def coverage(result: QueryResult) -> dict[str, Any]:
    """
    :param result: The result counted.
    :return: ``num_items`` (events counted), ``num_total_matches`` and ``truncated``, and
        when truncated a ``note`` that the counts cover the kept events only.
    """
    facts: dict[str, Any] = {
        "num_items": result.num_items,
        "num_total_matches": result.num_total_matches,
        "truncated": result.truncated,
    }
    if result.truncated:
        facts["note"] = (
            f"The search matched {result.num_total_matches} events but the result kept the "
            f"latest {result.num_items}: these counts cover the kept events only. Narrow the "
            "query or time range to count everything."
        )
    return facts


def _bucket_starts(timestamps: pa.Array, interval_ms: int) -> pa.Array:
    """Each timestamp's bucket start (epoch ms), rounding down also before 1970."""
    quotient = pc.divide(timestamps, interval_ms)  # truncates toward zero
    starts = pc.multiply(quotient, interval_ms)
    # A negative timestamp between two multiples truncates up: move it one bucket down.
    late = pc.and_(pc.less(timestamps, 0), pc.not_equal(starts, timestamps))
    return pc.if_else(late, pc.subtract(starts, interval_ms), starts)


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) else None
