"""The logpager command: help, bad settings, the demo, and ``serve`` as a real process."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
from fastmcp import Client

from harness.ports import free_port, wait_for_port
from harness.servers import clean_env, run_serve, serve_command
from logpager.cli import main
from logpager.search.datadir import list_archive_ids


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "search", "serve", "demo"):
        assert command in out


@pytest.mark.parametrize("command", ["ingest", "search", "serve", "demo"])
def test_help_shows_real_defaults_and_the_exit_statuses(capsys, command, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps help text, long words too
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    assert "default: settings" not in out
    assert f"(default: {tmp_path / 'logpager'}; or set LOGPAGER_DATA_DIR)" in out
    if command != "ingest":
        assert "Exit status: 0 done; 1 the work failed" in out
        assert "2 what was typed is wrong" in out
    if command == "search":
        assert "items per page (default: 10, or LOGPAGER_PAGE_SIZE" in out
    if command == "serve":
        assert "(default: stdio," in out
        assert "HTTP port (default: 8000," in out


def test_top_level_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 done; 1 the work failed" in out


def test_demo_with_a_bad_query_is_one_line_and_status_2(capsys, loghub_archives):
    status = main(["demo", "--data-dir", str(loghub_archives), "message: *Failed password*"])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert err.rstrip().endswith('message: "*Failed password*"')


def test_search_piped_into_head_ends_cleanly(loghub_archives: Path) -> None:
    # A page far larger than a pipe's buffer, so the write meets the closed pipe for sure.
    command = (
        f"{sys.executable} -m logpager.cli search '*' --page-size 1000 "
        f"--data-dir {loghub_archives} | head -2"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "query: *"
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


@pytest.mark.parametrize(
    ("env", "args", "got"),
    [
        ({}, ["--page-size", "0"], "(got 0 from --page-size)"),
        ({"LOGPAGER_PAGE_SIZE": "0"}, [], "(got '0' from LOGPAGER_PAGE_SIZE)"),
        ({"LOGPAGER_PROFILE": "PROFILE"}, [], "(got 0 from profile PROFILE)"),
    ],
)
def test_a_bad_setting_names_its_source(
    capsys, loghub_archives, tmp_path, monkeypatch, env, args, got
):
    profile = tmp_path / "bad.toml"
    profile.write_text("page_size = 0\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("PROFILE", str(profile)))
    status = main(["search", "*", "--data-dir", str(loghub_archives), *args])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid settings: page_size: Input should be greater")
    assert got.replace("PROFILE", str(profile)) in err


def test_bad_profile_is_a_clear_error(capsys, tmp_path):
    status = main(["serve", "--profile", "no-such-profile", "--data-dir", str(tmp_path)])
    assert status == 2
    assert "unknown profile" in capsys.readouterr().err


def test_demo_ingests_searches_and_pages(capsys, tmp_path):
    assert main(["demo", "--data-dir", str(tmp_path), "message: *error*"]) == 0
    out = capsys.readouterr().out
    assert "matches: 947" in out
    assert "bytes per 1,000" in out


# --- serve as a real process: fail fast, stop cleanly ------------------------------------------

STARTUP_SECONDS = 60  # generous: the suite shares a small machine with other work


@pytest.mark.parametrize("transport", ["stdio", "http"])
@pytest.mark.parametrize("state", ["missing", "empty"])
def test_serve_without_archives_fails_fast(tmp_path: Path, transport: str, state: str) -> None:
    data = tmp_path / "data"
    if state == "empty":
        data.mkdir()
    port = str(free_port())
    run = run_serve(
        "--data-dir", str(data), "--transport", transport, "--port", port, timeout=STARTUP_SECONDS
    )
    status, lines, elapsed = run.status, run.lines, run.seconds
    assert status == 1
    assert len(lines) == 1, lines
    problem = "does not exist" if state == "missing" else "holds no archives"
    assert lines[0].startswith(f"error: Nothing to search: the data directory {data} {problem}.")
    # It says how to fix it: ingest into that directory, or serve the bundled samples.
    assert f"logpager ingest PATH... --data-dir {data}" in lines[0]
    assert "--samples" in lines[0]
    assert elapsed < 30


def test_serve_on_a_taken_port_fails_fast(loghub_archives: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = run_serve(
            "--data-dir",
            str(loghub_archives),
            "--transport",
            "http",
            "--port",
            str(port),
            timeout=STARTUP_SECONDS,
        )
        status, lines, elapsed = run.status, run.lines, run.seconds
    assert status == 1
    assert lines == [
        f"error: Cannot listen on 127.0.0.1:{port}: the address is already in use (is another "
        "server running there?). Stop it or choose another port with --port."
    ]
    assert elapsed < 30


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_http_server_stops_cleanly_on_signal(
    loghub_archives: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            serve_command(
                "--data-dir", str(loghub_archives), "--transport", "http", "--port", str(port)
            ),
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        await wait_for_port(port, lambda: proc.poll() is None, STARTUP_SECONDS)
        # A handshake-era client holds its session (and stream) open while the signal lands.
        async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as client:
            await client.call_tool("get_instructions", {})
            page = (await client.call_tool("search_by_kql", {"kql_query": "*sshd*"})).data
            assert page["num_total_items"] > 0
            status, elapsed = await _signal_and_wait(proc, signum)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = stderr_path.read_text()
    _assert_clean_exit(log, status, elapsed)
    # The lifespan ran to its end (the session sweep stopped) before the process exited.
    assert "Application shutdown complete" in log


async def _signal_and_wait(proc: subprocess.Popen[bytes], signum: int) -> tuple[int, float]:
    """:return: The server's exit status after ``signum``, and the seconds it took to exit."""
    began = time.monotonic()
    proc.send_signal(signum)
    status = await asyncio.to_thread(proc.wait, 30)
    return status, time.monotonic() - began


def _assert_clean_exit(log: str, status: int, elapsed: float) -> None:
    """A signalled server exits with status 0, promptly, and without a traceback."""
    assert status == 0, log
    assert elapsed < 10, log
    assert "Traceback" not in log


def _read_line(stream: IO[bytes]) -> bytes:
    return stream.readline()


async def test_stdio_server_from_samples_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # --samples fills an empty data directory first, so the no-archives check passes; the
    # client keeps stdin open, so only the signal can end the server.
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            serve_command("--samples", "--data-dir", str(tmp_path / "data")),
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        }
        proc.stdin.write(json.dumps(initialize).encode() + b"\n")
        proc.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(_read_line, proc.stdout), STARTUP_SECONDS)
        reply = json.loads(line)
        assert reply["id"] == 1
        assert reply["result"]["serverInfo"]["name"] == "logpager"
        status, elapsed = await _signal_and_wait(proc, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    log = stderr_path.read_text()
    _assert_clean_exit(log, status, elapsed)
    # It said what it served and the command a stdio client should run to get the same.
    data = tmp_path / "data"
    archives = len(list_archive_ids(data))
    assert f"Serving {archives} archive(s) in {data} (--data-dir) over stdio." in log
    assert f"`{sys.executable} -m logpager.cli serve --data-dir {data}`" in log


def test_a_bad_store_url_is_refused_before_serving(capsys, loghub_archives, monkeypatch):
    status = main(["serve", "--data-dir", str(loghub_archives), "--store", "postgres://db/1"])
    assert status == 2
    err = capsys.readouterr().err
    assert "store_url" in err
    assert "not a session store: use memory://, redis://HOST:PORT/DB" in err
    assert "--store" in err
    assert "Serving" not in err
    monkeypatch.setenv("LOGPAGER_STORE_URL", "redis://")
    assert main(["serve", "--data-dir", str(loghub_archives)]) == 2
    err = capsys.readouterr().err
    assert "names no host" in err
    assert "LOGPAGER_STORE_URL" in err
