"""A client that goes away mid-request is a normal event, not an error with a traceback.

When an HTTP client disconnects (or ends its session) while one of its POSTs is still being
handled, the MCP SDK's streamable-HTTP transport logs "Error handling POST request" with an
``anyio.ClosedResourceError`` traceback: it tried to hand the message to a stream that the
session's end had already closed. Nothing failed on the server's side (the search itself is
cancelled and its ``clp-s`` reaped, see ``server/admission.py``), so the record is replaced by
one INFO line.
"""

from __future__ import annotations

import logging

import anyio

__all__ = ["ClientGoneFilter", "install"]

_SDK_LOGGER = "mcp.server.streamable_http"


class ClientGoneFilter(logging.Filter):
    """Turns the SDK's traceback for a request whose client went away into an INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """
        :param record: A record of the SDK's streamable-HTTP logger.
        :return: Whether to keep it (a client-gone record is rewritten, then kept).
        """
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "client went away during a request; nothing to answer", ()
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Adds the filter to the SDK's logger (idempotent)."""
    sdk = logging.getLogger(_SDK_LOGGER)
    if not any(isinstance(f, ClientGoneFilter) for f in sdk.filters):
        sdk.addFilter(ClientGoneFilter())
