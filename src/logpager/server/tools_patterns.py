"""The MCP tools summarize_patterns and compare_patterns: a result grouped by log template,
and what changed between two results."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import Context, FastMCP
from pydantic import WithJsonSchema

from logpager.analysis import patterns
from logpager.cache import QueryResult
from logpager.errors import InvalidArgumentError, LogpagerError
from logpager.server.access import Caller, page_target
from logpager.server.annotations import READ_ONLY
from logpager.server.answers import answer
from logpager.server.tools import Tools

__all__ = ["TOP_SCHEMA", "compare_results", "register"]


TOP_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "default": 20}
"""The input schema the tools advertise for ``top``."""

# As get_nth_page's page_index: the schema tells the agent what to pass, and the value
# reaches the tool as received, so "5", 2.5 or 0 get an error that names top and its range
# rather than a protocol-level validation failure.
_Top = Annotated[object, WithJsonSchema(TOP_SCHEMA)]


def _resolve(tools: Tools, caller: Caller, handle: object, parameter: str) -> QueryResult:
    """
    :return: The caller's result ``handle``, under the same access rules as paging.
    :raise InvalidArgumentError: Naming ``parameter``, if the handle is missing, unknown,
        foreign or its result can no longer be had.
    """
    if not isinstance(handle, str) or not handle:
        raise InvalidArgumentError(parameter, "pass a result_handle returned by a search.")
    try:
        key, _ = page_target(tools.manager, caller, handle)
        _handle, result = tools.manager.result(key, handle)
    except LogpagerError as exc:
        raise InvalidArgumentError(parameter, str(exc)) from exc
    return result


def compare_results(
    tools: Tools, ctx: Context, handle_a: object, handle_b: object, top: object
) -> dict[str, Any]:
    """
    Compares the templates of two of the caller's results.

    :param tools: The tools' behaviour (sessions, access rules).
    :param ctx: The request context.
    :param handle_a: The first result's handle (``result_handle_a``).
    :param handle_b: The second result's handle (``result_handle_b``).
    :param top: Templates to list in each part.
    :return: See :func:`~logpager.analysis.patterns.compare_patterns`, with both handles;
        or ``{"Error": "<message>"}`` naming the parameter to fix.
    """

    def work() -> dict[str, Any]:
        caller = Caller.of(ctx)
        # Both handles are explicit, as a paging call with a handle.
        caller.check_instructions(tools.manager, relies_on_state=False)
        result_a = _resolve(tools, caller, handle_a, "result_handle_a")
        result_b = _resolve(tools, caller, handle_b, "result_handle_b")
        settings = tools.manager.settings
        listed = patterns.validate_top(top, settings)
        comparison = patterns.compare_patterns(
            patterns.count_patterns(result_a, settings),
            patterns.count_patterns(result_b, settings),
            listed,
        )
        return {**comparison, "result_handle_a": handle_a, "result_handle_b": handle_b}

    return answer(
        work, failure="in compare_patterns", log=("compare_patterns failed unexpectedly",)
    )


def register(mcp: FastMCP, tools: Tools) -> None:
    """
    Registers this module's tools on ``mcp``.

    :param mcp: The server.
    :param tools: The tools' behaviour (sessions, backend, access rules).
    """

    @mcp.tool(annotations=READ_ONLY)
    def summarize_patterns(
        ctx: Context, result_handle: str | None = None, top: _Top = 20
    ) -> dict[str, Any]:
        """
        Groups a search result's events by log template (the text with numbers, ids, IPs,
        paths, UUIDs, quoted values, timestamps and e-mail addresses masked), most frequent
        first: each template's count, share, first and last timestamp, and one example item
        with its link. Counts cover every kept event; those past top are in other_count.
        Text lines are masked as they are; JSON events by their message (or msg) field, or
        whole when they have none.

        :param result_handle: The result to summarize (default: your latest result).
        :param top: How many templates to list, 1..500 (default 20).
        """
        settings = tools.manager.settings
        return tools.analyse(
            ctx,
            result_handle,
            lambda result: patterns.summarize_patterns(result, top, settings),
            tool="summarize_patterns",
        )

    @mcp.tool(annotations=READ_ONLY)
    def compare_patterns(
        result_handle_a: str, result_handle_b: str, ctx: Context, top: _Top = 20
    ) -> dict[str, Any]:
        """
        Compares the log templates of two of your search results (e.g. before and after an
        incident): templates only in A, only in B, and those whose share of events changed
        most, with counts and shares on both sides.

        :param result_handle_a: The first result's handle.
        :param result_handle_b: The second result's handle.
        :param top: How many templates to list in each part, 1..500 (default 20).
        """
        return compare_results(tools, ctx, result_handle_a, result_handle_b, top)
