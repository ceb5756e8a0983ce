"""The MCP tools summarize_patterns and compare_patterns: a result grouped by log template,
and what changed between two results."""

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
