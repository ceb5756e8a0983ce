"""The MCP tool list_results: the caller's query history, to find a lost handle again.

Whose results are listed:

- with auth, every live session of the caller's principal (on all its connections);
- without auth, on a handshake-era connection, that connection's session;
- and, in either case, the session of ``result_handle`` when one is passed (checked like
  any handle: with auth only the principal's own; without auth a handle is a bearer
  capability, for its session's results too, as it already is for adding to that session).

A stateless connection without auth has no caller identity to list by: without a
``result_handle`` it gets an error that says to pass one.
"""

from __future__ import annotations

from typing import Any

from fastmcp import Context, FastMCP

from logpager.server.access import Caller
from logpager.server.annotations import READ_ONLY
from logpager.server.answers import answer
from logpager.server.tools import Tools

__all__ = ["NO_CALLER_IDENTITY", "list_caller_results", "register"]


NO_CALLER_IDENTITY = (
    "This connection carries no caller identity (stateless, without authentication), so "
    "there is no history to list by. Pass result_handle=<any result_handle of your "
    "session> to list that session's results."
)


def list_caller_results(tools: Tools, ctx: Context, result_handle: str | None) -> dict[str, Any]:
    """
    :param tools: The tools' behaviour (its session manager).
    :param ctx: The request context.
    :param result_handle: A handle whose session to list too, if any.
    :return: ``{"results": [...], "dropped": [...], "num_results", "num_dropped"}`` (see
        :meth:`~logpager.sessions.SessionManager.list_results`), or ``{"Error": ...}``.
    """
    manager = tools.manager

    def work() -> dict[str, Any]:
        caller = Caller.of(ctx)
        caller.check_instructions(manager, relies_on_state=result_handle is None)
        sessions: list[str] = []
        if caller.principal is not None:
            sessions += manager.session_ids_of(caller.principal)
        elif caller.connection is not None:
            sessions.append(caller.connection)
        if result_handle is not None:
            sessions.append(caller.owner_of(manager, result_handle))
        if caller.principal is None and caller.connection is None and result_handle is None:
            return {"Error": NO_CALLER_IDENTITY}
        return manager.list_results(sessions, manager.settings.list_results_max_entries)

    return answer(work, failure="in list_results", log=("list_results failed unexpectedly",))


def register(mcp: FastMCP, tools: Tools) -> None:
    """
    Registers this module's tools on ``mcp``.

    :param mcp: The server.
    :param tools: The tools' behaviour (sessions, backend, access rules).
    """

    @mcp.tool(annotations=READ_ONLY)
    def list_results(ctx: Context, result_handle: str | None = None) -> dict[str, Any]:
        """
        Lists your cached results, newest first: each live one (result_handle, query, time
        range, items kept, total matches, truncated, age in seconds, reused from an
        identical search or not), and those recently dropped with the reason (expired,
        replaced, evicted) and what to do. Use it to find a result_handle again.

        :param result_handle: Optional: list the results of this handle's session (needed on
            stateless connections without authentication, which carry no caller identity).
        """
        return list_caller_results(tools, ctx, result_handle)
