"""The files one ingest hands to ``clp-s c``, prepared in its work folder.

Plain JSON and zstd JSON go to ``clp-s c`` as they are; gzip JSON is inflated into the work
folder first (``clp-s`` cannot read gzip). Plain text becomes JSON lines in one file there
(see :mod:`logpager.ingest.conversion`). Inputs are grouped by timestamp key, since one
``clp-s c`` run takes one key.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from logpager.ingest.conversion import convert_text
from logpager.ingest.inputs import READ_CHUNK_BYTES, InputFile
from logpager.ingest.progress import Progress
from logpager.ingest.textdetect import LocatedFormat
from logpager.ingest.textevents import DEFAULT_MAX_EVENT_BYTES, TextStats
from logpager.ingest.textformats import TextFormat

__all__ = ["StagedGroup", "Staging", "TextOptions", "stage_inputs"]


@dataclass(frozen=True)
class TextOptions:
    """
    How plain-text inputs are read.

    :param default_year: Year for timestamps without one (``None``: from each file's
        modification time); see :mod:`logpager.ingest.years`.
    :param file_years: A year per file (its path as given), before ``default_year``.
    :param layout: The user's timestamp layout, or ``None`` to detect a built-in one.
    :param max_event_bytes: An event this long takes no more continuation lines.
    """

    default_year: int | None = None
    file_years: Mapping[Path, int] = field(default_factory=dict)
    layout: LocatedFormat | TextFormat | None = None
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES

    def year_of(self, path: Path) -> int | None:
        """:return: The year given for ``path``, else ``default_year``."""
        return self.file_years.get(path, self.default_year)


@dataclass
class StagedGroup:
    """
    Inputs that share a timestamp key, compressed by one ``clp-s c`` run.

    :param timestamp_key: The key (a clp-s path), or ``None`` for none.
    :param sources: The input files, in the order given.
    :param files: The files ``clp-s`` reads, each with the input it was made from (the input
        itself when it is read as it is).
    """

    timestamp_key: str | None
    sources: list[InputFile] = field(default_factory=list)
    files: dict[Path, InputFile] = field(default_factory=dict)


@dataclass
class Staging:
    """
    What :func:`stage_inputs` prepared.

    :param groups: One per timestamp key, in the order the keys were first met.
    :param text: Each plain-text input with what was made of it.
    :param json: Each JSON input with the file ``clp-s`` reads for it.
    :param text_events: Events made from plain-text lines.
    :param text_lines: Plain-text lines read.
    """

    groups: list[StagedGroup] = field(default_factory=list)
    text: list[tuple[InputFile, TextStats]] = field(default_factory=list)
    json: list[tuple[InputFile, Path]] = field(default_factory=list)
    text_events: int = 0
    text_lines: int = 0


def stage_inputs(
    inputs: list[InputFile],
    work: Path,
    progress: Progress,
    options: TextOptions,
) -> Staging:
    """
    Prepares inputs for ``clp-s c``: converts plain text, inflates gzip JSON.

    :param inputs: Classified input files.
    :param work: An empty folder of this ingest's own; the prepared files are written here.
    :param progress: Gets a line per text file converted, and the conversion's progress.
    :param options: How plain text is read.
    :return: The groups, each naming the files ``clp-s`` is to read, all closed.
    :raise IngestError: If a given text layout is in none of a text file's first lines.
    :raise OSError: If an input cannot be read or a staged file written.
    :raise EOFError: If a gzip input is cut off.
    """
    staging = Staging()
    by_key: dict[str | None, StagedGroup] = {}
    text_path = work / "text-events.jsonl"
    with contextlib.ExitStack() as closing:
        text_file: IO[str] | None = None
        for item in inputs:
            group = by_key.get(item.timestamp_key)
            if group is None:
                group = by_key[item.timestamp_key] = StagedGroup(item.timestamp_key)
                staging.groups.append(group)
            group.sources.append(item)
            if item.kind == "text":
                if text_file is None:
                    text_file = closing.enter_context(
                        text_path.open("w", encoding="utf-8", newline="\n")
                    )
                    group.files[text_path] = item
                progress.say(f"converting {item.path} (plain text)")
                converted = convert_text(
                    item,
                    text_file,
                    progress,
                    default_year=options.year_of(item.path),
                    layout=options.layout,
                    max_event_bytes=options.max_event_bytes,
                )
                staging.text.append((item, converted.stats))
                staging.text_events += converted.stats.events
                staging.text_lines += converted.lines
                continue
            read_path = item.path
            if item.compression == "gzip":
                read_path = work / f"{len(group.files)}-{item.path.stem}"
                with gzip.open(item.path, "rb") as src, read_path.open("wb") as dst:
                    shutil.copyfileobj(src, dst, READ_CHUNK_BYTES)
            group.files[read_path] = item
            staging.json.append((item, read_path))
    return staging
