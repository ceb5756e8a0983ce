"""How the tools describe themselves to clients beyond their schemas (MCP tool annotations)."""

from __future__ import annotations

from mcp_types import ToolAnnotations

__all__ = ["READ_ONLY"]

READ_ONLY = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=False, openWorldHint=False
)
"""Every logpager tool reads logs and cached results; none changes the archives."""
