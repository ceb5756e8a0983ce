"""Who a tool call comes from, which session and result it may reach, and when the
instructions-first rule applies.

A caller is its authenticated principal (when auth is on) and, on a handshake-era connection,
that connection. Sessions are keyed so that neither can be forged:

- a handshake-era connection's session is ``conn:`` + its principal + ``ctx.session_id`` (over
  HTTP the server-minted ``Mcp-Session-Id``, which another principal cannot borrow);
- a search without a handle on a stateless connection (MCP 2026-07-28, where
  ``ctx.session_id`` is new on every call and may be a client-chosen header) starts a session
  under a random key; the ``result_handle`` of its result is the way back to it. A
  handshake-era HTTP request without ``Mcp-Session-Id`` is stateless too: a server with
  several worker processes serves stateless HTTP and mints none (see ``server/workers.py``).

A ``result_handle`` is a capability (192 random bits, compared in constant time): with auth
off it is a bearer secret, valid on any connection of either era (hosted connectors open a
connection per call and never echo ``Mcp-Session-Id``); with auth on it is valid only for the
principal whose search made it. Another principal's handle gets the same error as an unknown
one.

A ``get_nth_page`` without a handle pages the latest result of the connection (handshake
era), else the latest result of the principal (on any of its connections), else answers
with an error that says to pass ``result_handle``.

The instructions-first rule (``require_instructions``) holds where the server can honour it
without locking out a client that opens a connection per call (hosted connectors, MCP
Inspector's CLI mode):

- authenticated principal: until it has called ``get_instructions()`` on any connection,
  its searches and pages are refused;
- unauthenticated handshake-era connection: its first tool call is served whatever it is,
  except a ``get_nth_page`` without a handle (which has nothing to page on a new connection,
  and gets the reference's answer); from its second call on, searches and pages are refused
  until that connection has called ``get_instructions()``;
- stateless connection (MCP 2026-07-28) without auth: taken as met. Nothing can remember a
  call across its requests, and the same instructions reach the client with
  ``server/discover``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastmcp import Context
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from logpager.errors import (
    InstructionsRequiredError,
    NoResultError,
    SessionExpiredError,
    UnknownHandleError,
)
from logpager.server.principal import current_principal
from logpager.sessions import SessionManager, new_handle

__all__ = ["Caller", "is_stateless", "page_target", "search_target"]

# Key spaces that never meet: a connection's key is built from server-verified parts, a
# stateless search's from a fresh random handle.
_CONNECTION_PREFIX = "conn:"
_RESULT_PREFIX = "res:"
_SESSION_HEADER = "mcp-session-id"


def is_stateless(ctx: Context) -> bool:
    """
    :param ctx: The request context.
    :return: Whether the request came over a stateless connection rather than a session: a
        protocol version of ``MODERN_PROTOCOL_VERSIONS`` (MCP 2026-07-28), or a handshake-era
        HTTP request without ``Mcp-Session-Id``, which a server serving stateless HTTP
        (``serve --workers N``, N > 1) never mints, so that no two of its requests are
        known to be one connection's.
    """
    request = ctx.request_context
    if request is None:
        return False
    if request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return True
    # Over stdio there is no HTTP request: the connection is the process's one session.
    http = request.request
    return http is not None and _SESSION_HEADER not in http.headers


@dataclass(frozen=True, slots=True)
class Caller:
    """
    Who a tool call comes from.

    :param principal: The authenticated principal (None: auth is off, or stdio).
    :param connection: The session key of its handshake-era connection (None: stateless).
    """

    principal: str | None
    connection: str | None

    @classmethod
    def of(cls, ctx: Context) -> Caller:
        """
        :param ctx: The request context.
        :return: The caller of the current request.
        """
        principal = current_principal()
        if is_stateless(ctx):
            return cls(principal, None)
        # Length-prefixed, so no principal and session id can spell another pair's key.
        owner = principal or ""
        return cls(principal, f"{_CONNECTION_PREFIX}{len(owner)}:{owner}:{ctx.session_id}")

    def check_instructions(self, manager: SessionManager, *, relies_on_state: bool) -> None:
        """
        Applies the instructions-first rule (see the module docstring) and counts the call.

        :param manager: The session manager.
        :param relies_on_state: The call pages without a handle (nothing to page on a new
            connection, so never served as a connection's first call).
        :raise InstructionsRequiredError: If the rule refuses the call.
        """
        session = (
            manager.note_tool_call(self.connection, principal=self.principal)
            if self.connection is not None
            else None
        )
        if not manager.settings.require_instructions:
            return
        if self.principal is not None:
            if not manager.is_principal_instructed(self.principal):
                raise InstructionsRequiredError
            return
        if session is None or session.is_instructions_retrieved:
            return
        if relies_on_state or session.tool_calls > 1:
            raise InstructionsRequiredError

    def mark_instructed(self, manager: SessionManager) -> None:
        """:param manager: Records that this caller called ``get_instructions()``."""
        if self.connection is not None:
            manager.mark_instructions_retrieved(self.connection, principal=self.principal)
        elif self.principal is not None:
            manager.mark_principal_instructed(self.principal)

    def owner_of(self, manager: SessionManager, handle: str) -> str:
        """
        :param manager: The session manager.
        :param handle: A result handle the caller passed.
        :return: The key of the session that holds it.
        :raise UnknownHandleError: If no session does, or another principal's does.
        """
        owner = manager.session_for_handle(handle, principal=self.principal)
        if owner is None:
            raise UnknownHandleError
        return owner


def search_target(manager: SessionManager, caller: Caller, handle: str | None) -> str:
    """
    :param manager: The session manager.
    :param caller: Who searches.
    :param handle: A handle the caller passed to keep its results together, if any.
    :return: The key of the session the new result goes to (a new random one for a stateless
        search without a handle; created when the result is cached, so that a failed search
        leaves no empty session behind).
    :raise UnknownHandleError: If the handle is unknown or not the caller's.
    """
    if handle is not None:
        return caller.owner_of(manager, handle)
    if caller.connection is not None:
        return caller.connection
    return _RESULT_PREFIX + new_handle()


def page_target(
    manager: SessionManager, caller: Caller, handle: str | None
) -> tuple[str, str | None]:
    """
    :param manager: The session manager.
    :param caller: Who pages.
    :param handle: The handle the caller passed, if any.
    :return: The key of the session to page in, and the handle to page (None: its latest).
    :raise UnknownHandleError: If the handle is unknown or not the caller's.
    :raise SessionExpiredError: If the principal's latest result's session has expired.
    :raise NoResultError: If there is no handle and nothing to page by default.
    """
    if handle is not None:
        return caller.owner_of(manager, handle), handle
    if caller.connection is not None and manager.latest_handle_of(caller.connection):
        return caller.connection, None
    if caller.principal is not None:
        latest = manager.latest_handle_for(caller.principal)
        if latest is not None:
            owner = manager.session_for_handle(latest, principal=caller.principal)
            if owner is None:
                raise SessionExpiredError
            return owner, latest
    raise NoResultError
