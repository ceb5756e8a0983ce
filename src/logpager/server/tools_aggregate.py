"""The MCP tools aggregate_results and filter_result: counts over a whole cached result,
and a new result holding the events of one that match."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import Context, FastMCP
from pydantic import WithJsonSchema

from logpager.analysis import filtering
from logpager.analysis.aggregate import aggregate
from logpager.cache import QueryResult
from logpager.server.annotations import READ_ONLY
from logpager.server.tools import Tools

__all__ = ["register"]

# Parameters are typed `object` with the schema clients see, as get_nth_page's page_index
# (see logpager.server.app): a malformed value reaches our own checks, which answer
# {"Error": ...} naming the parameter and what to pass, rather than FastMCP's validation
# failure.
_Top = Annotated[object, WithJsonSchema({"type": "integer", "minimum": 1, "default": 10})]
_By = Annotated[object, WithJsonSchema({"type": "string", "default": "time"})]
_Text = Annotated[object, WithJsonSchema({"type": ["string", "null"], "default": None})]
_Value = Annotated[
    object,
    WithJsonSchema({"type": ["string", "number", "integer", "boolean", "null"], "default": None}),
]


def register(mcp: FastMCP, tools: Tools) -> None:
    """
    Registers this module's tools on ``mcp``.

    :param mcp: The server.
    :param tools: The tools' behaviour (sessions, backend, access rules).
    """
    settings = tools.manager.settings

    @mcp.tool(annotations=READ_ONLY)
    def aggregate_results(
        ctx: Context,
        result_handle: str | None = None,
        by: _By = "time",
        top: _Top = 10,
        interval: _Text = None,
    ) -> dict[str, Any]:
        """
        Counts the events of a whole search result (every page, not one): how many fall in
        each time bucket, or the most common values of a field. Counts cover the events the
        result kept: when it says truncated, the search matched more.

        :param result_handle: The result to count (default: your latest result).
        :param by: "time" for a histogram (needs interval), or a field name: "message" or
            "timestamp" for plain-text logs, a JSON key such as "level", dotted for nested
            keys ("http.request.method").
        :param top: By a field: how many of the most common values to list (1-1000); the
            rest is counted as "other", events without the field as "missing".
        :param interval: By time: the bucket length, a whole number and s, m, h or d, e.g.
            "30s", "5m", "1h", "1d" (UTC). Buckets without events are left out.
        """

        def count(result: QueryResult) -> dict[str, Any]:
            return aggregate(result, by=by, top=top, interval=interval, settings=settings)

        return tools.analyse(ctx, result_handle, count, tool="aggregate_results")

    @mcp.tool(annotations=READ_ONLY)
    def filter_result(
        ctx: Context,
        result_handle: str | None = None,
        text: _Text = None,
        regex: _Text = None,
        field: _Text = None,
        value: _Value = None,
    ) -> dict[str, Any]:
        """
        Keeps the events of a search result that match, as a new result with its own
        result_handle (page it with get_nth_page, count it with aggregate_results), latest
        first, without searching again. Give at least one criterion; several must all hold.
        Text and regex read a plain-text log's line, or a JSON event's whole object text.

        :param result_handle: The result to filter (default: your latest result).
        :param text: Keep events whose text contains this, in any case.
        :param regex: Keep events whose text matches this RE2 regular expression (no
            backreferences or lookaround; (?i) ignores case; ^ and $ anchor the whole text).
        :param field: With value: keep events whose field (dotted for nested JSON keys)
            equals value exactly.
        :param value: The field's value, compared as text (200 and "200" are the same).
        """

        def keep_matching(source: QueryResult) -> QueryResult:
            criteria = filtering.FilterCriteria.parse(
                text=text, regex=regex, field=field, value=value
            )
            governor = tools.governor
            return filtering.filter_result(
                source,
                criteria,
                settings=tools.manager.settings,
                max_compressed_bytes=governor.max_result_bytes() if governor else None,
                clock=tools.manager.now,
            )

        return tools.derive(ctx, result_handle, keep_matching, tool="filter_result")
