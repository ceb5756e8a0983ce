"""A data directory big enough that a broad search takes a few seconds, and its helpers."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from logpager.ingest.ingestion import ingest
from logpager.synthetic import write_events

__all__ = ["BROAD_QUERY", "clp_s_children", "make_busy_data_dir"]

# Every event matches: ~1.9 s of clp-s alone over 300,000 events on a 2-core machine, then
# the build of the 100,000 kept.
BROAD_QUERY = "*"


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
