"""Plain-text logs written as the JSON lines ``clp-s`` compresses.

Each event (see :mod:`logpager.ingest.textformats`) becomes
``{"timestamp": <epoch ms>, "message": "<line(s)>"}``, or ``{"message": ...}`` when it has no
timestamp (lines before the first timestamp, or a file in no known layout).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from logpager.ingest.inputs import InputFile, iter_lines, open_binary, stream_pos
from logpager.ingest.progress import Progress
from logpager.ingest.textformats import iter_text_events

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

    :param events: JSON lines written.
    :param lines: Lines of text read.
    """

    events: int
    lines: int


def convert_text(
    source: InputFile,
    out: IO[str],
    progress: Progress,
    *,
    default_year: int | None,
    max_event_bytes: int,
) -> TextConversion:
    """
    Writes a plain-text file's events as JSON lines.

    :param source: A text input.
    :param out: Where the JSON lines go.
    :param progress: Gets a line of progress (lines read, share of the file) now and then.
    :param default_year: Year for text timestamps without one; see
        :mod:`logpager.ingest.textformats`.
    :param max_event_bytes: An event this long takes no more continuation lines.
    :return: Events written and lines read.
    :raise OSError: If the file cannot be read or ``out`` written.
    """
    size = source.path.stat().st_size
    encode = _encode_string
    events = 0
    lines_read = [0]

    def decoded(stream: IO[bytes]) -> Iterator[str]:
        for raw in iter_lines(stream):
            lines_read[0] += 1
            yield raw.decode("utf-8", errors="replace")

    def status(stream: IO[bytes]) -> str:
        percent = f" ({100 * stream_pos(stream) / size:.0f}%)" if size else ""
        return f"  {source.path.name}: {lines_read[0]:,} lines{percent}"

    with open_binary(source.path, source.compression) as stream:
        batch: list[str] = []
        for ts, message, _line in iter_text_events(
            decoded(stream), default_year=default_year, max_event_bytes=max_event_bytes
        ):
            if ts is None:
                batch.append(f'{{"message":{encode(message)}}}\n')
            else:
                batch.append(f'{{"timestamp":{ts},"message":{encode(message)}}}\n')
            events += 1
            if len(batch) >= _WRITE_BATCH:
                out.write("".join(batch))
                batch = []
                progress.tick(functools.partial(status, stream))
        out.write("".join(batch))
    return TextConversion(events, lines_read[0])
