"""What went wrong when ``clp-s c`` refused a group of inputs, told by file and line.

``clp-s`` names the file it read (a staged copy, for converted or inflated inputs) and a byte
offset or the offending timestamp; the message given instead names the input file and, when it
can be found, the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from logpager.ingest.inputs import READ_CHUNK_BYTES, InputFile, iter_lines, open_binary

__all__ = ["explain_failure", "explain_truncation"]

_TRUNCATED = re.compile(r"Truncated JSON\s+\((\d+) bytes\) at end of file (.+?)\s*$", re.M)


def _line_of_offset(path: Path, compression: str, offset: int) -> int:
    # clp-s reports where the last good document ended; the culprit is the next non-blank.
    newlines = 0
    position = 0
    with open_binary(path, compression) as stream:
        while True:
            chunk = stream.read(READ_CHUNK_BYTES)
            if not chunk:
                break
            if position + len(chunk) <= offset:
                newlines += chunk.count(b"\n")
                position += len(chunk)
                continue
            start = max(offset - position, 0)
            newlines += chunk.count(b"\n", 0, start)
            rest = chunk[start:]
            stripped = rest.lstrip()
            newlines += rest[: len(rest) - len(stripped)].count(b"\n")
            if stripped:
                break
            position += len(chunk)
            offset = position
    return newlines + 1


def _line_containing(path: Path, compression: str, needle: bytes) -> int | None:
    with open_binary(path, compression) as stream:
        for number, raw in enumerate(iter_lines(stream), start=1):
            if needle in raw:
                return number
    return None


def explain_failure(
    stderr: str, group: list[InputFile], staged: dict[Path, InputFile], returncode: int
) -> str:
    """
    :param stderr: What the failed ``clp-s c`` run wrote.
    :param group: The inputs it was compressing.
    :param staged: The files it read, each with the input it was made from.
    :param returncode: Its exit status.
    :return: A message naming the input (and the line when it can be found) and the cause.
    :raise OSError: If a file cannot be re-read to find the line.
    """
    errors = [
        re.sub(r"^\S+ \[\w+\] ", "", line).strip()
        for line in stderr.splitlines()
        if "[error]" in line
    ]
    detail = "; ".join(errors) or stderr.strip() or f"exit status {returncode}"
    by_name = {str(p): i for p, i in staged.items()}
    match = re.search(r"while trying to parse (.+?) after parsing (\d+) bytes", stderr)
    if match and match[1] in by_name:
        source = by_name[match[1]]
        read_path = Path(match[1])
        compression = "" if read_path != source.path else source.compression
        line = _line_of_offset(read_path, compression, int(match[2]))
        return f"{source.path}:{line}: not a valid JSON object ({detail})"
    match = re.search(r"Failed to parse timestamp `(.*?)`", stderr)
    if match:
        needle = match[1].encode("utf-8")
        for read_path, source in staged.items():
            compression = "" if read_path != source.path else source.compression
            found = _line_containing(read_path, compression, needle)
            if found is not None:
                return (
                    f"{source.path}:{found}: timestamp {match[1]} is in no format clp-s knows "
                    f"(timestamp key {source.timestamp_key!r}); pass --timestamp-key to pick "
                    "another field"
                )
    names = ", ".join(str(i.path) for i in group)
    return f"{names}: clp-s could not compress it: {detail}"


def explain_truncation(stderr: str, staged: dict[Path, InputFile]) -> str | None:
    """
    :param stderr: What a successful ``clp-s c`` run wrote.
    :param staged: The files it read, each with the input it was made from.
    :return: When it warned that the last JSON object of a file was cut off (and dropped it),
        a message naming the input and the line where that object starts; else ``None``.
    :raise OSError: If the file cannot be re-read to find the line.
    """
    match = _TRUNCATED.search(stderr)
    if match is None:
        return None
    by_name = {str(p): (p, i) for p, i in staged.items()}
    read_path, source = by_name.get(match[2], (Path(match[2]), None))
    if source is None:
        return f"{match[2]}: the last JSON object is cut off ({match[1]} bytes)"
    compression = "" if read_path != source.path else source.compression
    total = 0
    with open_binary(read_path, compression) as stream:
        while chunk := stream.read(READ_CHUNK_BYTES):
            total += len(chunk)
    line = _line_of_offset(read_path, compression, max(total - int(match[1]), 0))
    return f"{source.path}:{line}: the JSON object is cut off at the end of the file"
