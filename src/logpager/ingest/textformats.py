"""The timestamp layouts of plain-text logs, each a regular expression and its conversion.

A layout's expression matches the timestamp itself, wherever it is; where it is in the lines
of a file (at the start, or after a level, a host or a file name) is found by
:mod:`logpager.ingest.textdetect`. Timestamps without a zone are taken as UTC; those without a
year take one from a :class:`~logpager.ingest.years.YearPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from logpager.ingest.years import YearPolicy, epoch_ms

__all__ = ["EPOCH_FORMAT", "TEXT_FORMATS", "TextFormat"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# Epoch values outside 1990-2100 are counters, ids or sizes, not times.
_EPOCH_LOW_S = 631_152_000
_EPOCH_HIGH_S = 4_102_444_800

ToMs = Callable[["re.Match[str]", YearPolicy], int]
"""Turns a match into epoch milliseconds; raises ValueError or KeyError."""


@dataclass(frozen=True)
class TextFormat:
    """
    One timestamp layout.

    :param name: Short name, shown in the ingest summary.
    :param example: A timestamp in this layout.
    :param body: The expression matching the timestamp (named groups for :attr:`to_ms`).
    :param to_ms: Turns a match of :attr:`body` into epoch milliseconds.
    :param absolute: Whether the layout names an instant (epoch), not a local time.
    :param millis: For calendar layouts: the milliseconds of a match.
    :param second_key: For calendar layouts: a match's text without its fraction of a second
        (given the match and the line); two matches with the same key differ only by
        :attr:`millis`, so a parser may reuse the previous line's second.
    """

    name: str
    example: str
    body: str
    to_ms: ToMs
    absolute: bool = False
    millis: Callable[[re.Match[str]], int] | None = None
    second_key: Callable[[re.Match[str], str], str] | None = None


def _frac_ms(frac: str | None) -> int:
    if not frac:
        return 0
    return int(frac[:3].ljust(3, "0"))


def _zone_offset_ms(zone: str | None) -> int:
    if not zone or zone in ("Z", "z"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0)) * 60_000


def _two_digit_year(yy: str) -> int:
    value = int(yy)
    return 2000 + value if value < 70 else 1900 + value


def _millis(names: set[str]) -> Callable[[re.Match[str]], int]:
    fraction, count = "f" in names, "ms" in names

    def millis(m: re.Match[str]) -> int:
        # After ":" the milliseconds are a count, often unpadded ("22:15:35:11" is 11 ms);
        # after "." or "," they are a decimal fraction.
        if count and m.group("ms"):
            return int(m.group("ms"))
        return _frac_ms(m.group("f")) if fraction else 0

    return millis


def calendar(body: str) -> ToMs:
    """
    Makes the conversion of a calendar layout, specialised to the groups its body has.

    :param body: The layout's expression, with named groups ``y`` or ``yy`` (or neither: the
        year policy chooses), ``mo`` or ``mon``, ``d``, ``h``, ``mi``, ``s``, and optional
        ``f`` (a decimal fraction of a second) or ``ms`` (milliseconds), and ``z`` (a zone).
    :return: The conversion; it raises ValueError for a date or time that does not exist.
    """
    # Reading the groups this layout has, by name, from the match: the generic alternative
    # (groupdict() and a lookup per group) took 45% of the time of a Zookeeper line.
    names = set(re.compile(body).groupindex)
    full_year, short_year, month_name = "y" in names, "yy" in names, "mon" in names
    zone = "z" in names
    millis_of = _millis(names)

    def to_ms(m: re.Match[str], years: YearPolicy) -> int:
        group = m.group
        month = _MONTHS[group("mon").lower()] if month_name else int(group("mo"))
        day, hour, minute, second = (
            int(group("d")),
            int(group("h")),
            int(group("mi")),
            int(group("s")),
        )
        millis = millis_of(m)
        year = group("y") if full_year else None
        if year:
            ms = epoch_ms(int(year), month, day, hour, minute, second, millis)
        elif short_year:
            ms = epoch_ms(_two_digit_year(group("yy")), month, day, hour, minute, second, millis)
        else:
            ms = years.stamp(month, day, hour, minute, second, millis)
        return ms - _zone_offset_ms(group("z")) if zone else ms

    return to_ms


def _second_key(names: set[str]) -> Callable[[re.Match[str], str], str]:
    fractions = [name for name in ("f", "ms") if name in names]

    def key(m: re.Match[str], line: str) -> str:
        # The whole match (a year or a zone may follow the seconds) without the fraction.
        for name in fractions:
            start, end = m.span(name)
            if start >= 0:
                return line[:start] + line[end : m.end()]
        return line[: m.end()]

    return key


def _calendar_format(name: str, example: str, body: str) -> TextFormat:
    names = set(re.compile(body).groupindex)
    return TextFormat(
        name,
        example,
        body,
        calendar(body),
        millis=_millis(names),
        second_key=_second_key(names),
    )


def _epoch_to_ms(m: re.Match[str], _years: YearPolicy) -> int:
    digits = m["e"]
    # 10 digits (or 9) are seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds.
    scale = {9: 1000, 10: 1000, 13: 1, 16: 1, 19: 1}[len(digits)]
    value = int(digits)
    ms = value * scale if scale > 1 else value // 10 ** (len(digits) - 13)
    if not _EPOCH_LOW_S * 1000 <= ms < _EPOCH_HIGH_S * 1000:
        msg = f"{digits} is outside 1990-2100 as epoch time"
        raise ValueError(msg)
    return ms + (_frac_ms(m["f"]) if scale > 1 else 0)


_MON = r"(?P<mon>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
_HMS = r"(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})"
_END = r"(?![\w:])"
_FRACTION = r"(?:[.,](?P<f>\d{1,9})|:(?P<ms>\d{1,3}))?"

EPOCH_FORMAT = TextFormat(
    "epoch",
    "1131566461 / 1131566461.123 / 1131566461123",
    r"(?P<e>\d{19}|\d{16}|\d{13}|\d{9,10})(?:\.(?P<f>\d{1,9}))?(?![\w.:/-])",
    _epoch_to_ms,
    absolute=True,
)
"""Epoch seconds (optionally with a fraction), milliseconds, microseconds or nanoseconds."""

TEXT_FORMATS: tuple[TextFormat, ...] = (
    _calendar_format(
        "iso8601",
        "2015-07-29 17:41:44,747 / 2017-05-16_13:53:08 / 2005-06-03-15.42.50.675872",
        r"(?P<y>\d{4})(?P<ds>[-/.])(?P<mo>\d{1,2})(?P=ds)(?P<d>\d{1,2})(?:[T_@:-]| +)"
        r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})[:.](?P<s>\d{2})"
        + _FRACTION
        + r"(?: ?(?P<z>[Zz]|[+-]\d{2}:?\d{2})(?![\d:]))?"
        + _END,
    ),
    _calendar_format(
        "yyyymmdd",
        "20171223-22:15:29:606 / 20171223T22:15:29Z",
        r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[-T_ ]" + _HMS + _FRACTION + r"(?P<z>Z)?" + _END,
    ),
    _calendar_format(
        "ctime",
        "[Sun Dec 04 04:47:44 2005]",
        r"\[?(?i:mon|tue|wed|thu|fri|sat|sun)\w* +"
        + _MON
        + r" +(?P<d>\d{1,2}) +"
        + _HMS
        + r"(?:\.(?P<f>\d{1,9}))? +(?P<y>\d{4})\]?",
    ),
    _calendar_format(
        "common-log",
        "[10/Oct/2000:13:55:36 -0700]",
        r"\[?(?P<d>\d{1,2})/" + _MON + r"/(?P<y>\d{4}):" + _HMS + r"(?: (?P<z>[+-]\d{4}))?\]?",
    ),
    _calendar_format(
        "syslog",
        "Jun 14 15:16:01 / Jun  9 2005 15:16:01.123",
        _MON + r"[a-z]* +(?P<d>\d{1,2})(?: (?P<y>\d{4}))? +" + _HMS + r"(?:\.(?P<f>\d{1,9}))?",
    ),
    _calendar_format(
        "hdfs",
        "081109 203615",
        r"(?P<yy>\d{2})(?P<mo>\d{2})(?P<d>\d{2}) (?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?!\d)",
    ),
    _calendar_format(
        "yy/mm/dd",
        "17/06/09 20:10:40",
        r"(?P<yy>\d{2})/(?P<mo>\d{2})/(?P<d>\d{2}) " + _HMS + r"(?:[.,](?P<f>\d{1,9}))?" + _END,
    ),
    _calendar_format(
        "mm/dd/yyyy",
        "06/09/2017 20:10:40",
        r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})[ :]"
        + _HMS
        + r"(?:[.,](?P<f>\d{1,9}))?"
        + _END,
    ),
    _calendar_format(
        "mm-dd",
        "03-17 16:13:38.811 / [10.30 16:49:06]",
        r"\[?(?P<mo>\d{1,2})[-./](?P<d>\d{1,2})[ T]" + _HMS + _FRACTION + r"\]?" + _END,
    ),
    EPOCH_FORMAT,
)
"""The layouts recognised; on a tie in detection the earlier one wins."""
