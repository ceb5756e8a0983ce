"""The input files of an ingest: found, opened, sniffed and classified.

Inputs are JSON lines or plain text, either optionally gzip- or zstd-compressed (told apart
by their magic bytes, not their names). A file is classified from its first lines: JSON when
the first non-blank line starts with ``{`` (its timestamp key then detected among
:data:`TIMESTAMP_KEY_CANDIDATES` unless given), plain text otherwise.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import zstandard

from logpager.errors import IngestError

__all__ = [
    "READ_CHUNK_BYTES",
    "TEXT_TIMESTAMP_KEY",
    "TIMESTAMP_KEY_CANDIDATES",
    "InputFile",
    "classify",
    "detect_timestamp_key",
    "expand_paths",
    "iter_lines",
    "iter_text_lines",
    "open_binary",
    "stream_pos",
]

TIMESTAMP_KEY_CANDIDATES: tuple[str, ...] = (
    "timestamp",
    "@timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "eventTime",
    "event_time",
    "t",
)
"""Top-level keys tried, in order, when no timestamp key is given for JSON logs."""

TEXT_TIMESTAMP_KEY = "timestamp"
"""The timestamp key of the JSON lines that plain text is converted into."""

READ_CHUNK_BYTES = 1 << 20
"""How much of an input is read at once when it is scanned."""

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Only the first line decides JSON or text; the others only let a timestamp key be found
# past lines that do not parse.
_SNIFF_LINES = 100


@dataclass
class InputFile:
    """
    One input file and how to read it.

    :param path: The file.
    :param compression: ``""``, ``"gzip"`` or ``"zstd"``.
    :param kind: ``"json"`` or ``"text"``.
    :param timestamp_key: The timestamp key ``clp-s`` is given (a clp-s path), or ``None``.
    """

    path: Path
    compression: str  # "", "gzip" or "zstd"
    kind: str  # "json" or "text"
    timestamp_key: str | None = None


def open_binary(path: Path, compression: str) -> IO[bytes]:
    """
    :param path: A file.
    :param compression: ``""``, ``"gzip"`` or ``"zstd"``.
    :return: The file's decompressed bytes, as a stream to close.
    :raise OSError: If the file cannot be opened.
    """
    if compression == "gzip":
        return cast("IO[bytes]", gzip.open(path, "rb"))
    if compression == "zstd":
        raw = path.open("rb")
        return cast("IO[bytes]", zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return path.open("rb")


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """
    :param stream: A stream from :func:`open_binary`.
    :return: Its lines, each with its ``\\n`` (the last one without, if the file lacks it).
    """
    # zstandard's reader has no readline; a buffered splitter serves both kinds.
    pending = b""
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        if not chunk:
            break
        pieces = (pending + chunk).split(b"\n")
        pending = pieces.pop()
        for piece in pieces:
            yield piece + b"\n"
    if pending:
        yield pending


def iter_text_lines(stream: IO[bytes]) -> Iterator[str]:
    """
    :param stream: A stream from :func:`open_binary`.
    :return: Its lines decoded as UTF-8 (invalid bytes replaced), without their ``\n``; a
        last line without one is kept, an empty end is not.
    """
    # Decoding a chunk at a time and splitting the text: decoding each line of bytes through
    # iter_lines took a fifth of the conversion of a text log.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        text = decoder.decode(chunk, final=not chunk)
        pieces = (pending + text).split("\n")
        pending = pieces.pop()
        yield from pieces
        if not chunk:
            break
    if pending:
        yield pending


def stream_pos(stream: IO[bytes]) -> int:
    """
    :param stream: A file being read (possibly through a decompressor).
    :return: Bytes of the underlying file consumed so far, 0 when unknown.
    """
    for attr in ("fileobj", "_fp", "raw"):
        inner = getattr(stream, attr, None)
        if inner is not None and hasattr(inner, "tell"):
            with contextlib.suppress(OSError, ValueError):
                return int(inner.tell())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(stream.tell())
    return 0


def _first_lines(path: Path, compression: str, count: int) -> list[str]:
    lines: list[str] = []
    with open_binary(path, compression) as stream:
        for raw in iter_lines(stream):
            if raw.strip():
                lines.append(raw.decode("utf-8", errors="replace"))
                if len(lines) >= count:
                    break
    return lines


def _escape_key(key: str) -> str:
    # clp-s reads the key as a path: "." separates levels and "@" is special; both escape.
    return re.sub(r"([\\.@])", r"\\\1", key)


def detect_timestamp_key(lines: Iterable[str]) -> str | None:
    """
    Finds the timestamp field of JSON events.

    :param lines: The first lines of a JSON-lines file.
    :return: The first of :data:`TIMESTAMP_KEY_CANDIDATES` present (with a string or number
        value) in the first parsable object, or ``None``.
    """
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        for key in TIMESTAMP_KEY_CANDIDATES:
            value = event.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return key
        return None
    return None


def classify(path: Path, timestamp_key: str | None) -> InputFile | None:
    """
    Sniffs one input file.

    :param path: The file.
    :param timestamp_key: The timestamp key of JSON inputs as given (a clp-s path), or
        ``None`` to detect it (the detected key is escaped for clp-s).
    :return: How to read the file, or ``None`` when it has no non-blank line.
    :raise IngestError: If the file cannot be read or decompressed.
    :raise OSError: If the file cannot be opened.
    """
    with path.open("rb") as head:
        magic = head.read(4)
    compression = (
        "gzip" if magic.startswith(_GZIP_MAGIC) else "zstd" if magic == _ZSTD_MAGIC else ""
    )
    try:
        lines = _first_lines(path, compression, _SNIFF_LINES)
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        msg = f"{path}: cannot read it ({compression or 'plain'} input): {exc}"
        raise IngestError(msg) from exc
    if not lines:
        return None
    if lines[0].lstrip().startswith("{"):
        key = timestamp_key if timestamp_key else detect_timestamp_key(lines)
        if key is not None and not timestamp_key:
            key = _escape_key(key)
        return InputFile(path, compression, "json", key)
    return InputFile(path, compression, "text", TEXT_TIMESTAMP_KEY)


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """
    :param paths: Files or folders.
    :return: The files, folders searched recursively (sorted, hidden entries skipped).
    :raise IngestError: If a path does not exist.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            msg = f"{path}: no such file or directory"
            raise IngestError(msg)
    return files
