"""The MCP tools list_fields and get_log_context: what the archives hold, and the events
around one hit.

Both read the archives, not a cached result, so they need no result handle; they follow the
instructions-first rule as a search does. Each scans archives with ``clp-s`` in a worker
thread; cancelling the call kills the child.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastmcp import Context, FastMCP
from pydantic import WithJsonSchema

from logpager.analysis.context import log_context, validate_count
from logpager.analysis.fields import FieldCatalog
from logpager.errors import LogpagerError
from logpager.search.child import RunToken, SearchCancelledError, run_cancellable
from logpager.search.clp_s import ClpSBackend
from logpager.server.access import Caller
from logpager.server.annotations import READ_ONLY
from logpager.server.tools import Tools

__all__ = ["register"]

logger = logging.getLogger(__name__)

# As get_nth_page's page_index: the schema tells the agent what to send, and the value
# reaches our own validation as received, so a bad one gets an error naming the parameter
# rather than a protocol-level validation failure.
_Link = Annotated[object, WithJsonSchema({"type": "string"})]


def _clp_s(tools: Tools) -> ClpSBackend:
    backend = tools.backend
    if not isinstance(backend, ClpSBackend):
        msg = "This server's search backend cannot scan archives."
        raise LogpagerError(msg)
    return backend


async def _answer(
    ctx: Context, tools: Tools, tool: str, work: Callable[[RunToken], dict[str, Any]]
) -> dict[str, Any]:
    """:return: ``work``'s answer, or ``{"Error": ...}``, under the instructions rule."""
    try:
        Caller.of(ctx).check_instructions(tools.manager, relies_on_state=False)
        return await run_cancellable(work)
    except LogpagerError as exc:
        return {"Error": str(exc)}
    except SearchCancelledError:
        raise asyncio.CancelledError from None
    except Exception as exc:
        logger.exception("%s failed unexpectedly", tool)
        return {"Error": f"Internal error in {tool} ({type(exc).__name__})."}


def register(mcp: FastMCP, tools: Tools) -> None:
    """
    Registers this module's tools on ``mcp``.

    :param mcp: The server.
    :param tools: The tools' behaviour (sessions, backend, access rules).
    """
    settings = tools.manager.settings
    catalog = FieldCatalog(settings)
    limit = settings.log_context_max_events
    # The bound is a setting, so the schema is made here (the module's annotations are
    # strings, resolved against module globals; these two are set as objects below).
    count = Annotated[
        object, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": limit, "default": 5})
    ]

    @mcp.tool(annotations=READ_ONLY)
    async def list_fields(ctx: Context) -> dict[str, Any]:
        """
        Lists the fields present in the logs, to write KQL queries with: each field's dotted
        path (nested JSON keys joined with '.'), its JSON types, how many events carry it,
        and up to 3 example values. Plain-text logs have the fields timestamp and message.
        Scans the archives (capped; the answer says how many events were scanned); the
        answer is cached until new logs are ingested. Needs no result handle.
        """

        def work(token: RunToken) -> dict[str, Any]:
            return catalog.list_fields(_clp_s(tools), token=token)

        return await _answer(ctx, tools, "list_fields", work)

    async def get_log_context(
        link: _Link, ctx: Context, before: object = 5, after: object = 5
    ) -> dict[str, Any]:
        """
        Returns the events around one search hit, in their original order, from the same
        archive and source file, whether or not they matched any query: the events before
        it, the event itself and the events after it, each formatted like a page item.

        :param link: The hit's link, as an item carries it (clp://<archive_id>/<index>).
        :param before: Events to show before the hit, 0 to the limit (default 5).
        :param after: Events to show after the hit, 0 to the limit (default 5).
        """

        def work(token: RunToken) -> dict[str, Any]:
            wanted_before = validate_count(before, "before", limit)
            wanted_after = validate_count(after, "after", limit)
            found = log_context(
                _clp_s(tools),
                link,
                wanted_before,
                wanted_after,
                link_template=settings.link_template,
                token=token,
            )
            return found.as_dict(wanted_before, wanted_after)

        return await _answer(ctx, tools, "get_log_context", work)

    get_log_context.__annotations__.update(before=count, after=count)
    mcp.tool(annotations=READ_ONLY)(get_log_context)
