"""Settings of the MCP server: transport, HTTP address, accepted Host and Origin."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ServerFields"]


class ServerFields(BaseModel):
    """The MCP server's transport and HTTP address checks."""

    transport: Literal["stdio", "http"] = Field("stdio", description="MCP transport.")
    host: str = Field("127.0.0.1", description="HTTP bind address.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra Origin values accepted over HTTP besides the loopback ones.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header values accepted over HTTP besides the loopback ones.",
    )
    # FastMCP's own default. Open streams get this long to finish after SIGTERM/SIGINT before
    # they are cut; longer would let one idle SSE stream hold up a supervisor's restart.
    shutdown_grace_seconds: int = Field(
        2, ge=0, le=300, description="HTTP: time open requests get to finish on shutdown."
    )
