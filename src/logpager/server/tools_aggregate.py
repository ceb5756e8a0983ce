"""The MCP tools aggregate_results and filter_result: counts over a whole cached result,
and a new result holding the events of one that match."""

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
