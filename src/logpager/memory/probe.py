"""Readings of process and host memory: psutil, corrected for a container's cgroup limit.

psutil reports the host's total and available memory, not a container's. Inside a
memory-limited container the limit and usage are in the cgroup files (v2:
``memory.max``/``memory.current``; v1: ``memory/memory.limit_in_bytes``/
``memory/memory.usage_in_bytes``); when a limit below the host's total is set there, it
stands for the host: total is the limit, and available is the limit minus what the cgroup uses
apart from reclaimable page cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

__all__ = [
    "CGROUP_ROOT",
    "CgroupMemory",
    "MemoryReader",
    "MemoryReading",
    "PsutilReader",
    "read_cgroup_memory",
    "spawned_children",
    "tree_rss_bytes",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")

# cgroup v1 writes "no limit" as a huge page-rounded number (2**63 rounded down to a page);
# anything above this is taken as unlimited.
_UNLIMITED_ABOVE = 1 << 60


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """
    One reading of the pressure signals.

    :param rss_bytes: Resident set size of this process and its children (the ``clp-s``
        searches it runs), which a container's cgroup counts together; inside a
        memory-limited cgroup, its usage when that is larger.
    :param total_bytes: Memory of the host, or of the container when its limit is lower.
    :param available_bytes: Memory still available to the host (or container).
    """

    rss_bytes: int
    total_bytes: int
    available_bytes: int


@dataclass(frozen=True, slots=True)
class CgroupMemory:
    """
    A cgroup's memory limit and its usage net of reclaimable page cache.

    :param limit_bytes: The limit.
    :param usage_bytes: Bytes in use that cannot simply be reclaimed.
    """

    limit_bytes: int
    usage_bytes: int


class MemoryReader(Protocol):
    """Anything that reads the pressure signals (tests pass a fake one)."""

    def read(self) -> MemoryReading:
        """:return: A fresh reading."""
        ...


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _own_cgroup_dirs(root: Path) -> tuple[Path, Path]:
    """:return: This process's cgroup v2 folder and v1 memory folder (may not exist)."""
    v2 = root
    v1 = root / "memory"
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return v2, v1
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "" and (root / relative / "memory.max").exists():
            v2 = root / relative
        elif "memory" in controllers.split(",") and (root / "memory" / relative).is_dir():
            v1 = root / "memory" / relative
    return v2, v1


def read_cgroup_memory(root: Path = CGROUP_ROOT) -> CgroupMemory | None:
    """
    Reads the memory limit of the cgroup this process runs in.

    Looks at the process's own cgroup first, then at the root of the mount (a container sees
    its own cgroup there).

    :param root: Where the cgroup file system is mounted.
    :return: The limit and usage, or None when no (finite) limit is set.
    """
    v2, v1 = _own_cgroup_dirs(root)
    for folder in dict.fromkeys([v2, root]):
        limit = _read_int(folder / "memory.max")
        if limit is not None and limit < _UNLIMITED_ABOVE:
            usage = _read_int(folder / "memory.current") or 0
            reclaimable = _stat_value(folder / "memory.stat", "inactive_file")
            return CgroupMemory(limit, max(usage - reclaimable, 0))
    for folder in dict.fromkeys([v1, root / "memory"]):
        limit = _read_int(folder / "memory.limit_in_bytes")
        if limit is not None and limit < _UNLIMITED_ABOVE:
            usage = _read_int(folder / "memory.usage_in_bytes") or 0
            reclaimable = _stat_value(folder / "memory.stat", "total_inactive_file")
            return CgroupMemory(limit, max(usage - reclaimable, 0))
    return None


class PsutilReader:
    """
    Reads this process's RSS and the host's memory with psutil, honouring a cgroup limit.

    :param cgroup_root: Where the cgroup file system is mounted (tests point it elsewhere).
    :param pid: The process to watch (default: this one).
    """

    def __init__(self, cgroup_root: Path = CGROUP_ROOT, pid: int | None = None) -> None:
        self._process = psutil.Process(pid if pid is not None else os.getpid())
        self._cgroup_root = cgroup_root

    def read(self) -> MemoryReading:
        """
        :return: The process tree's RSS, total and available memory now (the cgroup's when
            its limit is lower than the host's).
        """
        rss = tree_rss_bytes(self._process)
        host = psutil.virtual_memory()
        total, available = int(host.total), int(host.available)
        cgroup = read_cgroup_memory(self._cgroup_root)
        if cgroup is not None and cgroup.limit_bytes < total:
            total = cgroup.limit_bytes
            available = min(available, max(cgroup.limit_bytes - cgroup.usage_bytes, 0))
            # The OOM killer sees the cgroup's usage, whoever in it holds the memory.
            rss = max(rss, cgroup.usage_bytes)
        return MemoryReading(rss_bytes=rss, total_bytes=total, available_bytes=available)


def spawned_children(process: psutil.Process) -> list[psutil.Process]:
    """
    :param process: A process.
    :return: Its descendants that run a program of their own: a child between ``fork`` (or
        ``vfork``) and ``exec`` still runs the parent's program in the parent's (shared,
        copy-on-write) memory, and counting its RSS would count the parent twice. Sampled
        every 100 ms, a soak of 8 clients caught such a child at 169 MB, reading a process
        tree of 396 MB where a cgroup held ~250.
    """
    # A fork keeps its parent's program and command line until it execs; a child that
    # exec'd (clp-s, or even another Python) has its own command line.
    try:
        own = (process.exe(), process.cmdline())
        children = process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    spawned = []
    for child in children:
        try:
            if (child.exe(), child.cmdline()) != own:
                spawned.append(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return spawned


def tree_rss_bytes(process: psutil.Process) -> int:
    """
    :param process: A process.
    :return: The resident set size of it and of the descendants that run a program of their
        own (see :func:`spawned_children`; processes that end while they are read count as
        0). One ``clp-s`` search of a 300,000-event archive held ~78 MiB, so on a small host
        the children matter as much as the server.
    """
    total = 0
    for member in [process, *spawned_children(process)]:
        try:
            total += int(member.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total
