"""What an ingest made of each input file, told plainly: the layout found, the events, those
without a timestamp, the time range and the year assumed for yearless timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["FileSummary", "format_ms"]


def format_ms(ms: int | None) -> str:
    """
    :param ms: Epoch milliseconds, or ``None``.
    :return: ISO 8601 in UTC (milliseconds only when there are any), or ``-``.
    """
    if ms is None:
        return "-"
    try:
        when = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    text = when.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class FileSummary:
    """
    One input file of an ingest.

    :param path: The file.
    :param layout: How it was read: ``"json, timestamp key 'ts'"``, ``"text, syslog"``,
        ``"text, iso8601 after field 1"``, ``"text, no timestamp found"``.
    :param events: Events made of it.
    :param undated: Events without a timestamp (invisible to time ranges, sorted last).
    :param first_ms: Earliest timestamp, epoch ms (``None``: none).
    :param last_ms: Latest timestamp, epoch ms.
    :param year: The year assumed for timestamps without one and why, e.g.
        ``"2025 (from the file's modification time, 2026-01-03)"``; ``None`` when no
        timestamp lacked a year.
    :param range_shared: The time range is that of all the files compressed with this one
        (the inputs of one ingest with the same timestamp key: ``clp-s`` records one range
        per archive, not per file).
    """

    path: str
    layout: str
    events: int
    undated: int
    first_ms: int | None
    last_ms: int | None
    year: str | None = None
    range_shared: bool = False

    @property
    def warning(self) -> str | None:
        """:return: A warning when some events have no timestamp, else ``None``."""
        if self.undated == 0:
            return None
        share = "all" if self.undated == self.events else f"{self.undated:,} of"
        option = "--timestamp-key" if self.layout.startswith("json") else "--timestamp-format"
        return (
            f"{self.path}: {share} {self.events:,} event(s) have no timestamp: time ranges "
            f"miss them and they sort last (see {option})"
        )

    def describe(self) -> str:
        """:return: One line for a person: the file, its layout, events, range and year."""
        parts = [f"{self.path}: {self.layout}", f"{self.events:,} event(s)"]
        if self.undated:
            parts.append(f"{self.undated:,} without a timestamp")
        if self.first_ms is not None:
            shared = " (of all the files with this timestamp key)" if self.range_shared else ""
            parts.append(f"{format_ms(self.first_ms)} .. {format_ms(self.last_ms)}{shared}")
        if self.year is not None:
            parts.append(f"year {self.year}")
        return "; ".join(parts)
