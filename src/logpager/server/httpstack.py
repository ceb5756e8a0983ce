"""The HTTP stack a server process runs on: its event loop and its HTTP/1.1 parser.

``uvloop`` (libuv's event loop) and ``httptools`` (llhttp's parser) are what uvicorn's
``auto`` would pick when they import; they are dependencies of logpager, so they import
wherever wheels exist for the platform. The choice is made here, once, and logged at
startup (``server/run.py``), rather than left to uvicorn: the event loop must exist before
uvicorn does (logpager runs the loop itself, see :mod:`logpager.server.process`), and a
person reading the log should not have to guess which parser served. The httptools protocol
is uvicorn's own with header values trimmed (see :meth:`HttpStack.protocol`).

The ``http_stack`` setting says ``auto`` (the fast pair where it imports, each falling back
on its own) or ``standard`` (asyncio's own loop and the pure-Python ``h11``: for comparison,
or to rule the fast stack out when chasing a bug).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["HttpStack", "choose_http_stack"]


@dataclass(frozen=True, slots=True)
class HttpStack:
    """
    An event loop and an HTTP parser for uvicorn.

    :param loop: ``uvloop`` or ``asyncio``.
    :param http: uvicorn's name of the parser: ``httptools`` or ``h11``.
    """

    loop: Literal["uvloop", "asyncio"]
    http: Literal["httptools", "h11"]

    def loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        """:return: What makes this stack's event loop (None: asyncio's default)."""
        if self.loop == "asyncio":
            return None
        import uvloop

        return uvloop.new_event_loop

    def protocol(self) -> str | type[asyncio.Protocol]:
        """:return: What uvicorn's ``http`` option takes for this parser: ``h11``, or the
        httptools protocol that trims header values (see :func:`_trimming_httptools`)."""
        return "h11" if self.http == "h11" else _trimming_httptools()


def _trimming_httptools() -> type[asyncio.Protocol]:
    """
    :return: uvicorn's httptools protocol with each header value's leading and trailing
        spaces and tabs removed, as RFC 9110 (5.5) has a field value parsed and as h11 does.
        llhttp hands the value over with its trailing whitespace: ``Mcp-Name: get_nth_page ``
        then failed the transport's check that the header matches the body's tool name
        (HTTP 400), which MCP's conformance suite requires servers to accept.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class TrimmingHttpToolsProtocol(HttpToolsProtocol):
        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value.strip(b" \t"))

    return TrimmingHttpToolsProtocol


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def choose_http_stack(setting: Literal["auto", "standard"]) -> HttpStack:
    """
    :param setting: The ``http_stack`` setting.
    :return: ``uvloop`` and ``httptools`` each where it imports (``auto``), else asyncio's own
        loop and ``h11``.
    """
    if setting == "standard":
        return HttpStack("asyncio", "h11")
    return HttpStack(
        "uvloop" if _importable("uvloop") else "asyncio",
        "httptools" if _importable("httptools") else "h11",
    )
