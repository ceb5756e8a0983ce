"""An installed wheel works on its own: profiles and samples packaged, the command installed.

Builds the wheel from a copy of the sources, installs it with its dependencies into a fresh
virtual environment outside the repository, and runs it from a folder that is not the
repository, with nothing of the checkout on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from logpager import __version__
from logpager.settings import PROFILES_DIR

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LOGPAGER_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """:return: The wheel built from a copy of the sources, and what the build printed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    dist = root / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), "."],
        cwd=source,
        env=_clean_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob("logpager-*.whl")
    return wheel, build.stdout + build.stderr


def test_wheel_builds_without_packaging_warnings(built: tuple[Path, str]) -> None:
    wheel, log = built
    info = f"logpager-{__version__}.dist-info"
    # setuptools warns about its own deprecations (project.license as a table) in the log.
    assert "deprecated" not in log.lower(), log
    assert "BuildBackendWarning" not in log, log
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"{info}/METADATA").decode()
        assert f"{info}/licenses/LICENSE" in archive.namelist()
    assert "License-Expression: Apache-2.0" in metadata


@pytest.fixture(scope="module")
def installed(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel, _log = built
    root = tmp_path_factory.mktemp("venv")
    env = _clean_env()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return venv


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*args], cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=300, check=False
    )


def test_wheel_loads_every_profile(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, logpager, logpager.settings as s; "
        "print(json.dumps({'file': logpager.__file__, 'profiles': s.list_profiles(), "
        "'page_sizes': {p: s.load_settings(p).page_size for p in s.list_profiles()}}))"
    )
    done = _run(str(installed / "bin" / "python"), "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert Path(facts["file"]).is_relative_to(installed)
    assert facts["profiles"] == sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))
    assert set(facts["page_sizes"]) == {"default", "edge", "analysis"}


def test_wheel_serve_accepts_a_shipped_profile(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    logpager = str(installed / "bin" / "logpager")
    done = _run(logpager, "serve", "--profile", "edge", "--data-dir", str(empty), cwd=tmp_path)
    # The profile loads; the server then refuses an empty data directory and says how to fill
    # it (an unknown profile would exit 2 naming the profile).
    assert done.returncode == 1, done.stderr
    assert "unknown profile" not in done.stderr
    assert "logpager ingest" in done.stderr


def test_wheel_runs_the_demo_on_its_bundled_samples(installed: Path, tmp_path: Path) -> None:
    logpager = str(installed / "bin" / "logpager")
    done = _run(logpager, "demo", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cached" in done.stdout
    assert "bytes per 1,000" in done.stdout
