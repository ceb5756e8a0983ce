"""Settings of the MCP server: transport, HTTP address, accepted Host and Origin, and who may
call it over HTTP (bearer tokens from a file, or JWTs)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ServerFields"]


class ServerFields(BaseModel):
    """The MCP server's transport, its HTTP address checks and its HTTP authentication."""

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

    # uvicorn's access log costs ~5% of a page's CPU (one line to stderr per request,
    # measured with raw HTTP clients) and says nothing the metrics do not.
    access_log: bool = Field(
        False, description="HTTP: log every request (uvicorn's access log) on stderr."
    )
    # uvloop and httptools: 1.63 ms of server CPU per page against 1.76 with asyncio and h11
    # (8 alternating rounds, 8 clients; benchmarks/bench_workers.py, README); 'standard' is
    # there to compare against, or to rule them out.
    http_stack: Literal["auto", "standard"] = Field(
        "auto",
        description="HTTP: 'auto' runs on uvloop and httptools where they import; 'standard' "
        "on asyncio's own event loop and the pure-Python h11.",
    )
    # Off by default: a 2026-07-28 request answered as an event stream runs its handler beside
    # a watch for the client leaving (which cancels a search) and can carry progress
    # notifications and keep-alive pings; plain JSON skips that task group: 1.44 against 1.78
    # ms of server CPU per page (one process, 8 clients, 4 alternating rounds), 1.83 against
    # 1.91-2.04 with --workers 2 (benchmarks/bench_workers.py).
    json_response: bool = Field(
        False,
        description="HTTP: answer every request with plain JSON, never an event stream: less "
        "CPU per call, but no progress notifications during a search, no search cancelled "
        "when its client leaves, and no keep-alive pings while a long search runs.",
    )
    # One process serves pages on one core (one event loop, one GIL); more cores need more
    # processes, which must share sessions through a store (checked in Settings).
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="HTTP: server processes on the one port (more than 1 needs a Redis "
        "store_url; they serve stateless HTTP, see ARCHITECTURE.md).",
    )
    # Python's collector walks every object made at import (~128k) in each full collection:
    # one every ~1.2 s under paging load stopped everything for 83-100 ms, the p99 tail of a
    # page. Frozen after startup, those objects are never walked again: p99 at 8 clients went
    # from ~100 ms to 33 ms and 32-client throughput from 345 to 509 pages/s.
    gc_freeze: bool = Field(
        True,
        description="Move the objects made at startup out of the garbage collector's reach "
        "before serving.",
    )
    # Pages run in worker threads beside the event loop, and Python hands the GIL over every
    # 5 ms by default. One process, 8 raw-HTTP clients paging a 100,000-event result at random,
    # three alternating 6 s rounds (same run): p99 66-69 ms at 5 ms, 50-51 ms at 1 ms, 47 ms at
    # 0.5 ms, with 3-5% more pages/s and p50 within 2 ms; 20 ms gave 61 ms. Raising the
    # collector's thresholds instead changed nothing (its full collections were ~2 ms once the
    # startup heap was frozen). Since held pages are answered on the event loop
    # (page_on_event_loop), 5 ms measured a little better there (two runs of 4-5 alternating
    # 5 s rounds, 8 clients: p99 24.0 and 22.3 ms against 29.4 and 25.3, pages/s +2-7%); kept
    # at 0.5 ms for the pages that still run in threads (most with a session store).
    gil_switch_interval_seconds: float | None = Field(
        0.0005,
        gt=0,
        le=1,
        description="Interpreter thread switch interval while serving (None: Python's 5 ms).",
    )

    # A page this process holds is answered on the event loop, without a worker thread,
    # when the session lock is free and nothing needs the session store or a re-run
    # (server/page_on_loop.py); off, every page runs in a worker thread as a synchronous
    # tool does. One process, 8 raw-HTTP clients, 5 alternating rounds: 1.51 against 1.74 ms
    # of server CPU per page, 617 against 530 pages/s, p99 23.7 against 37.8 ms
    # (benchmarks/bench_workers.py, README "Pages under load"; p99 is noisy under other load).
    page_on_event_loop: bool = Field(
        True,
        description="Answer a page held in this process on the event loop when it needs no "
        "waiting (no session store, no re-run, the session lock free); off: every page in a "
        "worker thread.",
    )

    # --- auth: bearer tokens over HTTP (stdio has none: its client started the process).
    auth_tokens_file: Path | None = Field(
        None,
        description="HTTP: file of accepted bearer tokens, one 'PRINCIPAL TOKEN' pair a line "
        "('#' comments and blank lines ignored; tokens of 16 characters or more).",
    )
    auth_jwt_public_key_file: Path | None = Field(
        None, description="HTTP: PEM public key that verifies bearer JWTs."
    )
    auth_jwt_jwks_uri: str | None = Field(
        None, description="HTTP: JWKS URL whose keys verify bearer JWTs."
    )
    auth_jwt_issuer: str | None = Field(
        None, description="HTTP: the 'iss' a bearer JWT must carry (any if unset)."
    )
    auth_jwt_audience: str | None = Field(
        None, description="HTTP: the 'aud' a bearer JWT must carry (any if unset)."
    )
    auth_jwt_algorithm: str = Field(
        "RS256", min_length=1, description="HTTP: the signing algorithm bearer JWTs must use."
    )
    allow_unauthenticated: bool = Field(
        False,
        description="HTTP: serve a non-loopback address without authentication (only behind "
        "something else that authenticates clients).",
    )
    # --- metrics: stdio has no HTTP server of its own to carry GET /metrics and GET /health.
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="stdio: also serve GET /metrics and GET /health on this loopback port "
        "(127.0.0.1; 0 picks a free one; unset: none). Over HTTP they are on the MCP port.",
    )
