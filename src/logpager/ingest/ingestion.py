"""Turning log files into ``clp-s`` archives in a data directory.

Inputs are JSON lines or plain text, optionally gzip- or zstd-compressed (see
:mod:`logpager.ingest.inputs`); they are staged for ``clp-s c`` (see
:mod:`logpager.ingest.staging`) and compressed one group per timestamp key (see
:mod:`logpager.ingest.compress`).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from logpager.errors import IngestError
from logpager.ingest.compress import compress_group
from logpager.ingest.inputs import InputFile, classify, expand_paths
from logpager.ingest.progress import Progress, ProgressFn
from logpager.ingest.staging import stage_inputs
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
    """

    archive_ids: list[str] = field(default_factory=list)
    files: int = 0
    text_events: int = 0
    text_lines: int = 0
    input_bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


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
    ticker = Progress(progress, settings.ingest_progress_seconds)
    inputs = _classify_all(paths, timestamp_key, report)
    final_dir = archives_dir(target)
    stage_root = staging_dir(target)
    final_dir.mkdir(parents=True, exist_ok=True)
    stage_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=stage_root))
    try:
        staging = stage_inputs(
            inputs,
            work,
            ticker,
            default_year=default_year,
            max_event_bytes=settings.ingest_max_event_bytes,
        )
        report.text_events += staging.text_events
        report.text_lines += staging.text_lines
        built: list[Path] = []
        for number, group in enumerate(staging.groups):
            built.extend(
                compress_group(
                    clp_s,
                    work / f"archives-{number}",
                    group,
                    ticker,
                    target_bytes=settings.archive_target_bytes,
                )
            )
        report.archive_ids = _publish(built, final_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - began
    ticker.say(
        f"ingested {report.files} file(s) into {len(report.archive_ids)} archive(s) in "
        f"{report.seconds:.1f} s; {len(list_archive_ids(target))} archive(s) in {target}"
    )
    return report
