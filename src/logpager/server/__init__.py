"""The MCP server: the clp-mcp-server tools, their sessions, and the process that serves them."""

from __future__ import annotations

from logpager.errors import ServerStartupError
from logpager.server.app import PAGE_INDEX_SCHEMA, SERVER_NAME, create_server
from logpager.server.instructions import INSTRUCTIONS
from logpager.server.run import run_server, run_server_async

__all__ = [
    "INSTRUCTIONS",
    "PAGE_INDEX_SCHEMA",
    "SERVER_NAME",
    "ServerStartupError",
    "create_server",
    "run_server",
    "run_server_async",
]
