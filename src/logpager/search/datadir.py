"""A data directory's layout, and where the ``clp-s`` binary that reads and writes it lives.

Layout of a data directory::

    DATA_DIR/archives/<archive-id>/...   complete archives only; clp-s searches this folder
    DATA_DIR/staging/                    ingests and multi-archive searches work here

``clp-s`` treats every entry of the folder it searches as an archive and stops at the first
one it cannot open, so nothing but finished archives may ever sit in ``archives/``. Ingest,
search and the server's startup checks all read the layout from here.
"""

from __future__ import annotations

import os
import shutil
import sys
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
    :return: Ids of its finished archives, sorted.
    """
    root = archives_dir(data_dir)
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        e.name
        for e in entries
        if not e.name.startswith(".") and e.is_dir() and (Path(e.path) / "header").is_file()
    )


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
