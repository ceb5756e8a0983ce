"""Shared fixtures: a clean environment, an injectable clock, result rows, ingested samples,
real Redis servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from harness.redis import RedisCluster, RedisServer, redis_available
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


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real ``redis-server`` on a free port, stopped after the test."""
    missing = redis_available()
    if missing is not None:
        pytest.fail(f"the Redis store tests need a real Redis: {missing}")
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 3-node Redis Cluster (``redis-cli --cluster create``), shared by a module."""
    missing = redis_available()
    if missing is not None:
        pytest.fail(f"the Redis Cluster tests need a real Redis: {missing}")
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster")).start()
    try:
        yield cluster
    finally:
        cluster.stop()
