"""The MCP tools list_results: the caller's query history."""

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
