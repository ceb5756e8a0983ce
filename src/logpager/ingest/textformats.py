"""Timestamps of plain-text log lines, and the grouping of lines into events.

A file is sniffed once (its first lines) to pick one :class:`TextFormat`; every line is then
matched against that format's anchored regular expression only. Trying every format on every
line was 4x slower and let a stack-trace line that happens to start with a date-like token
start a new event.

Timestamps without a zone are taken as UTC. Formats without a year (syslog) take the year
given, or else the current one, rolled back a year if that puts the first line in the future,
and advance the year when the month wraps from December to January.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "TEXT_FORMATS",
    "TextFormat",
    "TimestampParser",
    "detect_format",
    "iter_text_events",
    "parse_timestamp",
]

DEFAULT_MAX_EVENT_BYTES = 1 << 20
"""Above this size an event stops absorbing continuation lines (they start a new event).

The default of :func:`iter_text_events`; an ingest passes ``Settings.ingest_max_event_bytes``.
"""

_SNIFF_LINES = 200

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_DAYS_CACHE: dict[tuple[int, int, int], int] = {}


def _days_since_epoch(year: int, month: int, day: int) -> int:
    key = (year, month, day)
    days = _DAYS_CACHE.get(key)
    if days is None:
        days = datetime(year, month, day, tzinfo=UTC).toordinal() - 719_163
        if len(_DAYS_CACHE) < 100_000:
            _DAYS_CACHE[key] = days
    return days


def _epoch_ms(
    year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int = 0
) -> int:
    days = _days_since_epoch(year, month, day)
    return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis


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


class _YearGuess:
    """The year of yearless timestamps in one file; advances when December wraps to January."""

    def __init__(self, default_year: int | None) -> None:
        self.year = default_year
        self.last_month = 0

    def year_for(self, month: int, day: int, hour: int) -> int:
        if self.year is None:
            now = time.gmtime()
            self.year = now.tm_year
            # A first line "in the future" was written last year.
            if (month, day, hour) > (now.tm_mon, now.tm_mday, now.tm_hour + 1):
                self.year -= 1
        elif self.last_month - month >= 6:
            self.year += 1
        self.last_month = month
        return self.year


_ToMs = Callable[["re.Match[str]", _YearGuess], int]


@dataclass(frozen=True)
class TextFormat:
    """
    One timestamp layout at the start of a line.

    :param name: Short name for messages and tests.
    :param example: A line prefix in this format.
    :param pattern: Anchored at the line start (used with ``re.match``).
    :param to_ms: Turns a match into epoch milliseconds.
    """

    name: str
    example: str
    pattern: re.Pattern[str]
    to_ms: _ToMs


def _iso_ms(m: re.Match[str], _years: _YearGuess) -> int:
    return _epoch_ms(
        int(m["y"]),
        int(m["mo"]),
        int(m["d"]),
        int(m["h"]),
        int(m["mi"]),
        int(m["s"]),
        _frac_ms(m["f"]),
    ) - _zone_offset_ms(m["z"])


def _apache_ms(m: re.Match[str], _years: _YearGuess) -> int:
    return _epoch_ms(
        int(m["y"]),
        _MONTHS[m["mon"].lower()],
        int(m["d"]),
        int(m["h"]),
        int(m["mi"]),
        int(m["s"]),
        _frac_ms(m["f"]),
    )


def _two_digit_year(yy: str) -> int:
    value = int(yy)
    return 2000 + value if value < 70 else 1900 + value


def _hdfs_ms(m: re.Match[str], _years: _YearGuess) -> int:
    return _epoch_ms(
        _two_digit_year(m["y"]),
        int(m["mo"]),
        int(m["d"]),
        int(m["h"]),
        int(m["mi"]),
        int(m["s"]),
    )


def _syslog_ms(m: re.Match[str], years: _YearGuess) -> int:
    month = _MONTHS[m["mon"].lower()]
    day, hour = int(m["d"]), int(m["h"])
    year = years.year_for(month, day, hour)
    return _epoch_ms(year, month, day, hour, int(m["mi"]), int(m["s"]), _frac_ms(m["f"]))


def _clf_ms(m: re.Match[str], _years: _YearGuess) -> int:
    return _epoch_ms(
        int(m["y"]),
        _MONTHS[m["mon"].lower()],
        int(m["d"]),
        int(m["h"]),
        int(m["mi"]),
        int(m["s"]),
    ) - _zone_offset_ms(m["z"])


def _slash_ms(m: re.Match[str], _years: _YearGuess) -> int:
    return _epoch_ms(
        _two_digit_year(m["y"]),
        int(m["mo"]),
        int(m["d"]),
        int(m["h"]),
        int(m["mi"]),
        int(m["s"]),
    )


_MON = r"(?P<mon>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
_HMS = r"(?P<h>[01]\d|2[0-3]):(?P<mi>[0-5]\d):(?P<s>[0-5]\d|60)"

TEXT_FORMATS: tuple[TextFormat, ...] = (
    TextFormat(
        "iso8601",
        "2015-07-29 17:41:44,747 / 2015-07-29T17:41:44.747Z",
        re.compile(
            r"\[?(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ]"
            + _HMS
            + r"(?:[.,](?P<f>\d{1,9}))?(?P<z>Z|[+-]\d{2}:?\d{2})?\b"
        ),
        _iso_ms,
    ),
    TextFormat(
        "apache",
        "[Sun Dec 04 04:47:44 2005]",
        re.compile(
            r"\[(?:\w{3}) "
            + _MON
            + r" (?P<d>\d{1,2}) "
            + _HMS
            + r"(?:\.(?P<f>\d{1,9}))? (?P<y>\d{4})\]"
        ),
        _apache_ms,
    ),
    TextFormat(
        "hdfs",
        "081109 203615",
        re.compile(
            r"(?P<y>\d{2})(?P<mo>0[1-9]|1[0-2])(?P<d>[0-3]\d) "
            r"(?P<h>[01]\d|2[0-3])(?P<mi>[0-5]\d)(?P<s>[0-5]\d)\b"
        ),
        _hdfs_ms,
    ),
    TextFormat(
        "syslog",
        "Jun 14 15:16:01",
        re.compile(_MON + r" {1,2}(?P<d>\d{1,2}) " + _HMS + r"(?:\.(?P<f>\d{1,9}))?\b"),
        _syslog_ms,
    ),
    TextFormat(
        "common-log",
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0"',
        re.compile(
            r"\S+ \S+ \S+ \[(?P<d>\d{2})/"
            + _MON
            + r"/(?P<y>\d{4}):"
            + _HMS
            + r" (?P<z>[+-]\d{4})\]"
        ),
        _clf_ms,
    ),
    TextFormat(
        "yy/mm/dd",
        "17/06/09 20:10:40",
        re.compile(r"(?P<y>\d{2})/(?P<mo>\d{2})/(?P<d>\d{2}) " + _HMS + r"\b"),
        _slash_ms,
    ),
)
"""The layouts recognised, most specific first (ties in sniffing go to the earlier one)."""


class TimestampParser:
    """
    Reads the leading timestamp of lines in one format, with a per-second cache.

    :param fmt: The layout to expect.
    :param default_year: Year for layouts without one (``None``: guess, see module doc).
    """

    def __init__(self, fmt: TextFormat, *, default_year: int | None = None) -> None:
        self.format = fmt
        self._match = fmt.pattern.match
        self._years = _YearGuess(default_year)

    def parse(self, line: str) -> int | None:
        """
        :param line: One line of text.
        :return: Epoch milliseconds, or ``None`` when the line does not start with a timestamp
            of this format (or names an impossible date).
        """
        m = self._match(line)
        if m is None:
            return None
        try:
            return self.format.to_ms(m, self._years)
        except (ValueError, KeyError):
            return None


def detect_format(lines: Iterable[str]) -> TextFormat | None:
    """
    Picks the layout that parses the most of the given sample lines.

    :param lines: The first lines of a file (a couple of hundred is plenty).
    :return: The best format, or ``None`` when no line starts with a known timestamp.
    """
    sample = [line for line in lines if line.strip()]
    best: TextFormat | None = None
    best_hits = 0
    for fmt in TEXT_FORMATS:
        parser = TimestampParser(fmt, default_year=2000)
        hits = sum(1 for line in sample if parser.parse(line) is not None)
        if hits > best_hits:
            best, best_hits = fmt, hits
    return best


def parse_timestamp(line: str, *, default_year: int | None = None) -> int | None:
    """
    Reads the timestamp at the start of one line, trying every known layout.

    :param line: One line of text.
    :param default_year: Year for layouts without one (``None``: the current year).
    :return: Epoch milliseconds, or ``None`` if no layout matches.
    """
    for fmt in TEXT_FORMATS:
        ms = TimestampParser(fmt, default_year=default_year).parse(line)
        if ms is not None:
            return ms
    return None


def iter_text_events(
    lines: Iterable[str],
    *,
    fmt: TextFormat | None = None,
    default_year: int | None = None,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> Iterator[tuple[int | None, str, int]]:
    """
    Groups lines into events: a line with a timestamp starts one, the lines after it without
    one (stack traces, continuations) join it.

    :param lines: Lines of text, with or without their line terminators.
    :param fmt: The layout; ``None`` sniffs it from the first lines.
    :param default_year: Year for layouts without one.
    :param max_event_bytes: An event this long takes no more continuation lines; the next
        starts a new event with the same timestamp.
    :return: An iterator of ``(epoch_ms or None, message, first_line_number)``, the line
        number 1-based. Each line before the first timestamp (every line, when no layout is
        found) is an event of its own without a timestamp; blank lines there are skipped.
    """
    iterator = iter(lines)
    head: list[str] = []
    if fmt is None:
        for line in iterator:
            head.append(line)
            if len(head) >= _SNIFF_LINES:
                break
        fmt = detect_format(head)

    def all_lines() -> Iterator[str]:
        yield from head
        yield from iterator

    if fmt is None:
        for number, raw in enumerate(all_lines(), start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield None, line, number
        return

    parse = TimestampParser(fmt, default_year=default_year).parse
    parts: list[str] = []
    size = 0
    current_ts: int | None = None
    start_line = 0
    for number, raw in enumerate(all_lines(), start=1):
        line = raw.rstrip("\r\n")
        ts = parse(line)
        if ts is None and parts and current_ts is not None and size < max_event_bytes:
            parts.append(line)
            size += len(line) + 1
            continue
        if parts:
            yield current_ts, "\n".join(parts).rstrip("\n"), start_line
            parts = []
        if ts is None and current_ts is None and not line.strip():
            continue
        current_ts = ts if ts is not None else current_ts
        parts = [line]
        size = len(line)
        start_line = number
    if parts:
        yield current_ts, "\n".join(parts).rstrip("\n"), start_line
