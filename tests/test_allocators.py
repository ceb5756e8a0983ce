"""The allocator knobs: Arrow's pool, glibc's arenas, page-out (each in a child process,
since they are process-wide), and the glibc tunables a clp-s child is started with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from logpager.memory.allocators import child_environment
from logpager.query import QuerySpec
from logpager.search.clp_s import ClpSBackend
from logpager.search.datadir import find_clp_s
from logpager.settings import Settings


def test_page_out_library_pages_lowers_file_backed_rss(tmp_path) -> None:
    # The kernel drops only clean pages that no other process maps. Library pages that the
    # test runner itself has mapped stay, which made a check on the libraries alone depend
    # on what ran before it (RssFile once did not move at all in CI). So the child also maps
    # a clean file of its own, read-only, like a library, and that must go.
    private = tmp_path / "private.bin"
    code = (
        "import mmap, os, sys, pyarrow.compute, fastmcp\n"
        "from logpager.memory.allocators import page_out_library_pages\n"
        "def rss_file():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('RssFile:'):\n"
        "            return int(line.split()[1])\n"
        "path = sys.argv[1]\n"
        "with open(path, 'wb') as out:\n"
        "    out.write(os.urandom(8 << 20))\n"
        "    out.flush()\n"
        "    os.fsync(out.fileno())\n"
        "view = mmap.mmap(os.open(path, os.O_RDONLY), 0, access=mmap.ACCESS_READ)\n"
        "touched = sum(view[i] for i in range(0, len(view), 4096))\n"
        "before = rss_file()\n"
        "advised = page_out_library_pages()\n"
        "print(before, rss_file(), advised)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(private)], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, advised = (int(x) for x in out)
    assert advised > 10  # the libraries' mappings and the file's
    assert after <= before - 7 * 1024  # KiB: most of the 8 MiB file's pages are gone


def test_configure_allocators_system_pool() -> None:
    code = (
        "import pyarrow as pa\n"
        "from logpager.memory.allocators import configure_allocators\n"
        "from logpager.settings import Settings\n"
        "configure_allocators(Settings(arrow_memory_pool='system', malloc_arena_max=2))\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "system"


def test_child_environment_adds_the_tunables_and_keeps_the_users_last() -> None:
    assert child_environment(Settings(), {"PATH": "/bin"}) is None
    settings = Settings(clp_s_mmap_threshold_bytes=131072)
    ours = "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"
    assert child_environment(settings, {"PATH": "/bin"}) == {
        "PATH": "/bin",
        "GLIBC_TUNABLES": ours,
    }
    theirs = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"}
    merged = child_environment(settings, theirs)
    assert merged == {"GLIBC_TUNABLES": f"{ours}:glibc.malloc.mmap_threshold=65536"}


def test_a_clp_s_search_runs_with_the_tunables(tmp_path: Path, loghub_archives: Path) -> None:
    # The real clp-s, started through a wrapper that records the environment it was given.
    seen = tmp_path / "tunables.txt"
    wrapper = tmp_path / "clp-s"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s" "$GLIBC_TUNABLES" > {seen}\nexec {find_clp_s(None)} "$@"\n'
    )
    wrapper.chmod(0o755)
    for threshold, expected in ((None, ""), (65536, "glibc.malloc.mmap_threshold=65536")):
        settings = Settings(clp_s_mmap_threshold_bytes=threshold)
        backend = ClpSBackend(settings, data_dir=loghub_archives, clp_s_path=wrapper)
        outcome = backend.search(QuerySpec("*", max_results=5))
        assert outcome.total_matches > 0
        assert seen.read_text().startswith(expected)
        assert bool(seen.read_text()) == (threshold is not None)
