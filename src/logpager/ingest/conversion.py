"""Plain-text logs written as the JSON lines ``clp-s`` compresses.

Each event (see :mod:`logpager.ingest.textevents`) becomes
``{"timestamp": <epoch ms>, "message": "<line(s)>"}``, or ``{"message": ...}`` when it has no
timestamp (lines before the first timestamp, or a file in no known layout).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from logpager.errors import IngestError
from logpager.ingest.inputs import InputFile, iter_text_lines, open_binary, stream_pos
from logpager.ingest.progress import Progress
from logpager.ingest.textdetect import SNIFF_LINES, LocatedFormat
from logpager.ingest.textevents import TextStats, iter_text_events
from logpager.ingest.textformats import TextFormat
from logpager.ingest.years import YearPolicy

__all__ = ["TextConversion", "convert_text"]

# Events joined into one write. Not a setting: 256, 4,096 and 65,536 all converted 400,000
# HDFS lines (57.6 MB) in 1.0-1.6 s on the shared 2-core host, within run-to-run noise; it
# only bounds the text held between writes and how often progress is checked.
_WRITE_BATCH = 4096
_encode_string: Callable[[str], str] = json.encoder.encode_basestring


@dataclass(frozen=True)
class TextConversion:
    """
    What converting one text file made.

    :param stats: Events made (each one JSON line written), their timestamps, the layout
        found and the years assumed.
    :param lines: Lines of text read.
    """

    stats: TextStats
    lines: int


def _require_layout(
    source: InputFile, layout: LocatedFormat | TextFormat, stats: TextStats
) -> None:
    if stats.layout is None:
        given = layout.format if isinstance(layout, LocatedFormat) else layout
        msg = (
            f"{source.path}: none of its first {SNIFF_LINES} lines has a timestamp in the "
            f"given format {given.example!r}"
        )
        raise IngestError(msg)


def convert_text(
    source: InputFile,
    out: IO[str],
    progress: Progress,
    *,
    default_year: int | None,
    layout: LocatedFormat | TextFormat | None,
    max_event_bytes: int,
) -> TextConversion:
    """
    Writes a plain-text file's events as JSON lines.

    :param source: A text input.
    :param out: Where the JSON lines go.
    :param progress: Gets a line of progress (lines read, share of the file) now and then.
    :param default_year: Year for text timestamps without one (``None``: from the file's
        modification time); see :mod:`logpager.ingest.years`.
    :param layout: The user's timestamp layout, or ``None`` to detect a built-in one.
    :param max_event_bytes: An event this long takes no more continuation lines.
    :return: What was made, and lines read.
    :raise IngestError: If ``layout`` was given and no line of the file's first ones has it.
    :raise OSError: If the file cannot be read or ``out`` written.
    """
    info = source.path.stat()
    size = info.st_size
    encode = _encode_string
    stats = TextStats(YearPolicy(default_year, int(info.st_mtime * 1000)))
    last_line = [0]

    def status(stream: IO[bytes]) -> str:
        percent = f" ({100 * stream_pos(stream) / size:.0f}%)" if size else ""
        return f"  {source.path.name}: {last_line[0]:,} lines{percent}"

    events = undated = 0
    first = last = None
    with open_binary(source.path, source.compression) as stream:
        batch: list[str] = []
        for ts, message, line in iter_text_events(
            iter_text_lines(stream), layout=layout, stats=stats, max_event_bytes=max_event_bytes
        ):
            events += 1
            if ts is None:
                undated += 1
                batch.append(f'{{"message":{encode(message)}}}\n')
            else:
                if first is None or ts < first:
                    first = ts
                if last is None or ts > last:
                    last = ts
                batch.append(f'{{"timestamp":{ts},"message":{encode(message)}}}\n')
            if len(batch) >= _WRITE_BATCH:
                out.write("".join(batch))
                batch = []
                last_line[0] = line
                progress.tick(functools.partial(status, stream))
            if layout is not None and events == 1:
                _require_layout(source, layout, stats)
        out.write("".join(batch))
    stats.events, stats.undated, stats.first_ms, stats.last_ms = events, undated, first, last
    return TextConversion(stats, stats.lines)
