"""Which session a tool call belongs to, by the connection's protocol era.

- **Handshake era** (``initialize``; Claude Desktop via ``mcp-remote``, TypeScript SDK 1.x,
  ``fastmcp.Client(mode="legacy")``): ``ctx.session_id`` is stable for the connection (over
  HTTP it is the server-minted ``Mcp-Session-Id``), so it keys the session. A result handle is
  honoured only if it belongs to this connection's own session; anything else is refused as
  unknown, so a leaked handle cannot read another connection's results.
- **Stateless** (MCP 2026-07-28, FastMCP 4's default ``Client``): every request is its own
  connection and ``ctx.session_id`` is new on every call (over HTTP it may even be a
  client-chosen header, so it is never trusted). A search without a handle starts a new
  session with a random id; the ``result_handle`` returned with every page is the capability
  that finds it again (:meth:`SessionManager.session_for_handle`). Stateless sessions and
  handshake-era sessions live in separate key spaces: a stateless caller can never resolve a
  handle that belongs to a handshake-era connection.
"""

from __future__ import annotations

from fastmcp import Context
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from logpager.errors import LogpagerError, UnknownHandleError
from logpager.sessions import SessionManager, new_handle

__all__ = [
    "STATELESS_HANDLE_REQUIRED_TEXT",
    "connection_key",
    "is_stateless",
    "resolve_session_key",
]

STATELESS_HANDLE_REQUIRED_TEXT = (
    "This connection is stateless (MCP 2026-07-28): every call is a new session. Pass the "
    "result_handle returned by search_by_kql (or by a previous page) to get_nth_page."
)

# Session keys of the two eras never collide: a stateless caller cannot name a connection's
# session, and a client-chosen header cannot name a stateless one.
_CONNECTION_PREFIX = "conn:"
_STATELESS_PREFIX = "sl:"


def is_stateless(ctx: Context) -> bool:
    """
    :param ctx: The request context.
    :return: Whether the request came over a stateless connection (a protocol version of
        ``MODERN_PROTOCOL_VERSIONS``, MCP 2026-07-28) rather than a handshake-era one.
    """
    request = ctx.request_context
    return request is not None and request.protocol_version in MODERN_PROTOCOL_VERSIONS


def connection_key(ctx: Context) -> str:
    """
    :param ctx: The request context of a handshake-era connection.
    :return: The key of that connection's session.
    """
    return _CONNECTION_PREFIX + ctx.session_id


def resolve_session_key(
    manager: SessionManager, ctx: Context, handle: str | None, *, for_search: bool
) -> tuple[str, bool]:
    """
    :param manager: The session manager that knows which session owns a handle.
    :param ctx: The request context.
    :param handle: The handle the caller passed, if any.
    :param for_search: A search may start a new stateless session; paging may not.
    :return: The session key to use, and whether it names a new stateless session (not
        created yet, so that a failed search leaves no empty session behind).
    :raise LogpagerError: With the agent-facing text, if the handle cannot be used.
    """
    if not is_stateless(ctx):
        key = connection_key(ctx)
        if handle is not None and manager.session_for_handle(handle) != key:
            raise UnknownHandleError
        return key, False
    if handle is None:
        if not for_search:
            raise LogpagerError(STATELESS_HANDLE_REQUIRED_TEXT)
        return _STATELESS_PREFIX + new_handle(), True
    owner = manager.session_for_handle(handle)
    if owner is None or not owner.startswith(_STATELESS_PREFIX):
        raise UnknownHandleError
    return owner, False
