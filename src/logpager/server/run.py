"""Running the MCP server over stdio or streamable HTTP until it is stopped."""

from __future__ import annotations

from fastmcp import FastMCP

from logpager.memory.allocators import configure_allocators
from logpager.server.app import create_server
from logpager.server.process import (
    bind_http_sockets,
    check_data_dir,
    run_until_stopped,
    serve_http,
    serve_stdio,
)
from logpager.settings import Settings

__all__ = ["run_server", "run_server_async"]


async def run_server_async(settings: Settings, *, server: FastMCP | None = None) -> None:
    """
    Serves over ``settings.transport`` until cancelled, or until the input ends (stdio) or a
    stop signal arrives (HTTP); cancellation stops gracefully over stdio.

    Fails fast, before the server is built: the data directory must hold archives and, over
    HTTP, the address is bound first.

    :param settings: Settings; over HTTP, ``host`` (127.0.0.1 by default), ``port``,
        ``allowed_hosts``, ``allowed_origins`` and ``shutdown_grace_seconds``.
    :param server: The server to run (default: ``create_server(settings)``).
    :raise ServerStartupError: If the data directory holds no archives, or the HTTP address
        cannot be bound; the message is one line meant for a person.
    """
    check_data_dir(settings.data_dir)
    configure_allocators(settings)
    if settings.transport == "stdio":
        await serve_stdio(server if server is not None else create_server(settings))
        return
    sockets = bind_http_sockets(settings.host, settings.port)
    try:
        server = server if server is not None else create_server(settings)
        app = server.http_app(
            transport="http",
            # Handshake-era sessions are keyed by Mcp-Session-Id; stateless HTTP would drop it.
            stateless_http=False,
            # Validate Host and Origin on every request (DNS rebinding), whatever the bind
            # address; FastMCP's default leaves it off.
            host_origin_protection=True,
            allowed_hosts=list(settings.allowed_hosts),
            allowed_origins=list(settings.allowed_origins),
        )
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    # uvicorn is run here rather than through FastMCP's run_http_async so that its server
    # object is ours: its graceful stop on SIGTERM/SIGINT ends with exit status 0 (see
    # logpager.server.process). The app's own lifespan runs the server's lifespan.
    await serve_http(
        app,
        sockets,
        host=settings.host,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )


def run_server(settings: Settings, *, server: FastMCP | None = None) -> None:
    """
    Serves over ``settings.transport`` (``stdio`` or streamable ``http``) until stopped.

    SIGTERM and SIGINT stop it gracefully and this returns normally (exit status 0); see
    :mod:`logpager.server.process`.

    :param settings: Settings.
    :param server: The server to run (default: ``create_server(settings)``).
    :raise ServerStartupError: As :func:`run_server_async`, before anything is served.
    """
    run_until_stopped(run_server_async(settings, server=server))
