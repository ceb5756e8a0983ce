"""Binding the HTTP address and checking the data directory, before any server is built."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import anyio
import pytest

from logpager.errors import ServerStartupError
from logpager.server import client_gone
from logpager.server.process import bind_http_sockets, check_data_dir


def test_port_zero_is_one_port_on_every_address() -> None:
    sockets = bind_http_sockets("localhost", 0)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(ports) == 1
        assert ports != {0}
        # Listening already: a client connects before any server runs.
        with socket.create_connection(("localhost", ports.pop()), timeout=5):
            pass
    finally:
        for s in sockets:
            s.close()


def test_taken_port_names_host_and_port() -> None:
    first = bind_http_sockets("127.0.0.1", 0)
    port = first[0].getsockname()[1]
    try:
        with pytest.raises(ServerStartupError, match=rf"^Cannot listen on 127\.0\.0\.1:{port}: "):
            bind_http_sockets("127.0.0.1", port)
    finally:
        for s in first:
            s.close()
    # Freed, the same port binds again at once (SO_REUSEADDR, as a restart needs).
    for s in bind_http_sockets("127.0.0.1", port):
        s.close()


def test_unresolvable_host_is_a_startup_error() -> None:
    with pytest.raises(ServerStartupError, match=r"no-such-host\.invalid:8000: the host does"):
        bind_http_sockets("no-such-host.invalid", 8000)


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "not-a-dir"
    path.write_text("x")
    with pytest.raises(ServerStartupError, match="is not a directory"):
        check_data_dir(path)


def test_a_client_gone_mid_request_is_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    # What the MCP SDK logs when a client ends its session while its POST is handled.
    client_gone.install()
    client_gone.install()  # idempotent
    sdk = logging.getLogger("mcp.server.streamable_http")
    assert sum(isinstance(f, client_gone.ClientGoneFilter) for f in sdk.filters) == 1
    with caplog.at_level(logging.INFO, logger="mcp.server.streamable_http"):
        try:
            raise anyio.ClosedResourceError
        except anyio.ClosedResourceError:
            sdk.exception("Error handling POST request")
        try:
            raise ValueError("a real failure")
        except ValueError:
            sdk.exception("Error handling POST request")
    gone, real = caplog.records[-2:]
    assert (gone.levelname, gone.exc_info) == ("INFO", None)
    assert "client went away" in gone.getMessage()
    assert real.levelname == "ERROR"
    assert real.exc_info is not None


def test_uvicorn_refusing_the_answer_to_a_gone_client_is_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The SDK then answers the request with an error; uvicorn refuses it (the response
    # completed when the client left) and logs the RuntimeError, the closed stream in its chain.
    client_gone.install()
    server = logging.getLogger("uvicorn.error")
    assert sum(isinstance(f, client_gone.ClientGoneFilter) for f in server.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        try:
            try:
                raise anyio.ClosedResourceError
            except anyio.ClosedResourceError:
                raise RuntimeError("Unexpected ASGI message 'http.response.start' sent")  # noqa: B904
        except RuntimeError:
            server.exception("Exception in ASGI application")
        try:
            raise RuntimeError("a real failure")
        except RuntimeError:
            server.exception("Exception in ASGI application")
    gone, real = caplog.records[-2:]
    assert (gone.levelname, gone.exc_info) == ("INFO", None)
    assert "client went away" in gone.getMessage()
    assert real.levelname == "ERROR"
    assert real.exc_info is not None
