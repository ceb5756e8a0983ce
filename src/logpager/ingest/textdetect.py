"""Finding where a text log's lines keep their timestamp, and reading it from every line.

A file is sniffed once (its first lines): every layout of
:data:`~logpager.ingest.textformats.TEXT_FORMATS` is tried at the start of the line and after
each of the first few whitespace-separated fields (a level, a host, a file name), optionally
after a ``[`` or ``(`` or a ``key=``. The layout and position that date the most sample lines
win; later positions must date at least half of them (a date deep in a message is not the
line's timestamp). Every line is then matched against that one anchored expression only:
trying every layout on every line was 4x slower and let a stack-trace line that happens to
hold a date-like token start a new event.

When a line states a local time and epoch time equally often, the epoch wins if the two
agree within a day on every sample line (the local time is then that epoch in some zone);
otherwise the epoch-looking field is something else (an id, a size).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from logpager.ingest.textformats import TEXT_FORMATS, TextFormat
from logpager.ingest.years import YearPolicy

__all__ = [
    "MAX_FIELD",
    "SNIFF_LINES",
    "LocatedFormat",
    "TimestampParser",
    "detect_format",
    "parse_timestamp",
]

SNIFF_LINES = 200
"""Lines a file is sniffed on."""

MAX_FIELD = 6
"""The timestamp is looked for at the start and after up to this many fields."""

_DAY_MS = 86_400_000
# Fixed year and time for sniffing, so that detection never depends on the clock.
_SNIFF_YEARS_MS = 946_684_800_000  # 2000-01-01


@dataclass(frozen=True)
class LocatedFormat:
    """
    A layout and where it sits in a line.

    :param format: The layout.
    :param field: Whitespace-separated fields before it (0: at the start of the line).
    :param pattern: The anchored expression, for ``re.match``; built from the other two when
        omitted.
    """

    format: TextFormat
    field: int = 0
    pattern: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        """:return: The anchored expression matching a line with this layout here."""
        if self.pattern is not None:
            return self.pattern
        skip = rf"(?:\S+\s+){{{self.field}}}" if self.field else r"\s*"
        return re.compile(skip + r"[\[(]?(?:[\w.-]+=)?" + self.format.body)

    def describe(self) -> str:
        """:return: The layout's name and, when not at the start, its field (for summaries)."""
        if self.field == 0:
            return self.format.name
        return f"{self.format.name} after field {self.field}"


class TimestampParser:
    """
    Reads the timestamp of lines in one located layout.

    :param located: The layout and its place.
    :param years: Chooses the year of yearless timestamps.
    """

    def __init__(self, located: LocatedFormat, years: YearPolicy) -> None:
        self.located = located
        self.years = years
        self._match = located.compiled().match
        self._to_ms = located.format.to_ms
        self._millis = located.format.millis
        self._key_of = located.format.second_key
        # The previous line's timestamp text without its fraction, and its time at the second:
        # consecutive lines of the same second (a third to all of the loghub samples' lines)
        # skip the conversion.
        self._second_key = ""
        self._second_ms = 0

    def parse(self, line: str) -> int | None:
        """
        :param line: One line of text.
        :return: Epoch milliseconds, or ``None`` when the line holds no timestamp of this
            layout at this place (or names an impossible date).
        """
        m = self._match(line)
        if m is None:
            return None
        millis, key_of = self._millis, self._key_of
        key = ""
        if millis is not None and key_of is not None:
            key = key_of(m, line)
            if key == self._second_key:
                return self._second_ms + millis(m)
        try:
            ms = self._to_ms(m, self.years)
        except (ValueError, KeyError, OverflowError):
            return None
        if key and millis is not None:
            self._second_key, self._second_ms = key, ms - millis(m)
        return ms


def _sniff_years() -> YearPolicy:
    return YearPolicy(None, _SNIFF_YEARS_MS + 366 * _DAY_MS)


def _stamps(located: LocatedFormat, sample: list[str]) -> list[int | None]:
    parser = TimestampParser(located, _sniff_years())
    return [parser.parse(line) for line in sample]


def _epoch_agrees(epoch: list[int | None], local: list[int | None]) -> bool:
    pairs = [(e, t) for e, t in zip(epoch, local, strict=True) if e is not None and t is not None]
    return bool(pairs) and all(abs(e - t) <= _DAY_MS for e, t in pairs)


def detect_format(
    lines: Iterable[str], formats: tuple[TextFormat, ...] = TEXT_FORMATS
) -> LocatedFormat | None:
    """
    Picks the layout and position that date the most of the sample lines (see module doc).

    :param lines: The first lines of a file (a couple of hundred is plenty).
    :param formats: The layouts to try, earlier ones winning ties.
    :return: The best layout and its place, or ``None`` when no line holds a timestamp.
    """
    sample = [line for line in lines if line.strip()]
    best: tuple[LocatedFormat, list[int | None], int] | None = None
    for field in range(MAX_FIELD + 1):
        for fmt in formats:
            if best is not None and best[2] == len(sample) and not fmt.absolute:
                continue  # it dates every line: only an agreeing epoch can still win
            located = LocatedFormat(fmt, field)
            stamps = _stamps(located, sample)
            hits = sum(1 for s in stamps if s is not None)
            if hits == 0 or (field > 0 and 2 * hits < len(sample)):
                continue
            if (
                best is None
                or hits > best[2]
                or (
                    hits == best[2]
                    and fmt.absolute
                    and not best[0].format.absolute
                    and _epoch_agrees(stamps, best[1])
                )
            ):
                best = (located, stamps, hits)
    return best[0] if best is not None else None


def parse_timestamp(line: str, *, default_year: int | None = None) -> int | None:
    """
    Reads the timestamp of one line on its own, as detection would place it.

    :param line: One line of text.
    :param default_year: Year for layouts without one (``None``: the year 2000).
    :return: Epoch milliseconds, or ``None`` if no layout matches.
    """
    located = detect_format([line])
    if located is None:
        return None
    years = YearPolicy(default_year, 0) if default_year is not None else _sniff_years()
    return TimestampParser(located, years).parse(line)
