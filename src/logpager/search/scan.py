"""Streaming every event of the archives (or of one), for what needs them all rather than a
query's hits: the fields present, the neighbours of one event.

A scan is a ``clp-s s ... " *"`` search whose hits are handed to the caller as they are
decoded and never kept here, so memory stays bounded by what the caller keeps. The caller
may stop it early (:class:`StopScan`), and another thread may cancel it (:class:`RunToken`);
either way the child is killed and reaped. Hits come in the engine's order (archive by
archive, table by table), not in log order: each carries its archive id and event index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from logpager.errors import NoArchivesError
from logpager.search.child import Rows, RunToken, run_search
from logpager.search.clp_s import ClpSBackend
from logpager.search.failures import no_archives_error, raise_for_failure

__all__ = ["ScanOutcome", "StopScan", "scan_events"]

_EVERYTHING = "*"


class StopScan(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised by a scan's row handler to end the scan early (the child is killed)."""


@dataclass(frozen=True)
class ScanOutcome:
    """
    How a scan ended.

    :param archive_ids: The archives scanned (sorted).
    :param complete: Whether every event was handed over (False: the handler stopped it).
    :param elapsed_seconds: Wall-clock time of the scan.
    """

    archive_ids: tuple[str, ...]
    complete: bool
    elapsed_seconds: float


def scan_events(
    backend: ClpSBackend,
    on_rows: Callable[[Rows], object],
    *,
    archive_id: str | None = None,
    token: RunToken | None = None,
) -> ScanOutcome:
    """
    Hands every event of the archives (or of one archive) to ``on_rows`` as ``clp-s`` decodes
    them, keeping none.

    :param backend: The engine and data directory (its ``clp_s``, ``archives_dir``,
        ``timeout_seconds`` and the search engine's read settings).
    :param on_rows: Called in this thread with each read's decoded hits
        (``(timestamp_ms, event_json, path, archive_id, index)``, bytes and ints; the event
        text ends with ``"\\n"``; a timestamp of 0 means none); it may raise
        :class:`StopScan` to end the scan. It must not raise ``ValueError`` or ``TypeError``
        for its own reasons: those read as a corrupt stream.
    :param archive_id: Scan only this archive (it must be one of ``backend.list_archives()``).
    :param token: Lets another thread cancel the scan (then ``SearchCancelledError``).
    :return: The archives scanned and whether the scan ran to the end.
    :raise NoArchivesError: If there is nothing to scan, or ``archive_id`` is not an archive.
    :raise SearchTimeoutError: If it runs past the search timeout (the child is killed).
    :raise BackendCrashedError: If ``clp-s`` fails or its output is cut short.
    """
    started = time.monotonic()
    current = backend.list_archives()
    if not current:
        raise no_archives_error(backend.data_dir)
    extra: list[str] = []
    scanned = current
    if archive_id is not None:
        if archive_id not in current:
            msg = f"No archive {archive_id!r} in {backend.archives_dir}."
            raise NoArchivesError(msg)
        extra = ["--archive-id", archive_id]
        scanned = [archive_id]
    argv = [str(backend.clp_s), "s", *extra, str(backend.archives_dir), " " + _EVERYTHING]
    argv += ["file", "--path", "/dev/stdout"]
    try:
        returncode, err = run_search(
            argv,
            token if token is not None else RunToken(),
            on_rows,
            deadline=started + backend.timeout_seconds,
            timeout_seconds=backend.timeout_seconds,
            settings=backend.settings,
        )
    except StopScan:
        return ScanOutcome(tuple(scanned), False, time.monotonic() - started)
    if returncode != 0:
        # Returns only when clp-s found the query can match nothing: an empty archive.
        raise_for_failure(returncode, err, _EVERYTHING, backend.data_dir)
    return ScanOutcome(tuple(scanned), True, time.monotonic() - started)
