"""Archives that ``clp-s`` cannot read: found when a search fails, named, and remembered.

``clp-s`` gives no hint of which archive broke a search of several: a truncated or corrupt
archive aborts it (``terminate called ... PackedStreamReader ... Error code: 5``, SIGABRT),
an unreadable header exits 1 with "Failed to open archive ... Error code: 7". Checking every
archive before every search would cost a run per archive, so the check is made only when a
search fails: each archive is then searched alone with the same query (output to
``/dev/null``), the ones that fail are named in a warning and skipped, and they are
remembered by id and modification time (with change time and inode), so later searches skip
them at once until the archive is replaced. When every archive fails alone, ``clp-s`` itself
may be at fault: the search's error names each archive and none is remembered
(:class:`~logpager.search.clp_s.ClpSBackend` decides).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from logpager.search.failures import signal_name, stderr_message

__all__ = ["BadArchives", "failure_reason", "unreadable_reason"]

log = logging.getLogger(__name__)
_CORRUPT = "the archive is corrupt or truncated"


def unreadable_reason(archive: Path) -> str | None:
    """
    Opens every file of an archive for reading (no data is read), as ``clp-s`` would.

    :param archive: An archive folder.
    :return: Why it cannot be read, naming the path; ``None`` if every file opens.
    """
    try:
        entries = list(os.scandir(archive))
        for entry in entries:
            if entry.is_file():
                with open(entry.path, "rb"):
                    pass
    except OSError as e:
        where = e.filename or archive
        return f"cannot read {where}: {e.strerror or type(e).__name__}"
    return None


def failure_reason(archive: Path, returncode: int, err: bytes) -> str:
    """
    :param archive: The archive searched alone.
    :param returncode: ``clp-s``'s exit status (negative: killed by that signal).
    :param err: The tail of its stderr.
    :return: Why the archive could not be searched: a path it cannot read, else what
        ``clp-s`` said (or the signal that stopped it).
    """
    unreadable = unreadable_reason(archive)
    if unreadable is not None:
        return unreadable
    message = stderr_message(err)
    if returncode < 0:
        return f"clp-s was killed by signal {signal_name(returncode)} ({message}); {_CORRUPT}"
    return f"clp-s failed (exit status {returncode}): {message}; {_CORRUPT}"


def _stamp(archive: Path) -> tuple[int, int, int] | None:
    # The mtime alone misses a replacement copied with its times kept (cp -a, copytree);
    # the change time and inode cannot be carried over by a copy.
    try:
        st = archive.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_ino


class BadArchives:
    """
    The archives of one data directory found unsearchable, by id and modification time.

    An archive replaced since (another modification or change time, or inode) is searched
    again. Thread-safe:
    searches run in worker threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bad: dict[str, tuple[int, int, int] | None] = {}

    def mark(self, archive: Path, reason: str) -> None:
        """
        Remembers an archive as bad and logs one warning naming it.

        :param archive: The archive folder (its name is the archive id).
        :param reason: Why it cannot be searched.
        """
        with self._lock:
            self._bad[archive.name] = _stamp(archive)
        log.warning("Skipping archive %s: %s", archive, reason)

    def split(self, archives: Path, ids: list[str]) -> tuple[list[str], list[str]]:
        """
        :param archives: The folder of the archives.
        :param ids: Archive ids about to be searched.
        :return: Those not known bad, and those known bad (and not replaced since).
        """
        good: list[str] = []
        bad: list[str] = []
        with self._lock:
            for archive_id in ids:
                if archive_id in self._bad:
                    if self._bad[archive_id] == _stamp(archives / archive_id):
                        bad.append(archive_id)
                        continue
                    del self._bad[archive_id]
                good.append(archive_id)
        return good, bad
