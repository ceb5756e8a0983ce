"""``GET /health``: OK while the server can search, 503 with the reason when it cannot."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.servers import http_server
from logpager.search import ClpSBackend
from logpager.server.health import health_problem
from logpager.settings import Settings
from tests.support.scrape import base_url, get


def test_health_problem_on_archives_none_and_missing_engine(
    loghub_archives: Path, tmp_path: Path
) -> None:
    good = ClpSBackend(Settings(data_dir=loghub_archives))
    assert health_problem(good) is None
    empty = ClpSBackend(Settings(data_dir=tmp_path))
    assert health_problem(empty) == f"no archives to search in {empty.archives_dir}"
    good.clp_s = tmp_path / "gone" / "clp-s"
    problem = health_problem(good)
    assert problem is not None
    assert str(good.clp_s) in problem
    assert "missing or not executable" in problem


async def test_health_both_ways_over_http(loghub_archives: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(loghub_archives, data)
    async with http_server(data) as endpoint:
        assert await get(base_url(endpoint) + "/health") == (200, "OK")
        archives = ClpSBackend(Settings(data_dir=data)).archives_dir
        shutil.rmtree(archives)
        archives.mkdir()
        status, body = await get(base_url(endpoint) + "/health")
    assert status == 503
    assert body == f"unavailable: no archives to search in {archives}"
    assert "\n" not in body


async def test_health_and_metrics_need_no_token_when_auth_is_on(
    loghub_archives: Path, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("alice alice-token-0123456789abcdef\n")
    async with http_server(loghub_archives, "--auth-tokens-file", str(tokens)) as endpoint:
        health = await get(base_url(endpoint) + "/health")
        metrics, _ = await get(base_url(endpoint) + "/metrics")
        mcp, _ = await get(endpoint)
    assert health == (200, "OK")
    assert metrics == 200
    assert mcp == 401
