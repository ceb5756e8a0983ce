"""A client that goes away mid-request is a normal event, not an error with a traceback.

When an HTTP client disconnects (or ends its session) while one of its POSTs is still being
handled, the MCP SDK's streamable-HTTP transport logs "Error handling POST request" with an
``anyio.ClosedResourceError`` traceback: it tried to hand the message to a stream that the
session's end had already closed. It then answers the request with an error, which uvicorn
refuses (the response already completed when the client left) and logs as "Exception in ASGI
application", the ``ClosedResourceError`` in the chain. Nothing failed on the server's side
(the search itself is cancelled and its ``clp-s`` reaped, see ``server/admission.py``), so
each such record is replaced by one INFO line.
"""

from __future__ import annotations

import logging

import anyio

__all__ = ["ClientGoneFilter", "install"]

_LOGGERS = ("mcp.server.streamable_http", "uvicorn.error")
_GONE = (anyio.ClosedResourceError, anyio.BrokenResourceError)


def _client_gone(exc: BaseException | None) -> bool:
    """:return: Whether ``exc`` is, or was raised while handling, a closed stream's error."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _GONE):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class ClientGoneFilter(logging.Filter):
    """Turns the traceback of a request whose client went away into an INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """
        :param record: A record of the SDK's streamable-HTTP logger or uvicorn's error logger.
        :return: Whether to keep it (a client-gone record is rewritten, then kept).
        """
        exc = record.exc_info[1] if record.exc_info else None
        if _client_gone(exc):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "client went away during a request; nothing to answer", ()
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Adds the filter to the SDK's and uvicorn's error loggers (idempotent)."""
    for name in _LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, ClientGoneFilter) for f in target.filters):
            target.addFilter(ClientGoneFilter())
