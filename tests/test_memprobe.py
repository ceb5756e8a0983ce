"""Memory readings: psutil for the process and host, cgroup files for a container's limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from logpager.memory.probe import (
    PsutilReader,
    read_cgroup_memory,
    spawned_children,
    tree_rss_bytes,
)

MIB = 1 << 20


def test_real_reading_is_sane() -> None:
    reading = PsutilReader().read()
    assert 10 * MIB < reading.rss_bytes < reading.total_bytes
    assert 0 < reading.available_bytes <= reading.total_bytes
    assert reading.total_bytes <= psutil.virtual_memory().total


def test_cgroup_v2_limit(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("268435456\n")
    (tmp_path / "memory.current").write_text(f"{200 * MIB}\n")
    (tmp_path / "memory.stat").write_text(f"anon {150 * MIB}\ninactive_file {50 * MIB}\n")
    cgroup = read_cgroup_memory(tmp_path)
    assert cgroup is not None
    assert cgroup.limit_bytes == 256 * MIB
    # Reclaimable page cache is not counted as used.
    assert cgroup.usage_bytes == 150 * MIB
    reading = PsutilReader(cgroup_root=tmp_path).read()
    assert reading.total_bytes == 256 * MIB
    assert reading.available_bytes <= 106 * MIB


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("1000\n")
    assert read_cgroup_memory(tmp_path) is None
    assert PsutilReader(cgroup_root=tmp_path).read().total_bytes == psutil.virtual_memory().total


def test_cgroup_v1_limit(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "memory.limit_in_bytes").write_text(f"{512 * MIB}\n")
    (memory / "memory.usage_in_bytes").write_text(f"{300 * MIB}\n")
    (memory / "memory.stat").write_text(f"cache 1\ntotal_inactive_file {100 * MIB}\n")
    cgroup = read_cgroup_memory(tmp_path)
    assert cgroup is not None
    assert (cgroup.limit_bytes, cgroup.usage_bytes) == (512 * MIB, 200 * MIB)


def test_cgroup_v1_no_limit_sentinel(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert read_cgroup_memory(tmp_path) is None


def test_missing_cgroup_files(tmp_path: Path) -> None:
    assert read_cgroup_memory(tmp_path / "absent") is None


def test_reading_counts_the_children_of_the_process() -> None:
    # A child holding 64 MiB (as a clp-s search does ~78 MiB): a container's cgroup counts it
    # with the server, so the governor's reading does too.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; held = bytearray(64 << 20); held[::4096] = b'x' * len(held[::4096]); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        own = psutil.Process().memory_info().rss
        child_rss = psutil.Process(child.pid).memory_info().rss
        assert child_rss > 60 * MIB
        tree = tree_rss_bytes(psutil.Process())
        assert tree >= own + child_rss - 8 * MIB
        assert PsutilReader().read().rss_bytes >= own + 60 * MIB
    finally:
        child.kill()
        child.wait()
    # Once the child is gone, the tree is the process alone again.
    assert tree_rss_bytes(psutil.Process()) < own + 32 * MIB


def test_a_fork_not_yet_execd_is_not_counted_twice() -> None:
    # A child between fork and exec runs this program in this process's memory: counting
    # its RSS would count this process twice. A child that exec'd a program counts.
    forked = os.fork()
    if forked == 0:  # the child: stays this program, in shared memory, until killed
        time.sleep(60)
        os._exit(0)
    execd = subprocess.Popen(["sleep", "60"])
    try:
        me = psutil.Process()
        deadline = time.monotonic() + 10
        while len(me.children()) < 2 or psutil.Process(execd.pid).cmdline() != ["sleep", "60"]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert [c.pid for c in spawned_children(me)] == [execd.pid]
        own = me.memory_info().rss
        counted = tree_rss_bytes(me)
        assert counted - own < own / 2, "the fork's RSS (as large as this process) is left out"
        assert counted > own
    finally:
        os.kill(forked, signal.SIGKILL)
        os.waitpid(forked, 0)
        execd.kill()
        execd.wait()
