"""The MCP tools list_fields and get_log_context: what the archives hold, and the events
around one hit."""

from __future__ import annotations

from fastmcp import FastMCP

from logpager.server.tools import Tools

__all__ = ["register"]


def register(mcp: FastMCP, tools: Tools) -> None:
    """
    Registers this module's tools on ``mcp``.

    :param mcp: The server.
    :param tools: The tools' behaviour (sessions, backend, access rules).
    """
