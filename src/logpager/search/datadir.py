"""A data directory's layout, and where the ``clp-s`` binary that reads and writes it lives.

Layout of a data directory::

    DATA_DIR/archives/<archive-id>/...   complete archives only; clp-s searches this folder
    DATA_DIR/staging/                    ingests and multi-archive searches work here

``clp-s`` treats every entry of the folder it searches as an archive and stops at the first
one it cannot open, so it is never handed ``archives/`` itself: searches name the archives
listed here (a folder of links to them, or ``--archive-id``). An entry that is not an archive
(a ``.DS_Store``, a README, an empty ``lost+found``) is left out of the list with one log line
the first time it is seen. Ingest, search and the server's startup checks all read the layout
from here.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from pathlib import Path

from logpager.errors import BackendCrashedError

__all__ = [
    "ARCHIVES_SUBDIR",
    "STAGING_SUBDIR",
    "archives_dir",
    "find_clp_s",
    "ingest_hint",
    "list_archive_ids",
    "staging_dir",
]

ARCHIVES_SUBDIR = "archives"
STAGING_SUBDIR = "staging"

log = logging.getLogger(__name__)
# Stray entries already logged, so that each is named once, not on every search.
_reported: set[str] = set()
_reported_lock = threading.Lock()


def archives_dir(data_dir: Path) -> Path:
    """
    :param data_dir: A logpager data directory.
    :return: The folder that holds its finished archives.
    """
    return Path(data_dir) / ARCHIVES_SUBDIR


def staging_dir(data_dir: Path) -> Path:
    """
    :param data_dir: A logpager data directory.
    :return: The folder for work in progress (never searched).
    """
    return Path(data_dir) / STAGING_SUBDIR


def ingest_hint(data_dir: Path) -> str:
    """
    :param data_dir: A logpager data directory.
    :return: One sentence that tells a person how to fill it.
    """
    return (
        f"Ingest logs first: `logpager ingest PATH... --data-dir {data_dir}` "
        "(JSON lines or plain text, optionally .gz/.zst)."
    )


def list_archive_ids(data_dir: Path) -> list[str]:
    """
    :param data_dir: A logpager data directory.
    :return: Ids of its finished archives, sorted. Entries that are not archives are left
        out, each logged once.
    :raise BackendCrashedError: If the archives folder cannot be read (the message names it).
    """
    root = archives_dir(data_dir)
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as e:
        msg = f"Cannot read the archives folder {root}: {e.strerror or type(e).__name__}."
        raise BackendCrashedError(msg) from e
    ids: list[str] = []
    for entry in entries:
        if _is_archive(entry):
            ids.append(entry.name)
        else:
            _report_stray(entry.path)
    return sorted(ids)


def _is_archive(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith("."):
        return False
    try:
        return entry.is_dir() and (Path(entry.path) / "header").is_file()
    except OSError:  # pragma: no cover - is_dir/is_file swallow most errors themselves
        return False


def _report_stray(path: str) -> None:
    with _reported_lock:
        if path in _reported:
            return
        _reported.add(path)
    log.info("Ignoring %s: not an archive (no header file); it is never searched.", path)


def find_clp_s(configured: Path | None = None) -> Path:
    """
    Locates the ``clp-s`` binary.

    The binary bundled with ``yscope-clp-core`` is preferred over the ``clp-s`` console script
    next to Python: that script is a Python wrapper that runs the binary as its own child, so
    killing the wrapper would leave the real search running.

    :param configured: An explicit path (``settings.clp_s_path``), used as is when given.
    :return: The executable's path.
    :raise BackendCrashedError: If no ``clp-s`` can be found.
    """
    if configured is not None:
        return Path(configured)
    try:
        from importlib.resources import files

        bundled = Path(str(files("yscope_clp_core") / "bin" / "clp-s"))
        if bundled.is_file():
            return bundled
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - package always installed
        pass
    beside = Path(sys.executable).parent / "clp-s"  # pragma: no cover
    if beside.is_file():  # pragma: no cover
        return beside
    found = shutil.which("clp-s")  # pragma: no cover
    if found:  # pragma: no cover
        return Path(found)
    msg = "clp-s not found: install yscope-clp-core or set LOGPAGER_CLP_S_PATH"  # pragma: no cover
    raise BackendCrashedError(msg)  # pragma: no cover
