"""``GET /health``: whether the server can search now, checked without running a search."""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from logpager.errors import StoreUnavailableError
from logpager.search import SearchBackend
from logpager.store import SessionStore

__all__ = ["HealthCheck", "health_problem"]


def health_problem(backend: SearchBackend, store: SessionStore | None = None) -> str | None:
    """
    Checks what a search needs, cheaply: the search engine's program (when the backend has
    one, as ``clp-s`` does) is still an executable file, the data directory lists at
    least one archive, and the session store (when there is one) answers.

    :param backend: The server's search backend.
    :param store: The session store, if the server shares one.
    :return: ``None`` when a search can run, else one line saying why not.
    """
    if store is not None:
        try:
            store.ping()
        except StoreUnavailableError as exc:
            return exc.headline
    program = getattr(backend, "clp_s", None)
    if isinstance(program, (str, Path)) and not os.access(program, os.X_OK):
        return f"the search engine {program} is missing or not executable"
    try:
        archives = backend.list_archives()
    except OSError as exc:
        where = f" {exc.filename!s}" if exc.filename else ""
        return f"cannot list the archives{where}: {exc.strerror or type(exc).__name__}"
    if not archives:
        folder = getattr(backend, "archives_dir", None)
        return f"no archives to search in {folder}" if folder is not None else "no archives"
    return None


class HealthCheck:
    """The ``GET /health`` endpoint over one search backend."""

    def __init__(self, backend: SearchBackend, store: SessionStore | None = None) -> None:
        """
        :param backend: The server's search backend.
        :param store: The session store, if the server shares one.
        """
        self.backend = backend
        self.store = store

    async def endpoint(self, _request: Request) -> PlainTextResponse:
        """
        :param _request: ``GET /health``.
        :return: ``OK`` (200) while a search can run, else 503 with the one-line reason.
        """
        # The store's ping is a network round trip: off the event loop.
        problem = await anyio.to_thread.run_sync(health_problem, self.backend, self.store)
        if problem is None:
            return PlainTextResponse("OK")
        return PlainTextResponse(f"unavailable: {problem}", status_code=503)
