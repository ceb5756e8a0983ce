"""What the process asks of its allocators: Arrow's pool, glibc's arenas and trim, glibc's
mmap threshold for its clp-s children (through their environment), and the kernel's page-out
of clean library pages.

These are process-wide knobs with no policy of their own; the governor decides when memory
should go back, and calls :func:`release_free_memory`. Where a call does not exist (not glibc,
not Linux), each one does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from logpager.settings import Settings

__all__ = [
    "child_environment",
    "configure_allocators",
    "page_out_library_pages",
    "release_free_memory",
]


def _load_malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        # Not glibc (musl, macOS): there is no trim to ask for.
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


_M_ARENA_MAX = -8  # glibc's mallopt parameter number for the arena cap


def configure_allocators(settings: Settings) -> None:
    """
    Applies ``arrow_memory_pool`` and ``malloc_arena_max``; call before the server's work.

    :param settings: The allocator settings.
    """
    if settings.arrow_memory_pool == "system":
        pa.set_memory_pool(pa.system_memory_pool())
    if settings.malloc_arena_max is not None and _MALLOC_TRIM is not None:
        name = ctypes.util.find_library("c")
        if name is not None:
            mallopt = ctypes.CDLL(name).mallopt
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            mallopt(_M_ARENA_MAX, settings.malloc_arena_max)


def child_environment(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """
    The environment for a ``clp-s`` child: this process's, plus glibc's tunables for the
    settings' malloc knobs (``GLIBC_TUNABLES``, merged with any the environment already has).

    :param settings: Source of ``clp_s_mmap_threshold_bytes``.
    :param environ: The environment to start from (default: this process's).
    :return: The child's environment, or ``None`` when there is nothing to add (the child
        then inherits this process's as it is).
    """
    threshold = settings.clp_s_mmap_threshold_bytes
    if threshold is None:
        return None
    env = dict(os.environ if environ is None else environ)
    ours = f"glibc.malloc.mmap_threshold={threshold}:glibc.malloc.trim_threshold={threshold}"
    # A tunable the user set themselves comes last, so it wins over ours.
    theirs = env.get("GLIBC_TUNABLES")
    env["GLIBC_TUNABLES"] = f"{ours}:{theirs}" if theirs else ours
    return env


_MADV_PAGEOUT = 21  # Linux 5.4+: reclaim these pages from the process now


def page_out_library_pages(maps: str = "/proc/self/maps") -> int:
    """
    Asks the kernel to drop the clean, file-backed pages of read-only mappings (shared
    libraries, byte code) from this process; the ones in use fault back in from the page
    cache. Does nothing where ``madvise`` or ``/proc`` is missing.

    :param maps: The process's mappings file.
    :return: Mappings advised.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return 0
    try:
        madvise = ctypes.CDLL(name).madvise
        lines = Path(maps).read_text().splitlines()
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    advised = 0
    for line in lines:
        fields = line.split()
        # Only read-only views of files: writable or anonymous memory holds live data.
        if len(fields) < 6 or not fields[5].startswith("/") or "w" in fields[1]:
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if madvise(low, high - low, _MADV_PAGEOUT) == 0:
            advised += 1
    return advised


def release_free_memory() -> None:
    """Asks Arrow's memory pool and the C heap to return freed memory to the system."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
