"""The year of timestamps that state none (syslog, logcat, ``[MM.DD HH:MM:SS]``).

Two rules, one per file:

- **Given** (``--year``): the first such timestamp is in that year; the year advances by one
  each time the month steps back by six or more (December to January).
- **From the file's modification time** (the default): a log is written before its file was
  last modified, so each timestamp takes the latest year that does not put it after the
  modification time (with a day of slack for local times east of UTC): a line of December in a
  file modified in January is from the previous year. Taking the current year instead dated
  the bundled 2005 syslog sample in the future or in the wrong year.

Either way the years used are recorded, for the ingest summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["YearPolicy", "days_since_epoch", "epoch_ms"]

_DAY_MS = 86_400_000
_DAYS_CACHE: dict[tuple[int, int, int], int] = {}


def days_since_epoch(year: int, month: int, day: int) -> int:
    """
    :param year: Year.
    :param month: Month, 1-12.
    :param day: Day of the month.
    :return: Days from 1970-01-01 to that date.
    :raise ValueError: If the date does not exist.
    """
    key = (year, month, day)
    days = _DAYS_CACHE.get(key)
    if days is None:
        days = datetime(year, month, day, tzinfo=UTC).toordinal() - 719_163
        if len(_DAYS_CACHE) < 100_000:
            _DAYS_CACHE[key] = days
    return days


def epoch_ms(
    year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int = 0
) -> int:
    """
    :return: Epoch milliseconds of a UTC date and time.
    :raise ValueError: If the date does not exist or a field is out of range.
    """
    if not (hour < 24 and minute < 60 and second <= 60):
        msg = f"no such time {hour}:{minute}:{second}"
        raise ValueError(msg)
    days = days_since_epoch(year, month, day)
    return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis


@dataclass
class YearPolicy:
    """
    Chooses the year of yearless timestamps in one file (see the module doc).

    :param given: The year given (``--year``), or ``None`` to use ``modified_ms``.
    :param modified_ms: The file's modification time, epoch milliseconds.
    """

    given: int | None
    modified_ms: int
    used: set[int] = field(default_factory=set)
    _year: int | None = None
    _last_month: int = 0
    _modified_year: int = 0

    def __post_init__(self) -> None:
        self._modified_year = datetime.fromtimestamp(self.modified_ms / 1000, UTC).year

    def stamp(
        self, month: int, day: int, hour: int, minute: int, second: int, millis: int = 0
    ) -> int:
        """
        :return: Epoch milliseconds of a yearless timestamp, its year chosen by the policy.
        :raise ValueError: If the date does not exist in the year chosen.
        """
        if self.given is not None:
            if self._year is None:
                self._year = self.given
            elif self._last_month - month >= 6:
                self._year += 1
            self._last_month = month
            year = self._year
            ms = epoch_ms(year, month, day, hour, minute, second, millis)
        else:
            year, ms = self._latest_not_after(month, day, (hour, minute, second, millis))
        self.used.add(year)
        return ms

    def _latest_not_after(
        self, month: int, day: int, clock: tuple[int, int, int, int]
    ) -> tuple[int, int]:
        year = self._modified_year
        # Back at most a year, except for February 29, which waits for a leap year.
        for _ in range(8):
            try:
                ms = epoch_ms(year, month, day, *clock)
            except ValueError:
                if not (month == 2 and day == 29):
                    raise
                year -= 1
                continue
            if ms <= self.modified_ms + _DAY_MS:
                return year, ms
            year -= 1
        msg = f"no such date {month:02d}-{day:02d}"
        raise ValueError(msg)

    def describe(self) -> str | None:
        """:return: The years used and why (for the summary), or ``None`` if none was."""
        if not self.used:
            return None
        low, high = min(self.used), max(self.used)
        years = str(low) if low == high else f"{low}-{high}"
        if self.given is not None:
            return f"{years} (given)"
        modified = datetime.fromtimestamp(self.modified_ms / 1000, UTC).date().isoformat()
        return f"{years} (from the file's modification time, {modified})"
