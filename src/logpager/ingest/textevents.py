"""The events of a plain-text log: lines grouped under the timestamp that starts them.

A line with a timestamp (in the layout found for the file, see
:mod:`logpager.ingest.textdetect`) starts an event; the lines after it without one (stack
traces, continuations) join it. What was made is counted in a :class:`TextStats`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from logpager.ingest.textdetect import SNIFF_LINES, LocatedFormat, TimestampParser, detect_format
from logpager.ingest.textformats import TextFormat
from logpager.ingest.years import YearPolicy

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "TextStats", "iter_text_events"]

DEFAULT_MAX_EVENT_BYTES = 1 << 20
"""Above this size an event stops absorbing continuation lines (they start a new event).

The default of :func:`iter_text_events`; an ingest passes ``Settings.ingest_max_event_bytes``.
"""


@dataclass
class TextStats:
    """
    What :func:`iter_text_events` made of one file.

    :param years: The year policy used (its ``used`` years, for the summary).
    :param layout: The layout found and where (``None``: no timestamps found); set by
        :func:`iter_text_events` once it has sniffed the file.
    :param lines: Lines read; set by :func:`iter_text_events` when it is done.
    :param events: Events made (counted by the caller, which sees each event anyway).
    :param undated: Events without a timestamp.
    :param first_ms: Earliest timestamp (epoch ms), or ``None``.
    :param last_ms: Latest timestamp (epoch ms), or ``None``.
    """

    years: YearPolicy
    layout: LocatedFormat | None = None
    lines: int = 0
    events: int = 0
    undated: int = 0
    first_ms: int | None = None
    last_ms: int | None = None


def _layout(head: list[str], layout: LocatedFormat | TextFormat | None) -> LocatedFormat | None:
    if isinstance(layout, LocatedFormat):
        return layout
    if isinstance(layout, TextFormat):
        return detect_format(head, (layout,))
    return detect_format(head)


def iter_text_events(
    lines: Iterable[str],
    *,
    layout: LocatedFormat | TextFormat | None = None,
    default_year: int | None = None,
    stats: TextStats | None = None,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> Iterator[tuple[int | None, str, int]]:
    """
    Groups lines into events: a line with a timestamp starts one, the lines after it without
    one join it.

    :param lines: Lines of text, with or without their line terminators.
    :param layout: The timestamp layout, placed or to be placed; ``None`` sniffs it among the
        built-in ones from the first lines.
    :param default_year: Year for layouts without one, when ``stats`` brings no policy
        (``None``: as if the file were modified now).
    :param stats: Gets the layout found and the lines read, and carries the year policy;
        ``None`` for none.
    :param max_event_bytes: An event this long takes no more continuation lines; the next
        starts a new event with the same timestamp.
    :return: An iterator of ``(epoch_ms or None, message, first_line_number)``, the line
        number 1-based. Each line before the first timestamp (every line, when no layout is
        found) is an event of its own without a timestamp; blank lines there are skipped.
    """
    if stats is None:
        stats = TextStats(YearPolicy(default_year, int(time.time() * 1000)))
    iterator = iter(lines)
    head: list[str] = []
    for line in iterator:
        head.append(line)
        if len(head) >= SNIFF_LINES:
            break
    located = _layout(head, layout)
    stats.layout = located

    all_lines = itertools.chain(head, iterator)
    number = 0
    if located is None:
        for number, raw in enumerate(all_lines, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield None, line, number
        stats.lines = number
        return

    parse = TimestampParser(located, stats.years).parse
    parts: list[str] = []
    size = 0
    current_ts: int | None = None
    start_line = 0
    for number, raw in enumerate(all_lines, start=1):
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
    stats.lines = number
    if parts:
        yield current_ts, "\n".join(parts).rstrip("\n"), start_line
