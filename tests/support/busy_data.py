"""A data directory big enough that a broad search takes a few seconds, and its helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil

from logpager.ingest.ingestion import ingest
from logpager.settings import Settings
from logpager.synthetic import write_events

__all__ = ["BROAD_QUERY", "SLOW_READS", "clp_s_children", "make_busy_data_dir", "slow_settings"]

# Every event matches: ~1.9 s of clp-s alone over 300,000 events on a 2-core machine, then
# the build of the 100,000 kept.
BROAD_QUERY = "*"

# Settings that make the reader pause 20 ms after every read of clp-s's pipe (every read
# counts as short), so that a broad search takes a few seconds however idle the machine:
# ~0.9 s without them on an idle 2-core machine, too close to the one second progress and
# cancellation are measured against.
SLOW_READS = {"search_short_read_bytes": "67108864", "search_short_read_pause_seconds": "0.02"}
"""The same, as ``LOGPAGER_*`` values for a server process (see ``harness.servers.clean_env``)."""


def slow_settings(data_dir: Path, **overrides: Any) -> Settings:
    """
    :param data_dir: The archives.
    :param overrides: More settings.
    :return: Settings whose searches read clp-s slowly (see :data:`SLOW_READS`).
    """
    return Settings(
        data_dir=data_dir,
        search_short_read_bytes=64 * 1_048_576,
        search_short_read_pause_seconds=0.02,
        **overrides,
    )


def make_busy_data_dir(folder: Path, events: int = 300_000) -> Path:
    """
    :param folder: An empty folder.
    :param events: Synthetic events to ingest.
    :return: A data directory of one archive of ``events`` synthetic events.
    """
    source = folder / "events.jsonl"
    write_events(source, events, seed=12)
    data = folder / "data"
    ingest([source], data_dir=data, progress=None)
    source.unlink()
    return data


def clp_s_children(pid: int | None = None) -> list[psutil.Process]:
    """
    :param pid: The process whose descendants are looked at (default: this one).
    :return: Its ``clp-s`` descendants, zombies included.
    """
    found = []
    for child in psutil.Process(pid if pid is not None else os.getpid()).children(recursive=True):
        try:
            if child.name().startswith("clp-s"):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
