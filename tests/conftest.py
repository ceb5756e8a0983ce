"""Shared fixtures: a clean environment, an injectable clock, result rows, ingested samples."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from harness.rows import make_events
from logpager.ingest import ingest
from logpager.settings import Settings
from tests.support.clock import FakeClock
from tests.support.loghub import LOGHUB, SAMPLES


@pytest.fixture(autouse=True)
def _no_logpager_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read LOGPAGER_* variables; what a test pins must not depend on the shell."""
    for name in [n for n in os.environ if n.startswith("LOGPAGER_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def events() -> Callable[..., pa.RecordBatch]:
    return make_events


@pytest.fixture(scope="session")
def loghub_archives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    A data directory holding the five loghub samples, one archive each (so multi-archive
    paths are exercised too), with year-less timestamps read as 2020. Shared by every test
    of the session: tests that ingest more, or change the directory, make their own.
    """
    data = tmp_path_factory.mktemp("loghub-archives")
    for name in SAMPLES:
        ingest([LOGHUB / name], data_dir=data, default_year=2020, progress=None)
    return data
