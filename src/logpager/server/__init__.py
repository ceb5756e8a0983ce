"""The MCP server: the clp-mcp-server tools, their sessions, and the process that serves them."""

from __future__ import annotations

from logpager.server.app import (
    INSTRUCTIONS,
    PAGE_INDEX_SCHEMA,
    SERVER_NAME,
    STATELESS_HANDLE_REQUIRED_TEXT,
    ServerStartupError,
    create_server,
    run_server,
    run_server_async,
)

__all__ = [
    "INSTRUCTIONS",
    "PAGE_INDEX_SCHEMA",
    "SERVER_NAME",
    "STATELESS_HANDLE_REQUIRED_TEXT",
    "ServerStartupError",
    "create_server",
    "run_server",
    "run_server_async",
]
