"""Running the MCP server as a process: fail fast at startup, listen, stop cleanly.

- **Fail fast.** :func:`check_data_dir` refuses a data directory without archives (every
  search would fail), and :func:`bind_http_sockets` binds the HTTP address before anything
  else starts, so a taken port is a one-line :class:`ServerStartupError` naming host and port,
  not a traceback from inside the ASGI server once everything else is up.
- **Stop cleanly.** SIGTERM and SIGINT end the process with exit status 0 after a graceful
  stop: a stop a supervisor (systemd, Docker, Kubernetes) or a person asked for is the
  server's normal end. uvicorn on its own re-raises the signal once it has stopped, so the
  process dies of it (status 143 for SIGTERM, a ``KeyboardInterrupt`` traceback for SIGINT);
  :class:`_HttpServer` keeps uvicorn's graceful stop and drops the re-raise. Over stdio the
  stop ends the server's input, as a client closing stdin does (MCP's own shutdown): the MCP
  stdio transport reads stdin in a worker thread that no cancellation can interrupt, so
  :func:`serve_stdio` feeds it through a pipe it can close. A second signal while stopping
  hurries: uvicorn stops waiting for open connections on a second SIGINT, and outside
  uvicorn's serving time the process exits at once with the conventional
  ``128 + signal number``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import logging
import os
import select
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import fastmcp
import uvicorn
from fastmcp import FastMCP
from fastmcp.server.http import StarletteWithLifespan

from logpager.errors import ServerStartupError
from logpager.search.datadir import ingest_hint, list_archive_ids

__all__ = [
    "STOP_SIGNALS",
    "bind_http_sockets",
    "bind_worker_sockets",
    "check_data_dir",
    "run_until_stopped",
    "serve_http",
    "serve_stdio",
]

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals that stop the server gracefully (exit status 0)."""

# uvicorn's own default; the kernel caps it at net.core.somaxconn anyway.
_LISTEN_BACKLOG = 2048
# A pipe's default capacity on Linux: one read fills it at most once.
_RELAY_CHUNK = 65_536
# How long a stop waits for the stdin relay thread; it is idle in select() unless the server
# has stopped reading, and then it is left behind (a daemon thread) rather than waited for.
_RELAY_JOIN_SECONDS = 1.0


def check_data_dir(data_dir: Path) -> None:
    """
    Refuses to serve a data directory that holds no archives.

    :param data_dir: The data directory the server would search.
    :raise ServerStartupError: If it is missing, not a directory, or has no archives; the
        message says how to ingest logs into it.
    """
    if list_archive_ids(data_dir):
        return
    if not data_dir.exists():
        problem = f"the data directory {data_dir} does not exist."
    elif not data_dir.is_dir():
        problem = f"the data directory {data_dir} is not a directory."
    else:
        problem = f"the data directory {data_dir} holds no archives."
    msg = (
        f"Nothing to search: {problem} {ingest_hint(data_dir)} "
        "Or add --samples to serve the bundled sample logs."
    )
    raise ServerStartupError(msg)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_worker_sockets(host: str, port: int, workers: int) -> list[list[socket.socket]]:
    """
    Binds one set of listening sockets per worker process, all on the same port with
    ``SO_REUSEPORT``: the kernel then spreads new connections over the workers evenly (by a
    hash of the client's address and port). One socket shared by all workers was the
    alternative: every idle worker wakes for each connection and whichever runs first
    accepts it, so the spread depends on scheduling rather than on the connections.

    The port is first bound without ``SO_REUSEPORT``, so that a port any other process
    listens on is refused as :func:`bind_http_sockets` refuses it, and a second logpager
    started on the same port does not silently share its connections with this one.

    :param host: Bind address or name (``""`` for every interface).
    :param port: TCP port; ``0`` picks a free one.
    :param workers: How many sets to bind.
    :return: One list of listening sockets per worker; the caller owns (and closes) them.
    :raise ServerStartupError: As :func:`bind_http_sockets`.
    """
    probe = bind_http_sockets(host, port)
    port = int(probe[0].getsockname()[1])
    for sock in probe:
        sock.close()
    sets: list[list[socket.socket]] = []
    try:
        for _ in range(workers):
            sets.append(bind_http_sockets(host, port, reuse_port=True))
    except BaseException:
        for sockets in sets:
            for sock in sockets:
                sock.close()
        raise
    return sets


def bind_http_sockets(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """
    Binds and listens on every address ``host`` resolves to, as uvicorn itself would.

    Binding here, before the server is built, turns a taken port into a clear error up front;
    the sockets are then handed to uvicorn, so no other process can take the port in between.

    :param host: Bind address or name (``""`` for every interface).
    :param port: TCP port; ``0`` picks a free one (shared by all the addresses).
    :param reuse_port: Set ``SO_REUSEPORT`` (see :func:`bind_worker_sockets`).
    :return: Listening sockets; the caller owns (and closes) them.
    :raise ServerStartupError: If the host does not resolve or an address cannot be bound;
        the message names host and port.
    """
    where = _address(host, port)
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        msg = f"Cannot serve HTTP on {where}: the host does not resolve ({exc.strerror})."
        raise ServerStartupError(msg) from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _canonical, resolved in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As asyncio does for servers: a restart must not wait out TIME_WAIT, and an IPv6
            # socket must not also claim the IPv4 port that its sibling binds.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            address = resolved
            if port == 0 and len(sockets) > 1:
                address = (resolved[0], sockets[0].getsockname()[1], *resolved[2:])
            sock.bind(address)
            # Listening now, not in uvicorn, also catches a port that another socket has bound
            # with SO_REUSEADDR (bind succeeds then; listen does not).
            sock.listen(_LISTEN_BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = (
                "the address is already in use (is another server running there?). Stop it "
                "or choose another port with --port."
            )
        else:
            reason = f"{exc.strerror or exc}."
        msg = f"Cannot listen on {where}: {reason}"
        raise ServerStartupError(msg) from exc
    return sockets


class _HttpServer(uvicorn.Server):
    """uvicorn's server with its graceful stop on SIGTERM/SIGINT, minus the re-raise after."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """
        Routes the stop signals to uvicorn's graceful stop while serving, then restores the
        previous handlers without re-raising the signal (see the module docstring).

        :return: A context manager for the serving time.
        """
        if threading.current_thread() is not threading.main_thread():
            # Signals reach only the main thread; an embedding application handles them.
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def serve_http(
    app: StarletteWithLifespan,
    sockets: list[socket.socket],
    *,
    host: str,
    shutdown_grace_seconds: int,
    access_log: bool = False,
    http: str | type[asyncio.Protocol] = "h11",
) -> None:
    """
    Serves an ASGI app on listening sockets until a stop signal or cancellation.

    :param app: The ASGI app (its lifespan runs inside the serving time).
    :param sockets: Listening sockets from :func:`bind_http_sockets`; closed on return.
    :param host: The configured host, for the log line.
    :param shutdown_grace_seconds: Time open requests get to finish once a stop is asked.
    :param access_log: Log every request (uvicorn's access log).
    :param http: uvicorn's HTTP protocol (``h11``, or a protocol class, see
        :meth:`logpager.server.httpstack.HttpStack.protocol`); the event loop is the one this
        runs in.
    """
    try:
        port = int(sockets[0].getsockname()[1])
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            # The MCP endpoint has no WebSocket route; not loading a WebSocket stack keeps
            # its import (and its deprecation warnings) out of the process.
            ws="none",
            http=http,
            timeout_graceful_shutdown=shutdown_grace_seconds,
            log_level=fastmcp.settings.log_level.lower(),
            access_log=access_log,
            log_config=_log_config(),
        )
        server = _HttpServer(config)
        path = str(getattr(app.state, "path", ""))
        logger.info("Serving MCP over streamable HTTP on http://%s%s", _address(host, port), path)
        await server.serve(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


def _log_config() -> dict[str, Any]:
    """:return: uvicorn's logging config with its access log on stderr, beside its other lines
    (its own sends it to stdout)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _relay(source: int, sink: int, wake: int) -> None:
    """Copies ``source`` to ``sink`` until EOF or a byte on ``wake``; then closes ``sink``."""
    try:
        while True:
            ready, _, _ = select.select([source, wake], [], [])
            if wake in ready:
                return
            data = os.read(source, _RELAY_CHUNK)
            if not data:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(sink, view) :]
    except OSError:
        # The reading side went away (the server ended on its own): nothing left to relay.
        return
    finally:
        os.close(sink)
        os.close(wake)


@contextlib.contextmanager
def _closable_stdin() -> Iterator[Callable[[], None]]:
    """
    Puts a pipe in place of fd 0, fed from the real stdin by a relay thread.

    :return: A context manager yielding a function that ends the input: the server then
        reads EOF, as when the client closes stdin. Without a usable fd 0 the function does
        nothing.
    """
    try:
        real_stdin = os.dup(0)
    except OSError:
        yield lambda: None
        return
    read_end, write_end = os.pipe()
    wake_read, wake_write = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    relay = threading.Thread(
        target=_relay, args=(real_stdin, write_end, wake_read), name="stdin-relay", daemon=True
    )
    relay.start()

    def end_input() -> None:
        with contextlib.suppress(OSError):
            os.write(wake_write, b"\0")

    try:
        yield end_input
    finally:
        end_input()
        relay.join(_RELAY_JOIN_SECONDS)
        os.dup2(real_stdin, 0)
        if not relay.is_alive():
            # A relay stuck in write() still owns these; leave them open rather than let it
            # touch a recycled descriptor.
            os.close(real_stdin)
            os.close(wake_write)


async def serve_stdio(server: FastMCP) -> None:
    """
    Serves ``server`` over stdin/stdout until the input ends or this is cancelled.

    Cancellation (a stop signal, see :func:`run_until_stopped`) ends the input and waits for
    the server to finish as on a client's EOF, lifespan cleanup included.

    :param server: The server to run.
    :raise asyncio.CancelledError: When cancelled, once the server has finished.
    """
    with _closable_stdin() as end_input:
        serving = asyncio.create_task(server.run_stdio_async(show_banner=False))
        try:
            # Shielded: cancelling the caller must not cancel the server task, whose stdin
            # reader thread would hold the cancellation up until the client's next line.
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            end_input()
            await serving
            raise


class _Stopper:
    """Turns the first stop signal outside uvicorn's serving time into a clean cancellation."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        """
        Signal handler: cancels the main task once; a second signal ends the process at once.

        :param signum: The signal received.
        :param _frame: Unused.
        """
        if self.signal is not None:
            os.write(2, f"{signal.Signals(signum).name} again: exiting now.\n".encode())
            os._exit(128 + signum)
        self.signal = signum
        logger.info("%s received: stopping.", signal.Signals(signum).name)
        if self._task is not None and self._loop is not None:
            # As asyncio.Runner does for SIGINT: cancel, then wake the loop's selector.
            self._task.cancel()
            self._loop.call_soon_threadsafe(lambda: None)

    async def run(self, main: Coroutine[Any, Any, None]) -> None:
        """
        :param main: What to run until it returns or a stop signal arrives.
        :raise asyncio.CancelledError: If cancelled for any reason other than a stop signal.
        """
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        if self.signal is not None:  # stopped before the loop was up
            main.close()
            return
        try:
            await main
        except asyncio.CancelledError:
            if self.signal is None or self._task is None:
                raise
            self._task.uncancel()


def run_until_stopped(
    main: Coroutine[Any, Any, None],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """
    Runs ``main`` in a new event loop; SIGTERM or SIGINT stop it cleanly.

    While uvicorn serves, it handles the signals itself (graceful stop, see
    :class:`_HttpServer`); at any other time (stdio, startup) the signal cancels ``main``.
    Either way this returns normally, so the process exits 0.

    :param main: The coroutine to run (e.g. ``run_server_async(settings)``).
    :param loop_factory: What makes the event loop (None: asyncio's default), e.g.
        ``uvloop.new_event_loop`` (see :mod:`logpager.server.httpstack`).
    """
    if threading.current_thread() is not threading.main_thread():
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main)
        return
    stopper = _Stopper()
    # Installed before the runner starts, so it does not install its own SIGINT handler,
    # which would end in a KeyboardInterrupt traceback.
    previous = {sig: signal.signal(sig, stopper.handle) for sig in STOP_SIGNALS}
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(stopper.run(main))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
