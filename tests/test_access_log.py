"""uvicorn's access log is off unless asked for (a real server over real HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.servers import http_server
from tests.support.rawhttp import post_jsonrpc


@pytest.mark.parametrize("flag", [False, True])
async def test_requests_are_logged_only_with_access_log(
    loghub_archives: Path, tmp_path: Path, flag: bool
) -> None:
    log = tmp_path / "server.log"
    args = ("--access-log",) if flag else ()
    async with http_server(loghub_archives, *args, log=log) as url:
        for _ in range(3):
            assert post_jsonrpc(url, {}).status in {200, 400, 406}
    lines = [line for line in log.read_text().splitlines() if '"POST /mcp' in line]
    assert len(lines) == (3 if flag else 0), log.read_text()[-2000:]
