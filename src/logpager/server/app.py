"""Building the MCP server: the tools as MCP clients see them, and the lifespan that runs them.

Tools (names, parameters and page shape as y-scope's ``clp-mcp-server``, plus an optional
``result_handle``): ``get_instructions``, ``search_by_kql``,
``search_by_kql_with_timestamp_range``, ``get_nth_page``. All are read-only; their behaviour
is :class:`~logpager.server.tools.Tools`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastmcp import Context, FastMCP
from fastmcp.server.auth import AuthProvider
from pydantic import WithJsonSchema

from logpager import __version__
from logpager.errors import StoreUnavailableError
from logpager.memory.allocators import page_out_library_pages
from logpager.memory.governor import MemoryGovernor
from logpager.search import ClpSBackend, SearchBackend
from logpager.search.rerun import make_rerunner
from logpager.server import tools_aggregate, tools_archives, tools_patterns, tools_results
from logpager.server.admission import AdmittedRerun
from logpager.server.annotations import READ_ONLY
from logpager.server.arguments import ToolArgumentErrors
from logpager.server.auth import build_auth_provider
from logpager.server.health import HealthCheck
from logpager.server.instructions import INSTRUCTIONS
from logpager.server.item_cap import MAX_ITEM_CHARS_SCHEMA
from logpager.server.metrics import ServerMetrics
from logpager.server.page_on_loop import PageDispatch
from logpager.server.tools import Tools
from logpager.sessions import SessionManager
from logpager.settings import Settings
from logpager.store import SessionStore

__all__ = ["PAGE_INDEX_SCHEMA", "SERVER_NAME", "create_server"]

logger = logging.getLogger(__name__)

SERVER_NAME = "logpager"

PAGE_INDEX_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0}
"""The input schema ``get_nth_page`` advertises for ``page_index``."""

# The schema tells the agent what a page index is, but the value reaches the tool as received
# and is checked there (``cache.validate_page_index``), so True, "3", 3.0 or -1 come back as
# the reference's page dict "Invalid page index. Valid range: 0-N", which names N. The
# rejected alternative, ``Annotated[int, Field(ge=0, strict=True)]``, had FastMCP refuse them
# first with a protocol-level validation failure that neither matches the reference nor tells
# the agent the valid range.
_PageIndex = Annotated[object, WithJsonSchema(PAGE_INDEX_SCHEMA)]
# The same for max_item_chars: "20", 19 or True reach ``item_cap.check_max_item_chars`` and
# come back as an {"Error"} that names the parameter and what to pass.
_MaxItemChars = Annotated[object, WithJsonSchema(MAX_ITEM_CHARS_SCHEMA)]


def _no_limit() -> int | None:
    return None


def create_server(
    settings: Settings,
    *,
    manager: SessionManager | None = None,
    backend: SearchBackend | None = None,
    governor: MemoryGovernor | None = None,
    auth: AuthProvider | Literal["settings"] | None = "settings",
) -> FastMCP:
    """
    Builds the MCP server.

    :param settings: Settings (cache, search engine, server).
    :param manager: The session manager (default: a new one from ``settings``).
    :param backend: The search engine (default: ``clp-s`` over ``settings.data_dir``).
    :param governor: The memory governor of ``manager`` (default: a new one when the manager
        is made here; a manager passed in is governed only if its governor is passed too).
    :param auth: Who may call over HTTP: a FastMCP auth provider, ``None`` for anyone, or
        ``"settings"`` (default) for :func:`~logpager.server.auth.build_auth_provider` of
        ``settings``. FastMCP checks it over HTTP only, never over stdio.
    :return: A FastMCP server with the four tools and the ``GET /metrics`` and ``GET /health``
        routes; its lifespan runs the session sweep.
    :raise SettingsError: If ``auth`` is ``"settings"`` and they configure an unusable one.
    """
    if isinstance(auth, str):  # "settings"
        auth = build_auth_provider(settings)
    tools = _build_tools(settings, manager, backend, governor)

    @asynccontextmanager
    async def lifespan(_server: FastMCP) -> AsyncIterator[None]:
        if settings.page_out_library_pages:
            # Everything is imported and started by now: only pages in use come back.
            page_out_library_pages()
        tools.admission.bind(asyncio.get_running_loop())
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
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        # serverInfo names logpager's own version (FastMCP's is the default).
        version=__version__,
        lifespan=lifespan,
        mask_error_details=True,
        auth=auth,
    )
    # Arguments that fail validation get the reference's {"Error": ...}, naming the parameter.
    mcp.add_middleware(ToolArgumentErrors())
    _register_tools(mcp, tools, PageDispatch(tools, on_loop=settings.page_on_event_loop))
    for register in (
        tools_aggregate.register,
        tools_patterns.register,
        tools_archives.register,
        tools_results.register,
    ):
        register(mcp, tools)
    # Both answer without a token even when auth is on (see README, "Metrics and health"):
    # they hold counts, never log content; Host and Origin checks still apply over HTTP.
    mcp.custom_route("/metrics", methods=["GET"])(ServerMetrics(tools, tools.observer).endpoint)
    mcp.custom_route("/health", methods=["GET"])(
        HealthCheck(tools.backend, tools.manager.store).endpoint
    )
    return mcp


def _build_tools(
    settings: Settings,
    manager: SessionManager | None,
    backend: SearchBackend | None,
    governor: MemoryGovernor | None,
) -> Tools:
    """
    :return: The tools over the given parts, or new ones from ``settings`` (see
        :func:`create_server`): a governed manager that re-runs evicted results.
    """
    backend = backend if backend is not None else ClpSBackend(settings)
    if manager is None:
        manager = SessionManager(settings=settings)
        if manager.store is not None:
            _check_store(manager.store)
        if governor is None:
            governor = MemoryGovernor(manager)
    if manager.rerun is None:
        manager.rerun = make_rerunner(
            backend,
            manager.settings,
            max_result_bytes=governor.max_result_bytes if governor is not None else _no_limit,
            clock=manager.now,
        )
    # The server applies the instructions-first rule to its callers (connections and
    # principals, see logpager.server.access); the manager's per-session check would refuse
    # a client that opens a connection per call.
    manager.require_instructions = False
    tools = Tools(manager, backend, governor)
    # A re-run is a search: it waits for a slot like one (pages run in worker threads).
    manager.rerun = AdmittedRerun.around(manager.rerun, tools.admission)
    return tools


def _check_store(store: SessionStore) -> None:
    """Says where sessions are kept, and warns (without stopping) if the store is down now."""
    logger.info("sessions and results are kept in the store %s", store.address)
    try:
        store.ping()
    except StoreUnavailableError as exc:
        # The server starts anyway: searches and pages say the store is down until it is back.
        logger.warning("%s", exc)


def _register_tools(mcp: FastMCP, tools: Tools, pages: PageDispatch) -> None:
    """
    Registers the four tools on ``mcp``. What clients see (names, parameters, descriptions,
    annotations, schemas) is fixed here; ``tools`` does the work.

    :param mcp: The server.
    :param tools: The tools' behaviour.
    :param pages: Where ``get_nth_page`` runs (the event loop or a worker thread).
    """

    @mcp.tool(annotations=READ_ONLY)
    def get_instructions(ctx: Context) -> str:
        """
        Returns how to use this server: the KQL syntax it accepts, time ranges, fields, and
        how to page through results. Call it first, once.
        """
        return tools.get_instructions(ctx)

    @mcp.tool(annotations=READ_ONLY)
    async def search_by_kql(
        kql_query: str, ctx: Context, result_handle: str | None = None
    ) -> dict[str, Any]:
        """
        Searches the logs with a KQL query and returns the first page of results, latest
        first, with a result_handle for get_nth_page.

        :param kql_query: KQL, e.g. `message: "*Failed password*" AND message: *root*` or
            `*PacketResponder*` (values with spaces in quotes; see get_instructions).
        :param result_handle: A handle from an earlier result, to search in the same session
            (needed on stateless connections to keep your results together).
        """
        return await tools.search(ctx, kql_query, None, None, result_handle)

    @mcp.tool(annotations=READ_ONLY)
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

        :param kql_query: KQL, e.g. `message: *timeout*`.
        :param begin_timestamp: ISO 8601 UTC with a trailing Z, e.g. 2015-07-29T00:00:00.000Z.
        :param end_timestamp: ISO 8601 UTC with a trailing Z, not before begin_timestamp,
            e.g. 2015-07-29T23:59:59.999Z.
        :param result_handle: A handle from an earlier result, to search in the same session.
        """
        return await tools.search(ctx, kql_query, begin_timestamp, end_timestamp, result_handle)

    @mcp.tool(annotations=READ_ONLY)
    async def get_nth_page(
        page_index: _PageIndex,
        ctx: Context,
        result_handle: str | None = None,
        max_item_chars: _MaxItemChars = None,
    ) -> dict[str, Any]:
        """
        Returns page page_index (0-based) of a search result.

        :param page_index: An integer in 0..num_total_pages-1.
        :param result_handle: The handle returned with the search (default: your latest
            result; required on stateless connections).
        :param max_item_chars: Optional, an integer >= 20: items longer than this are cut
            to their first max_item_chars characters and end with "… [+N chars]"; the page
            then says how many were cut (num_items_cut). Default: whole items.
        """
        return await pages.page(ctx, page_index, result_handle, max_item_chars)
