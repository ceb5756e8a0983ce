"""Turning log files into ``clp-s`` archives in a data directory.

Inputs are JSON lines or plain text, optionally gzip- or zstd-compressed (see
:mod:`logpager.ingest.inputs`); they are staged for ``clp-s c`` (see
:mod:`logpager.ingest.staging`) and compressed one group per timestamp key (see
:mod:`logpager.ingest.compress`).

Every JSON input is checked to be JSON lines (:mod:`logpager.ingest.jsoncheck`) in a thread
while ``clp-s`` compresses, so the check costs little wall time on two cores (0.16 s of
pyarrow and 0.02 s of scanning for 200,000 events, against 0.6 s of ``clp-s c``; checked
first, it made an ingest 1.6x bare ``clp-s c``; beside it, 1.1x on an idle host and up to
1.27x with the second core busy). A timestamp key that no event has is refused.
The report has a :class:`FileSummary` per input.

All-or-nothing: every archive of one :func:`ingest` call is built under
``DATA_DIR/staging/`` and renamed into ``DATA_DIR/archives/`` only when all of them are
complete, so a failure (bad JSON, a timestamp ``clp-s`` cannot parse, Ctrl-C) leaves no
archive, whole or partial, behind. Each call adds archives; a search covers them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from logpager.errors import IngestError
from logpager.ingest.compress import compress_group
from logpager.ingest.customformat import TimestampSpec, custom_format
from logpager.ingest.inputs import InputFile, classify, expand_paths
from logpager.ingest.jsoncheck import JsonCheck, check_json_lines
from logpager.ingest.progress import Progress, ProgressFn
from logpager.ingest.staging import StagedGroup, Staging, TextOptions, stage_inputs
from logpager.ingest.summary import FileSummary
from logpager.search.archive_times import TimeRange, read_time_range
from logpager.search.datadir import archives_dir, find_clp_s, list_archive_ids, staging_dir
from logpager.settings import Settings

__all__ = ["IngestReport", "ingest"]


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
    :param summaries: One per input file with events, in the order read.
    """

    archive_ids: list[str] = field(default_factory=list)
    files: int = 0
    text_events: int = 0
    text_lines: int = 0
    input_bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    summaries: list[FileSummary] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """:return: A warning per file with events that have no timestamp."""
        return [w for s in self.summaries if (w := s.warning) is not None]


def _classify_all(
    paths: Sequence[str | Path], timestamp_key: str | None, report: IngestReport
) -> list[InputFile]:
    files = expand_paths(paths)
    if not files:
        msg = "no input files given"
        raise IngestError(msg)
    inputs: list[InputFile] = []
    for path in files:
        classified = classify(path, timestamp_key)
        report.files += 1
        report.input_bytes += path.stat().st_size
        if classified is None:
            report.skipped.append(str(path))
        else:
            inputs.append(classified)
    return inputs


def _group_range(built: list[Path]) -> TimeRange | None:
    ranges = [read_time_range(archive) for archive in built]
    known = [r for r in ranges if r is not None]
    if not known:
        return None
    begins = [r.begin for r in known if r.begin is not None]
    ends = [r.end for r in known if r.end is not None]
    keys = tuple(sorted({k for r in known for k in r.keys}))
    return TimeRange(keys, min(begins) if begins else None, max(ends) if ends else None)


def _results(
    pending: list[tuple[InputFile, Future[JsonCheck]]],
) -> list[tuple[InputFile, JsonCheck]]:
    return [(item, future.result()) for item, future in pending]


def _check_key_found(
    group: StagedGroup, checks: list[tuple[InputFile, JsonCheck]], span: TimeRange | None
) -> None:
    # clp-s accepts a timestamp key no event has and dates nothing; that is refused here. The
    # archive header says whether any event was dated; the JSON check stands in without it.
    if group.timestamp_key is None or all(i.kind == "text" for i in group.sources):
        return
    if span is not None:
        found = bool(span.keys)
    else:
        found = any(c.undated < c.events for item, c in checks if item in group.sources)
    if found:
        return
    names = ", ".join(str(i.path) for i in group.sources)
    msg = (
        f"{names}: no event has the timestamp key {group.timestamp_key!r}; pass "
        "--timestamp-key with a field the events have"
    )
    raise IngestError(msg)


def _summaries(
    inputs: list[InputFile],
    staging: Staging,
    checks: list[tuple[InputFile, JsonCheck]],
    spans: dict[int, TimeRange | None],
) -> list[FileSummary]:
    summaries: list[tuple[InputFile, FileSummary]] = []
    for item, stats in staging.text:
        found = stats.layout.describe() if stats.layout is not None else "no timestamp found"
        summaries.append(
            (
                item,
                FileSummary(
                    str(item.path),
                    f"text, {found}",
                    stats.events,
                    stats.undated,
                    stats.first_ms,
                    stats.last_ms,
                    stats.years.describe(),
                ),
            )
        )
    for item, check in checks:
        group = next(g for g in staging.groups if item in g.sources)
        span = spans.get(id(group))
        key = f"timestamp key {item.timestamp_key!r}" if item.timestamp_key else "no timestamp key"
        dated = check.undated < check.events and span is not None
        summaries.append(
            (
                item,
                FileSummary(
                    str(item.path),
                    f"json, {key}",
                    check.events,
                    check.undated,
                    span.begin if dated and span is not None else None,
                    span.end if dated and span is not None else None,
                    range_shared=dated and len(group.files) > 1,
                ),
            )
        )
    order = {id(item): number for number, item in enumerate(inputs)}
    return [summary for _, summary in sorted(summaries, key=lambda pair: order[id(pair[0])])]


def _text_options(
    default_year: int | None,
    file_years: Mapping[Path, int] | None,
    timestamp_format: TimestampSpec | None,
    settings: Settings,
) -> TextOptions:
    for year in [default_year, *(file_years or {}).values()]:
        if year is not None and not 1970 <= year <= 9999:
            msg = f"year {year} is not from 1970 to 9999"
            raise IngestError(msg)
    return TextOptions(
        default_year,
        {Path(p): y for p, y in (file_years or {}).items()},
        custom_format(timestamp_format) if timestamp_format is not None else None,
        settings.ingest_max_event_bytes,
    )


def _compress_all(
    clp_s: Path, work: Path, staging: Staging, ticker: Progress, target_bytes: int
) -> tuple[list[Path], dict[int, TimeRange | None], list[tuple[InputFile, JsonCheck]]]:
    # The JSON inputs are checked in a thread while clp-s compresses (see the module doc).
    built: list[Path] = []
    spans: dict[int, TimeRange | None] = {}
    with ThreadPoolExecutor(1, thread_name_prefix="json-check") as pool:
        pending = [(i, pool.submit(check_json_lines, i, p)) for i, p in staging.json]
        try:
            for number, group in enumerate(staging.groups):
                archives = compress_group(
                    clp_s, work / f"archives-{number}", group, ticker, target_bytes=target_bytes
                )
                spans[id(group)] = _group_range(archives)
                built.extend(archives)
        except IngestError:
            # clp-s may refuse what the check refuses too: the check says it better.
            _results(pending)
            raise
        return built, spans, _results(pending)


def _publish(built: list[Path], final_dir: Path) -> list[str]:
    # staging/ and archives/ are siblings in the data directory, so a rename moves an archive
    # whole; the ones already moved are removed again if a later one cannot be.
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
    return [p.name for p in moved]


def ingest(
    paths: Sequence[str | Path],
    *,
    data_dir: str | Path | None = None,
    settings: Settings | None = None,
    timestamp_key: str | None = None,
    default_year: int | None = None,
    file_years: Mapping[Path, int] | None = None,
    timestamp_format: TimestampSpec | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """
    Builds archives from log files and adds them to a data directory.

    :param paths: Files or folders (searched recursively, hidden entries skipped).
    :param data_dir: Target data directory; ``settings.data_dir`` when omitted.
    :param settings: Settings (``data_dir``, ``clp_s_path``, ``ingest_progress_seconds``,
        ``ingest_max_event_bytes``, ``archive_target_bytes``).
    :param timestamp_key: The timestamp field of JSON inputs, as a clp-s path (``a.b``);
        found among :data:`~logpager.ingest.inputs.TIMESTAMP_KEY_CANDIDATES` when omitted.
    :param default_year: Year for text timestamps without one (syslog); ``None`` takes it from
        each file's modification time (see :mod:`logpager.ingest.years`).
    :param file_years: A year per text file (its path as given), before ``default_year``.
    :param timestamp_format: The layout of text timestamps, when no built-in one fits (see
        :mod:`logpager.ingest.customformat`); ``None`` detects one per file.
    :param progress: Called with a line of progress now and then (e.g. ``print``); ``None``
        is quiet.
    :return: What was added.
    :raise IngestError: If a path is missing, a file cannot be read, parsed or compressed, a
        JSON line is not one JSON object, no event has the timestamp key given, the
        timestamp format given is in no text file, or a year given is not from 1970 to
        9999; the message names the file (and the line when known). No archive is added then.
    """
    settings = settings if settings is not None else Settings()
    target = Path(data_dir) if data_dir is not None else Path(settings.data_dir)
    configured = settings.clp_s_path
    clp_s = find_clp_s(Path(configured) if configured is not None else None)
    options = _text_options(default_year, file_years, timestamp_format, settings)
    began = time.monotonic()
    report = IngestReport()
    ticker = Progress(progress, settings.ingest_progress_seconds)
    inputs = _classify_all(paths, timestamp_key, report)
    final_dir = archives_dir(target)
    stage_root = staging_dir(target)
    final_dir.mkdir(parents=True, exist_ok=True)
    stage_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=stage_root))
    try:
        staging = stage_inputs(inputs, work, ticker, options)
        report.text_events += staging.text_events
        report.text_lines += staging.text_lines
        built, spans, checks = _compress_all(
            clp_s, work, staging, ticker, settings.archive_target_bytes
        )
        for group in staging.groups:
            _check_key_found(group, checks, spans.get(id(group)))
        report.summaries = _summaries(inputs, staging, checks, spans)
        report.archive_ids = _publish(built, final_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - began
    ticker.say(
        f"ingested {report.files} file(s) into {len(report.archive_ids)} archive(s) in "
        f"{report.seconds:.1f} s; {len(list_archive_ids(target))} archive(s) in {target}"
    )
    return report
