"""The quick start: ``scripts/serve.sh`` installs once, then starts in seconds.

It runs the repository's own scripts against its own ``.venv`` (the one running these
tests), as a person would from a clone.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.ports import free_port, wait_for_port
from harness.servers import clean_env

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
STAMP = VENV / ".logpager-install"
INSTALLING = "setup-venv: installing logpager into .venv"


async def _start_serve(data: Path, log: Path) -> tuple[float, str]:
    """
    Runs ``bash scripts/serve.sh`` over HTTP until it listens, then stops it.

    :return: Seconds until it listened, and what it printed on stderr.
    """
    port = free_port()
    began = time.monotonic()
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            ["bash", "scripts/serve.sh", "--transport", "http", "--port", str(port)],
            cwd=REPO,
            env=clean_env(data_dir=str(data)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        # The first start may install and ingest the samples: minutes on a busy machine.
        await wait_for_port(port, lambda: proc.poll() is None, 600)
        seconds = time.monotonic() - began
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
    return seconds, log.read_text()


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != VENV.resolve(),
    reason="serve.sh sets up the repository's .venv; these tests run from another one",
)
async def test_the_second_start_skips_the_install(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _first_seconds, first = await _start_serve(data, tmp_path / "first.log")
    assert STAMP.is_file(), first
    stamped = STAMP.stat().st_mtime_ns
    seconds, second = await _start_serve(data, tmp_path / "second.log")
    assert INSTALLING not in second
    assert STAMP.stat().st_mtime_ns == stamped
    # It says where the data is and how to connect.
    assert f"archive(s) in {data} (LOGPAGER_DATA_DIR)" in second
    assert "/mcp" in second
    assert seconds < 20, second  # ~2 s on a quiet 2-core machine; pip alone took 36 s


def _stub_project(root: Path) -> Path:
    """
    A project with the real setup script and a .venv whose python only records its
    arguments: what the script decides to install, without installing anything.

    :return: The file where the calls are recorded.
    """
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / "setup-venv.sh").write_bytes(
        (REPO / "scripts" / "setup-venv.sh").read_bytes()
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = root / "calls.txt"
    for name in ("python", "logpager"):
        (bin_dir / name).write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
        (bin_dir / name).chmod(0o755)
    return calls


def _setup(root: Path, *extras: str) -> list[str]:
    calls = root / "calls.txt"
    calls.write_text("")
    subprocess.run(["bash", "scripts/setup-venv.sh", *extras], cwd=root, check=True, timeout=60)
    return [line for line in calls.read_text().splitlines() if "pip install" in line]


def test_the_install_runs_again_only_when_pyproject_or_the_extras_change(
    tmp_path: Path,
) -> None:
    _stub_project(tmp_path)
    assert _setup(tmp_path, "dev")[-1] == "-m pip install --quiet -e .[dev]"
    assert _setup(tmp_path, "dev") == []
    assert _setup(tmp_path) == []  # the dev install holds the base one
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '2'\n")
    assert _setup(tmp_path)[-1] == "-m pip install --quiet -e ."
    assert _setup(tmp_path) == []
    assert _setup(tmp_path, "dev")[-1] == "-m pip install --quiet -e .[dev]"
