"""Turning log files into ``clp-s`` archives in a data directory.

Inputs are JSON lines or plain text, either optionally gzip- or zstd-compressed (told apart
by their magic bytes, not their names). Plain JSON and zstd JSON go to ``clp-s c`` as they
are; gzip JSON is inflated into the staging area first (``clp-s`` cannot read gzip). Plain
text becomes JSON lines ``{"timestamp": <epoch ms>, "message": "<line(s)>"}`` in the staging
area (see :mod:`logpager.ingest.textformats`).

All-or-nothing: every archive of one :func:`ingest` call is built under
``DATA_DIR/staging/`` and renamed into ``DATA_DIR/archives/`` only when all of them are
complete, so a failure (bad JSON, a timestamp ``clp-s`` cannot parse, Ctrl-C) leaves no
archive, whole or partial, behind. Each call adds archives; a search covers them all.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import zstandard

from logpager.errors import IngestError
from logpager.ingest.textformats import iter_text_events
from logpager.search.datadir import archives_dir, find_clp_s, list_archive_ids, staging_dir
from logpager.settings import Settings

__all__ = [
    "TIMESTAMP_KEY_CANDIDATES",
    "IngestReport",
    "detect_timestamp_key",
    "ingest",
    "ingest_samples",
    "sample_files",
    "samples_dir",
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

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SNIFF_LINES = 100
_PROGRESS_SECONDS = 2.0
_WRITE_BATCH = 4096
_encode_string: Callable[[str], str] = json.encoder.encode_basestring

ProgressFn = Callable[[str], None]


@dataclass
class IngestReport:
    """
    What one :func:`ingest` call did.

    :param archive_ids: Archives added to the data directory.
    :param files: Input files read.
    :param text_events: Events made from plain-text lines.
    :param text_lines: Plain-text lines read.
    :param input_bytes: Bytes of input read (compressed size for compressed files).
    :param skipped: Files without any event (nothing to archive).
    :param seconds: Wall-clock time.
    """

    archive_ids: list[str] = field(default_factory=list)
    files: int = 0
    text_events: int = 0
    text_lines: int = 0
    input_bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Input:
    path: Path
    compression: str  # "", "gzip" or "zstd"
    kind: str  # "json" or "text"
    timestamp_key: str | None = None


def samples_dir() -> Path:
    """:return: The folder of bundled real sample logs (Loghub)."""
    return Path(__file__).resolve().parents[1] / "samples" / "loghub"


def sample_files() -> list[Path]:
    """:return: The bundled sample log files, sorted."""
    return sorted(samples_dir().glob("*.log"))


def _open_binary(path: Path, compression: str) -> IO[bytes]:
    if compression == "gzip":
        return cast("IO[bytes]", gzip.open(path, "rb"))
    if compression == "zstd":
        raw = path.open("rb")
        return cast("IO[bytes]", zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return path.open("rb")


def _iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    # zstandard's reader has no readline; a buffered splitter serves both kinds.
    pending = b""
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        pieces = (pending + chunk).split(b"\n")
        pending = pieces.pop()
        for piece in pieces:
            yield piece + b"\n"
    if pending:
        yield pending


def _first_lines(path: Path, compression: str, count: int) -> list[str]:
    lines: list[str] = []
    with _open_binary(path, compression) as stream:
        for raw in _iter_lines(stream):
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


def _classify(path: Path, timestamp_key: str | None) -> _Input | None:
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
        return _Input(path, compression, "json", key)
    return _Input(path, compression, "text", TEXT_TIMESTAMP_KEY)


def _expand(paths: Sequence[str | Path]) -> list[Path]:
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


class _Progress:
    def __init__(self, report: ProgressFn | None) -> None:
        self.report = report
        self.last = time.monotonic()

    def tick(self, text: Callable[[], str]) -> None:
        if self.report is None:
            return
        now = time.monotonic()
        if now - self.last >= _PROGRESS_SECONDS:
            self.last = now
            self.report(text())

    def say(self, text: str) -> None:
        if self.report is not None:
            self.report(text)


def _convert_text(
    source: _Input,
    out: IO[str],
    report: IngestReport,
    progress: _Progress,
    default_year: int | None,
) -> int:
    size = source.path.stat().st_size
    encode = _encode_string
    events = 0
    lines_read = [0]

    def decoded(stream: IO[bytes]) -> Iterator[str]:
        for raw in _iter_lines(stream):
            lines_read[0] += 1
            yield raw.decode("utf-8", errors="replace")

    def status(stream: IO[bytes]) -> str:
        percent = f" ({100 * stream_pos(stream) / size:.0f}%)" if size else ""
        return f"  {source.path.name}: {lines_read[0]:,} lines{percent}"

    with _open_binary(source.path, source.compression) as stream:
        batch: list[str] = []
        for ts, message, _line in iter_text_events(decoded(stream), default_year=default_year):
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
    report.text_events += events
    report.text_lines += lines_read[0]
    return events


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


def _line_of_offset(path: Path, compression: str, offset: int) -> int:
    # clp-s reports where the last good document ended; the culprit is the next non-blank.
    newlines = 0
    position = 0
    with _open_binary(path, compression) as stream:
        while True:
            chunk = stream.read(1 << 20)
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
    with _open_binary(path, compression) as stream:
        for number, raw in enumerate(_iter_lines(stream), start=1):
            if needle in raw:
                return number
    return None


def _explain_failure(
    stderr: str, group: list[_Input], staged: dict[Path, _Input], returncode: int
) -> str:
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


_TRUNCATED = re.compile(r"Truncated JSON\s+\((\d+) bytes\) at end of file (.+?)\s*$", re.M)


def _explain_truncation(match: re.Match[str], staged: dict[Path, _Input]) -> str:
    by_name = {str(p): (p, i) for p, i in staged.items()}
    read_path, source = by_name.get(match[2], (Path(match[2]), None))
    if source is None:
        return f"{match[2]}: the last JSON object is cut off ({match[1]} bytes)"
    compression = "" if read_path != source.path else source.compression
    total = 0
    with _open_binary(read_path, compression) as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    line = _line_of_offset(read_path, compression, max(total - int(match[1]), 0))
    return f"{source.path}:{line}: the JSON object is cut off at the end of the file"


def _run_compress(
    clp_s: Path,
    out_dir: Path,
    files: list[Path],
    timestamp_key: str | None,
    progress: _Progress,
    label: str,
) -> tuple[int, str]:
    argv = [str(clp_s), "c"]
    if timestamp_key:
        argv += ["--timestamp-key", timestamp_key]
    argv += [str(out_dir), *(str(f) for f in files)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        started = time.monotonic()
        returncode: int | None = None
        try:
            while returncode is None:
                try:
                    returncode = proc.wait(timeout=_PROGRESS_SECONDS)
                except subprocess.TimeoutExpired:
                    progress.say(f"  compressing {label}: {time.monotonic() - started:.0f} s")
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()
        err.seek(0)
        return returncode, err.read().decode("utf-8", errors="replace")


def ingest(
    paths: Sequence[str | Path],
    *,
    data_dir: str | Path | None = None,
    settings: Settings | None = None,
    timestamp_key: str | None = None,
    default_year: int | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """
    Builds archives from log files and adds them to a data directory.

    :param paths: Files or folders (searched recursively, hidden entries skipped).
    :param data_dir: Target data directory; ``settings.data_dir`` when omitted.
    :param settings: Settings (``data_dir``, ``clp_s_path``).
    :param timestamp_key: The timestamp field of JSON inputs, as a clp-s path (``a.b``);
        found among :data:`TIMESTAMP_KEY_CANDIDATES` when omitted.
    :param default_year: Year for text timestamps without one (syslog); see
        :mod:`logpager.ingest.textformats`.
    :param progress: Called with a line of progress now and then (e.g. ``print``); ``None``
        is quiet.
    :return: What was added.
    :raise IngestError: If a path is missing or a file cannot be read, parsed or compressed;
        the message names the file (and the line when known). No archive is added then.
    """
    settings = settings if settings is not None else Settings()
    target = Path(data_dir) if data_dir is not None else Path(settings.data_dir)
    configured = settings.clp_s_path
    clp_s = find_clp_s(Path(configured) if configured is not None else None)
    began = time.monotonic()
    report = IngestReport()
    ticker = _Progress(progress)
    files = _expand(paths)
    if not files:
        msg = "no input files given"
        raise IngestError(msg)
    inputs: list[_Input] = []
    for path in files:
        classified = _classify(path, timestamp_key)
        report.files += 1
        report.input_bytes += path.stat().st_size
        if classified is None:
            report.skipped.append(str(path))
        else:
            inputs.append(classified)
    final_dir = archives_dir(target)
    stage_root = staging_dir(target)
    final_dir.mkdir(parents=True, exist_ok=True)
    stage_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=stage_root))
    try:
        groups: dict[str | None, list[_Input]] = {}
        staged: dict[str | None, dict[Path, _Input]] = {}
        text_path = work / "text-events.jsonl"
        with contextlib.ExitStack() as closing:
            text_file: IO[str] | None = None
            for item in inputs:
                groups.setdefault(item.timestamp_key, []).append(item)
                files_of_group = staged.setdefault(item.timestamp_key, {})
                if item.kind == "text":
                    if text_file is None:
                        text_file = closing.enter_context(
                            text_path.open("w", encoding="utf-8", newline="\n")
                        )
                        files_of_group[text_path] = item
                    ticker.say(f"converting {item.path} (plain text)")
                    _convert_text(item, text_file, report, ticker, default_year)
                elif item.compression == "gzip":
                    inflated = work / f"{len(files_of_group)}-{item.path.stem}"
                    with gzip.open(item.path, "rb") as src, inflated.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    files_of_group[inflated] = item
                else:
                    files_of_group[item.path] = item
        built: list[Path] = []
        for number, (key, group) in enumerate(groups.items()):
            out_dir = work / f"archives-{number}"
            label = f"{len(group)} file(s)"
            ticker.say(f"compressing {label} (timestamp key {key or 'none'})")
            returncode, stderr = _run_compress(
                clp_s, out_dir, list(staged[key]), key, ticker, label
            )
            produced = (
                sorted(p for p in out_dir.iterdir() if p.is_dir()) if out_dir.is_dir() else []
            )
            if returncode != 0:
                raise IngestError(_explain_failure(stderr, group, staged[key], returncode))
            truncated = _TRUNCATED.search(stderr)
            if truncated:
                # clp-s drops a cut-off last object with only a warning (exit 0); we refuse.
                raise IngestError(_explain_truncation(truncated, staged[key]))
            if not produced or not all((p / "header").is_file() for p in produced):
                names = ", ".join(str(i.path) for i in group)
                msg = f"{names}: clp-s produced no complete archive"
                raise IngestError(msg)
            built.extend(produced)
        moved: list[Path] = []
        try:
            for archive in built:
                destination = final_dir / archive.name
                os.rename(archive, destination)
                moved.append(destination)
        except OSError as exc:
            for destination in moved:
                shutil.rmtree(destination, ignore_errors=True)
            msg = f"cannot move archives into {final_dir}: {exc}"
            raise IngestError(msg) from exc
        report.archive_ids = [p.name for p in moved]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - began
    ticker.say(
        f"ingested {report.files} file(s) into {len(report.archive_ids)} archive(s) in "
        f"{report.seconds:.1f} s; {len(list_archive_ids(target))} archive(s) in {target}"
    )
    return report


def ingest_samples(
    data_dir: str | Path,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    default_year: int | None = None,
) -> IngestReport:
    """
    Ingests the bundled Loghub samples, once: a data directory that already holds archives
    is left as it is.

    :param data_dir: Target data directory.
    :param settings: Settings (``clp_s_path``).
    :param progress: Progress callback, as for :func:`ingest`.
    :param default_year: Year for the yearless syslog samples (Linux, OpenSSH).
    :return: What was added (nothing when archives were already there).
    :raise IngestError: If the samples are missing or cannot be ingested.
    """
    if list_archive_ids(Path(data_dir)):
        return IngestReport()
    files = sample_files()
    if not files:
        msg = f"{samples_dir()}: the bundled samples are missing"
        raise IngestError(msg)
    return ingest(
        files, data_dir=data_dir, settings=settings, progress=progress, default_year=default_year
    )
