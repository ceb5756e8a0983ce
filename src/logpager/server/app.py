"""The MCP server: the clp-mcp-server tools over logpager's sessions, cache and backend.

Tools (names, parameters and page shape as y-scope's ``clp-mcp-server``, plus an optional
``result_handle``): ``get_instructions``, ``search_by_kql``,
``search_by_kql_with_timestamp_range``, ``get_nth_page``. All are read-only. A failure is
``{"Error": "<message>"}``, never a stack trace.

Which session a call belongs to depends on the connection's protocol era:

- **Handshake era** (``initialize``; Claude Desktop via ``mcp-remote``, TypeScript SDK 1.x,
  ``fastmcp.Client(mode="legacy")``): ``ctx.session_id`` is stable for the connection (over
  HTTP it is the server-minted ``Mcp-Session-Id``), so it keys the session. A result handle is
  honoured only if it belongs to this connection's own session; anything else is refused as
  unknown, so a leaked handle cannot read another connection's results.
- **Stateless** (MCP 2026-07-28, FastMCP 4's default ``Client``): every request is its own
  connection and ``ctx.session_id`` is new on every call (over HTTP it may even be a
  client-chosen header, so it is never trusted). A search without a handle starts a new
  session with a random id; the ``result_handle`` returned with every page is the capability
  that finds it again (:meth:`SessionManager.session_for_handle`). Stateless sessions and
  handshake-era sessions live in separate key spaces: a stateless caller can never resolve a
  handle that belongs to a handshake-era connection.

The instructions-first rule: on handshake-era connections ``get_instructions()`` must come
first, as in the reference (``settings.require_instructions``). A stateless connection has
no state that could remember the call, and the same instructions already reach the client in
the server's ``instructions`` (sent with ``server/discover``), so on stateless connections
the rule is taken as met: a new stateless session starts with instructions retrieved. The
rejected alternative, handing out a token from ``get_instructions()`` that searches must
carry, would change the reference's tool signatures that agents are prompted for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastmcp import Context, FastMCP
from mcp_types import ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import WithJsonSchema

from logpager.cache import PageDict
from logpager.errors import (
    INSTRUCTIONS_REQUIRED_TEXT,
    LogpagerError,
    UnknownHandleError,
)
from logpager.memory.allocators import configure_allocators, page_out_library_pages
from logpager.memory.governor import MemoryGovernor
from logpager.query import QuerySpec
from logpager.search import ClpSBackend, SearchBackend
from logpager.search.pipeline import search_and_cache_async
from logpager.search.rerun import make_rerunner
from logpager.server.process import (
    ServerStartupError,
    bind_http_sockets,
    check_data_dir,
    run_until_stopped,
    serve_http,
    serve_stdio,
)
from logpager.sessions import SessionManager, new_handle
from logpager.settings import Settings
from logpager.timeutil import parse_iso8601_ms

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

logger = logging.getLogger(__name__)

SERVER_NAME = "logpager"

STATELESS_HANDLE_REQUIRED_TEXT = (
    "This connection is stateless (MCP 2026-07-28): every call is a new session. Pass the "
    "result_handle returned by search_by_kql (or by a previous page) to get_nth_page."
)

# Session keys of the two eras never collide: a stateless caller cannot name a connection's
# session, and a client-chosen header cannot name a stateless one.
_CONNECTION_PREFIX = "conn:"
_STATELESS_PREFIX = "sl:"

INSTRUCTIONS = """\
logpager searches logs with KQL (Kibana Query Language, as the CLP engine clp-s accepts it)
and lets you page through large results.

Workflow
1. Call get_instructions() once, first (on handshake-era connections searching and paging
   are refused until you do).
2. search_by_kql(kql_query) or search_by_kql_with_timestamp_range(kql_query,
   begin_timestamp, end_timestamp) runs a search and returns its first page (page 0).
3. get_nth_page(page_index) returns further pages; page_index is a 0-based integer in
   0..num_total_pages-1 (an integer, not "3" or 3.0).

Pages and result handles
- A page is {"items", "num_total_pages", "num_total_items", "num_items_per_page",
  "has_next", "has_previous", "page_index", "num_total_matches", "truncated",
  "result_handle"}. Each item is one line: "timestamp: <ISO 8601>, message: <original
  event>, link: <link>". Results are ordered latest first.
- Only the latest matches are kept (num_total_items); num_total_matches counts all of them
  and truncated is true when some were dropped. Narrow the query or the time range then.
- Every search result has a result_handle. Pass it to get_nth_page(page_index,
  result_handle=...) to page through an earlier result of yours (several stay available),
  and always pass it when your client is stateless (MCP 2026-07-28): there every call is a
  new session and the handle is what finds your results. Passing it to a new search keeps
  that search in the same session. Handles are private: never share them.
- A failed search (bad query, timeout) leaves your previous results pageable.
- Errors come back as {"Error": "<message>"}; read the message, fix the call, try again.

KQL as clp-s accepts it
- Match a field: level: ERROR   (case-insensitive by default)
- Wildcards: * matches any run of characters, ? one character. A value without wildcards
  must match the whole field, so search inside text with *...*: message: *timeout*
- Quote values that contain spaces or special characters, and wildcard inside the quotes:
  message: "*authentication failure*"
- Search every field by leaving out the key: *PacketResponder*
- Combine with AND, OR, NOT. AND and OR have the SAME precedence and group left to right:
  a OR b AND c means (a OR b) AND c. Always use parentheses:
  level: ERROR AND (message: *disk* OR message: *memory*)
- Compare numbers: status >= 500, duration_ms > 1000
- Nested JSON keys use dots: http.request.method: POST
- Do not start a query with '-'; do not use the '|' pipe of other query languages.

Time ranges
- search_by_kql_with_timestamp_range takes ISO 8601 UTC timestamps with a trailing Z,
  milliseconds optional: 2015-07-29T17:00:00Z, 2015-07-29T17:41:44.747Z. Both bounds are
  inclusive and begin must not be after end.
- Events without a timestamp are not found by a time-range search.

Fields in the data
- Plain-text logs are ingested as {"timestamp": <epoch ms>, "message": "<the line(s)>"}:
  search their text with message: *...*. A multi-line event (a stack trace) is one message.
- JSON logs keep their own keys (for example level, service, message): query them by name.
- The bundled samples are Loghub's Apache, HDFS, Linux (syslog), OpenSSH and Zookeeper
  logs, for example: message: "*Failed password*", *PacketResponder*,
  message: *error* AND message: *mod_jk*.
"""

PAGE_INDEX_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0}
"""The input schema ``get_nth_page`` advertises for ``page_index``."""

# The schema tells the agent what a page index is, but the value reaches the tool as received
# and is checked there (``cache.validate_page_index``), so True, "3", 3.0 or -1 come back as
# the reference's page dict "Invalid page index. Valid range: 0-N", which names N. The
# rejected alternative, ``Annotated[int, Field(ge=0, strict=True)]``, had FastMCP refuse them
# first with a protocol-level validation failure that neither matches the reference nor tells
# the agent the valid range.
_PageIndex = Annotated[object, WithJsonSchema(PAGE_INDEX_SCHEMA)]

_READ_ONLY = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=False, openWorldHint=False
)


def _is_stateless(ctx: Context) -> bool:
    request = ctx.request_context
    return request is not None and request.protocol_version in MODERN_PROTOCOL_VERSIONS


def _no_limit() -> int | None:
    return None


def _error(message: str) -> PageDict:
    return {"Error": message}


class _Tools:
    """The tools' behaviour, apart from their MCP registration (so it reads top to bottom)."""

    def __init__(
        self, manager: SessionManager, backend: SearchBackend, governor: MemoryGovernor | None
    ) -> None:
        # The manager's settings rule the cache (they may differ from the server's when a
        # manager is passed in); the backend keeps its own for the engine.
        self.manager = manager
        self.backend = backend
        self.governor = governor

    # --- sessions -----------------------------------------------------------------------------

    def _connection_key(self, ctx: Context) -> str:
        return _CONNECTION_PREFIX + ctx.session_id

    def _resolve(self, ctx: Context, handle: str | None, *, for_search: bool) -> tuple[str, bool]:
        """
        :param ctx: The request context.
        :param handle: The handle the caller passed, if any.
        :param for_search: A search may start a new stateless session; paging may not.
        :return: The session key to use, and whether it names a new stateless session (not
            created yet, so that a failed search leaves no empty session behind).
        :raise LogpagerError: With the agent-facing text, if the handle cannot be used.
        """
        if not _is_stateless(ctx):
            key = self._connection_key(ctx)
            if handle is not None and self.manager.session_for_handle(handle) != key:
                raise UnknownHandleError
            return key, False
        if handle is None:
            if not for_search:
                raise LogpagerError(STATELESS_HANDLE_REQUIRED_TEXT)
            return _STATELESS_PREFIX + new_handle(), True
        owner = self.manager.session_for_handle(handle)
        if owner is None or not owner.startswith(_STATELESS_PREFIX):
            raise UnknownHandleError
        return owner, False

    # --- tools ---------------------------------------------------------------------------------

    def get_instructions(self, ctx: Context) -> str:
        if not _is_stateless(ctx):
            self.manager.mark_instructions_retrieved(self._connection_key(ctx))
        return INSTRUCTIONS

    async def search(
        self,
        ctx: Context,
        kql_query: str,
        begin_timestamp: str | None,
        end_timestamp: str | None,
        result_handle: str | None,
    ) -> PageDict:
        try:
            key, new_session = self._resolve(ctx, result_handle, for_search=True)
            if (
                not new_session
                and self.manager.settings.require_instructions
                and not self.manager.get_or_create_session(key).is_instructions_retrieved
            ):
                # Checked before the search runs, not only when caching: no wasted engine work.
                return _error(INSTRUCTIONS_REQUIRED_TEXT)
            spec = QuerySpec(
                kql_query,
                parse_iso8601_ms(begin_timestamp) if begin_timestamp is not None else None,
                parse_iso8601_ms(end_timestamp) if end_timestamp is not None else None,
                max_results=self.manager.max_cached_results,
            )
            # The search and the build overlap (see logpager.search.pipeline); neither blocks
            # the event loop.
            result, _outcome = await search_and_cache_async(
                self.backend,
                spec,
                settings=self.manager.settings,
                max_compressed_bytes=(
                    self.governor.max_result_bytes() if self.governor is not None else None
                ),
                clock=self.manager.now,
            )
            if result.truncated and self.governor is not None:
                self.governor.note_result(result)
            if new_session:
                # The rule is met through server/discover instructions (see the module doc).
                self.manager.mark_instructions_retrieved(key)
            # The result carries its spec and match count; the manager only files it.
            page, _ = self.manager.cache_query_result(key, kql_query, result)
            return page
        except LogpagerError as exc:
            return _error(str(exc))
        except Exception as exc:
            logger.exception("search_by_kql failed unexpectedly (query %r)", kql_query)
            return _error(f"Internal error while searching ({type(exc).__name__}).")

    def get_nth_page(self, ctx: Context, page_index: object, result_handle: str | None) -> PageDict:
        # page_index is checked by the session manager once the result is known, so that the
        # error names the valid range.
        try:
            key, _ = self._resolve(ctx, result_handle, for_search=False)
            return self.manager.get_nth_page(key, page_index, result_handle)
        except LogpagerError as exc:
            return _error(str(exc))
        except Exception as exc:
            logger.exception("get_nth_page failed unexpectedly")
            return _error(f"Internal error while paging ({type(exc).__name__}).")


def create_server(
    settings: Settings,
    *,
    manager: SessionManager | None = None,
    backend: SearchBackend | None = None,
    governor: MemoryGovernor | None = None,
) -> FastMCP:
    """
    Builds the MCP server.

    :param settings: Settings (cache, search engine, server).
    :param manager: The session manager (default: a new one from ``settings``).
    :param backend: The search engine (default: ``clp-s`` over ``settings.data_dir``).
    :param governor: The memory governor of ``manager`` (default: a new one when the manager
        is made here; a manager passed in is governed only if its governor is passed too).
    :return: A FastMCP server with the four tools; its lifespan runs the session sweep.
    """
    backend = backend if backend is not None else ClpSBackend(settings)
    if manager is None:
        manager = SessionManager(settings=settings)
        if governor is None:
            governor = MemoryGovernor(manager)
    if manager.rerun is None:
        manager.rerun = make_rerunner(
            backend,
            manager.settings,
            max_result_bytes=governor.max_result_bytes if governor is not None else _no_limit,
            clock=manager.now,
        )
    tools = _Tools(manager, backend, governor)

    @asynccontextmanager
    async def lifespan(_server: FastMCP) -> AsyncIterator[None]:
        if settings.page_out_library_pages:
            # Everything is imported and started by now: only pages in use come back.
            page_out_library_pages()
        await tools.manager.start()
        if tools.governor is not None:
            await tools.governor.start()
        try:
            yield
        finally:
            if tools.governor is not None:
                await tools.governor.stop()
                logger.info("memory metrics: %s", json.dumps(tools.governor.snapshot()))
            await tools.manager.stop()

    mcp: FastMCP = FastMCP(
        SERVER_NAME, instructions=INSTRUCTIONS, lifespan=lifespan, mask_error_details=True
    )

    @mcp.tool(annotations=_READ_ONLY)
    def get_instructions(ctx: Context) -> str:
        """
        Returns how to use this server: the KQL syntax it accepts, time ranges, fields, and
        how to page through results. Call it first, once.
        """
        return tools.get_instructions(ctx)

    @mcp.tool(annotations=_READ_ONLY)
    async def search_by_kql(
        kql_query: str, ctx: Context, result_handle: str | None = None
    ) -> dict[str, Any]:
        """
        Searches the logs with a KQL query and returns the first page of results, latest
        first, with a result_handle for get_nth_page.

        :param kql_query: KQL, e.g. message: "*connection refused*" AND level: ERROR.
        :param result_handle: A handle from an earlier result, to search in the same session
            (needed on stateless connections to keep your results together).
        """
        return await tools.search(ctx, kql_query, None, None, result_handle)

    @mcp.tool(annotations=_READ_ONLY)
    async def search_by_kql_with_timestamp_range(
        kql_query: str,
        begin_timestamp: str,
        end_timestamp: str,
        ctx: Context,
        result_handle: str | None = None,
    ) -> dict[str, Any]:
        """
        Searches the logs with a KQL query within a time range (both ends inclusive) and
        returns the first page of results, latest first, with a result_handle.

        :param kql_query: KQL.
        :param begin_timestamp: ISO 8601 UTC with a trailing Z, e.g. 2024-01-31T00:00:00.000Z.
        :param end_timestamp: ISO 8601 UTC with a trailing Z, not before begin_timestamp.
        :param result_handle: A handle from an earlier result, to search in the same session.
        """
        return await tools.search(ctx, kql_query, begin_timestamp, end_timestamp, result_handle)

    @mcp.tool(annotations=_READ_ONLY)
    def get_nth_page(
        page_index: _PageIndex,
        ctx: Context,
        result_handle: str | None = None,
    ) -> dict[str, Any]:
        """
        Returns page page_index (0-based) of a search result.

        :param page_index: An integer in 0..num_total_pages-1.
        :param result_handle: The handle returned with the search (default: your latest
            result; required on stateless connections).
        """
        return tools.get_nth_page(ctx, page_index, result_handle)

    return mcp


async def run_server_async(settings: Settings, *, server: FastMCP | None = None) -> None:
    """
    Serves over ``settings.transport`` until cancelled, or until the input ends (stdio) or a
    stop signal arrives (HTTP); cancellation stops gracefully over stdio.

    Fails fast, before the server is built: the data directory must hold archives and, over
    HTTP, the address is bound first.

    :param settings: Settings; over HTTP, ``host`` (127.0.0.1 by default), ``port``,
        ``allowed_hosts``, ``allowed_origins`` and ``shutdown_grace_seconds``.
    :param server: The server to run (default: ``create_server(settings)``).
    :raise ServerStartupError: If the data directory holds no archives, or the HTTP address
        cannot be bound; the message is one line meant for a person.
    """
    check_data_dir(settings.data_dir)
    configure_allocators(settings)
    if settings.transport == "stdio":
        await serve_stdio(server if server is not None else create_server(settings))
        return
    sockets = bind_http_sockets(settings.host, settings.port)
    try:
        server = server if server is not None else create_server(settings)
        app = server.http_app(
            transport="http",
            # Handshake-era sessions are keyed by Mcp-Session-Id; stateless HTTP would drop it.
            stateless_http=False,
            # Validate Host and Origin on every request (DNS rebinding), whatever the bind
            # address; FastMCP's default leaves it off.
            host_origin_protection=True,
            allowed_hosts=list(settings.allowed_hosts),
            allowed_origins=list(settings.allowed_origins),
        )
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    # uvicorn is run here rather than through FastMCP's run_http_async so that its server
    # object is ours: its graceful stop on SIGTERM/SIGINT ends with exit status 0 (see
    # logpager.server.process). The app's own lifespan runs the server's lifespan.
    await serve_http(
        app,
        sockets,
        host=settings.host,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )


def run_server(settings: Settings, *, server: FastMCP | None = None) -> None:
    """
    Serves over ``settings.transport`` (``stdio`` or streamable ``http``) until stopped.

    SIGTERM and SIGINT stop it gracefully and this returns normally (exit status 0); see
    :mod:`logpager.server.process`.

    :param settings: Settings.
    :param server: The server to run (default: ``create_server(settings)``).
    :raise ServerStartupError: As :func:`run_server_async`, before anything is served.
    """
    run_until_stopped(run_server_async(settings, server=server))
