"""Running the MCP server over stdio or streamable HTTP until it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import fastmcp
import uvicorn
from fastmcp import FastMCP
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from logpager.errors import ServerStartupError, SettingsError
from logpager.memory.allocators import configure_allocators
from logpager.search.datadir import list_archive_ids
from logpager.server import client_gone
from logpager.server.app import create_server
from logpager.server.auth import build_auth_provider
from logpager.server.gil import set_switch_interval
from logpager.server.heap import freeze_startup_heap
from logpager.server.httpstack import choose_http_stack
from logpager.server.process import (
    bind_http_sockets,
    bind_worker_sockets,
    check_data_dir,
    run_until_stopped,
    serve_http,
    serve_stdio,
)
from logpager.settings import Settings

__all__ = ["check_exposure", "is_loopback_host", "run_server", "run_server_async"]

logger = logging.getLogger(__name__)

METRICS_HOST = "127.0.0.1"
"""Where the stdio side port listens: loopback only, since it checks no token."""


def is_loopback_host(host: str) -> bool:
    """
    :param host: An HTTP bind address or name.
    :return: Whether only this machine can reach it: ``localhost``, 127.0.0.0/8 or ``::1``
        (an IPv4-mapped ``::ffff:127.x.y.z`` too). Any other name, and ``""`` or
        ``0.0.0.0`` (every interface), is not.
    """
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_exposure(host: str, *, authenticated: bool, allow_unauthenticated: bool) -> None:
    """
    Refuses to serve HTTP beyond loopback with nobody's token checked.

    :param host: The HTTP bind address.
    :param authenticated: Whether the server checks bearer tokens.
    :param allow_unauthenticated: ``allow_unauthenticated``: something in front of the server
        authenticates clients, so it may listen anywhere without auth.
    :raise ServerStartupError: If ``host`` is not loopback and neither is true; the one-line
        message says what to pass.
    """
    if authenticated or allow_unauthenticated or is_loopback_host(host):
        return
    msg = (
        f"Refusing to serve HTTP on {host or 'every interface'} without authentication: it is "
        "not a loopback address, so anyone who reaches it could search the logs. Pass "
        "--auth-tokens-file FILE, or --jwt-public-key FILE or --jwt-jwks-uri URL, to require "
        "bearer tokens; or --allow-unauthenticated if a proxy in front authenticates clients."
    )
    raise ServerStartupError(msg)


def _prepare_process(settings: Settings) -> None:
    """The process-wide knobs set before serving: allocators, log filters, thread switching."""
    configure_allocators(settings)
    client_gone.install()
    set_switch_interval(settings.gil_switch_interval_seconds)


async def run_server_async(
    settings: Settings,
    *,
    server: FastMCP | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """
    Serves over ``settings.transport`` until cancelled, or until the input ends (stdio) or a
    stop signal arrives (HTTP); cancellation stops gracefully over stdio.

    Fails fast, before the server is built: the data directory must hold archives and, over
    HTTP, a non-loopback address needs authentication (or ``allow_unauthenticated``), and the
    address is bound first.

    :param settings: Settings; over stdio, ``metrics_port``; over HTTP, ``host`` (127.0.0.1
        by default), ``port``, ``allowed_hosts``, ``allowed_origins``,
        ``shutdown_grace_seconds``, the ``auth_*`` settings and ``allow_unauthenticated``.
    :param server: The server to run (default: ``create_server(settings)``); over HTTP, its
        own ``auth`` is what the address check counts.
    :param sockets: HTTP: listening sockets already bound (a worker of
        :func:`run_server`'s ``workers``); default: bind ``host`` and ``port`` here.
    :raise ServerStartupError: If the data directory holds no archives, the HTTP address is
        not loopback and nothing checks tokens, or it (or the stdio metrics port) cannot be
        bound; the message is one line meant for a person.
    :raise SettingsError: If the ``auth_*`` settings cannot be used.
    """
    check_data_dir(settings.data_dir)
    _prepare_process(settings)
    if settings.transport == "stdio":
        _announce(settings, None)
        server = server if server is not None else create_server(settings)
        freeze_startup_heap(settings.gc_freeze)
        if settings.metrics_port is None:
            await serve_stdio(server)
        else:
            await _serve_stdio_with_side_port(server, settings)
        return
    auth = server.auth if server is not None else build_auth_provider(settings)
    check_exposure(
        settings.host,
        authenticated=auth is not None,
        allow_unauthenticated=settings.allow_unauthenticated,
    )
    if sockets is None:
        sockets = bind_http_sockets(settings.host, settings.port)
        _announce(settings, sockets[0].getsockname()[1])
    stack = choose_http_stack(settings.http_stack)
    try:
        server = server if server is not None else create_server(settings, auth=auth)
        app = server.http_app(
            transport="http",
            # One process: handshake-era sessions are keyed by Mcp-Session-Id, which lives in
            # this process. Several workers: stateless, so that any worker answers any
            # request (see logpager.server.workers).
            stateless_http=settings.workers > 1,
            json_response=settings.json_response,
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
    freeze_startup_heap(settings.gc_freeze)
    _log_stack(settings, stack.http)
    await serve_http(
        app,
        sockets,
        host=settings.host,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
        access_log=settings.access_log,
        http=stack.protocol(),
    )


def _log_stack(settings: Settings, http: str) -> None:
    """Logs the event loop this process runs on (the one running, whatever chose it) and the
    HTTP parser it serves with."""
    loop = type(asyncio.get_running_loop())
    logger.info(
        "HTTP stack: %s event loop (%s), %s HTTP parser (http_stack=%s); process %d",
        loop.__module__.split(".")[0],
        loop.__qualname__,
        http,
        settings.http_stack,
        os.getpid(),
    )


def _announce(settings: Settings, port: int | None) -> None:
    """
    Logs what is served and how a client connects (on stderr: stdout is the MCP stream over
    stdio). A stdio client starts the server itself, so it is given this command line.

    :param settings: The server's settings.
    :param port: The bound HTTP port; ``None`` over stdio.
    """
    archives = len(list_archive_ids(settings.data_dir))
    where = f"{archives} archive(s) in {settings.data_dir} ({settings.source_of('data_dir')})"
    if port is not None:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        logger.info("Serving %s at http://%s:%d/mcp", where, host, port)
        return
    program = Path(sys.argv[0]).resolve()
    # Run as `python -m logpager.cli`, argv[0] is the package's __main__.py: not a command.
    launcher = f"{sys.executable} -m logpager.cli" if program.name == "__main__.py" else program
    command = f"{launcher} serve --data-dir {settings.data_dir}"
    logger.info(
        "Serving %s over stdio. An MCP client starts the server itself: give it the command "
        "`%s` (Claude Code: claude mcp add logpager -- %s).",
        where,
        command,
        command,
    )


def run_server(settings: Settings, *, server: FastMCP | None = None) -> None:
    """
    Serves over ``settings.transport`` (``stdio`` or streamable ``http``) until stopped.

    SIGTERM and SIGINT stop it gracefully and this returns normally (exit status 0); see
    :mod:`logpager.server.process`.

    :param settings: Settings.
    :param server: The server to run (default: ``create_server(settings)``).
    :raise ServerStartupError: As :func:`run_server_async`, before anything is served; or
        ``workers`` > 1 with a ``server`` built already (each worker builds its own).
    :raise SettingsError: As :func:`run_server_async`.
    :raise WorkerFailedError: With ``workers`` > 1, if a worker ended on its own.
    """
    problem = settings.workers_problem()
    if problem is not None:  # settings made in code, not by load_settings
        raise SettingsError(f"invalid settings: {problem}")
    loop_factory = None
    if settings.transport == "http":
        loop_factory = choose_http_stack(settings.http_stack).loop_factory()
        if settings.workers > 1:
            if server is not None:
                msg = "workers > 1 builds one server per worker: pass no server object"
                raise ServerStartupError(msg)
            _run_workers(settings, loop_factory)
            return
    run_until_stopped(run_server_async(settings, server=server), loop_factory=loop_factory)


def _run_workers(
    settings: Settings, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
) -> None:
    """
    Runs ``settings.workers`` HTTP server processes on one port (see
    :mod:`logpager.server.workers`); what can fail at startup fails here, once, before any
    worker is forked.

    :param settings: Settings (``transport`` http, ``workers`` > 1, a Redis ``store_url``).
    :param loop_factory: The workers' event loop.
    :raise ServerStartupError: As :func:`run_server_async`.
    :raise WorkerFailedError: If a worker ended on its own.
    """
    from logpager.server.workers import supervise_workers

    if not hasattr(os, "fork") or not hasattr(socket, "SO_REUSEPORT"):
        msg = "workers > 1 needs fork() and SO_REUSEPORT (Linux, macOS): run one per port"
        raise ServerStartupError(msg)
    check_data_dir(settings.data_dir)
    check_exposure(
        settings.host,
        authenticated=build_auth_provider(settings) is not None,
        allow_unauthenticated=settings.allow_unauthenticated,
    )
    socket_sets = bind_worker_sockets(settings.host, settings.port, settings.workers)
    _announce(settings, socket_sets[0][0].getsockname()[1])
    logger.info(
        "Serving with %d worker processes sharing the session store; stateless HTTP (no "
        "Mcp-Session-Id), so any worker answers any request",
        settings.workers,
    )
    # Frozen before the fork: the workers share these pages and never walk these objects.
    freeze_startup_heap(settings.gc_freeze)

    def serve(_index: int, sockets: list[socket.socket]) -> None:
        run_until_stopped(run_server_async(settings, sockets=sockets), loop_factory=loop_factory)

    supervise_workers(socket_sets, serve)


class _SideServer(uvicorn.Server):
    """uvicorn for the stdio side port: the stop signals stay stdio's (see ``process``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """:return: A context manager that leaves the signal handlers alone."""
        yield


async def _serve_stdio_with_side_port(server: FastMCP, settings: Settings) -> None:
    """
    Serves ``server`` over stdio and, while it runs, its HTTP routes (``GET /metrics``,
    ``GET /health``) on ``settings.metrics_port`` of 127.0.0.1; the side port closes when
    stdio ends.

    :param server: The server.
    :param settings: ``metrics_port`` and ``allowed_hosts`` (the Host header is checked, as
        on the HTTP transport, against DNS rebinding).
    :raise ServerStartupError: If the port cannot be bound.
    """
    port = settings.metrics_port if settings.metrics_port is not None else 0
    sockets = bind_http_sockets(METRICS_HOST, port)
    hosts = ["127.0.0.1", "localhost", "[::1]", *settings.allowed_hosts]
    app = Starlette(
        # FastMCP's own list of a server's custom routes (what http_app mounts).
        routes=server._get_additional_http_routes(),
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
    )
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        # uvicorn's own logging config sends its access log to stdout, which is the MCP
        # stream here: no access log, and no logging config of its own (its loggers reach
        # the process's handlers, on stderr).
        access_log=False,
        log_config=None,
        log_level=fastmcp.settings.log_level.lower(),
    )
    side = _SideServer(config)
    bound = sockets[0].getsockname()[1]
    logger.info("Serving metrics on http://%s:%d/metrics", METRICS_HOST, bound)
    side_task = asyncio.create_task(side.serve(sockets=sockets))
    try:
        await serve_stdio(server)
    finally:
        side.should_exit = True
        with contextlib.suppress(Exception):
            await side_task
        for sock in sockets:
            sock.close()
