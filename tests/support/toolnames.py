"""The tools the server lists: the reference's four and the analysis tools."""

from __future__ import annotations

__all__ = ["TOOL_NAMES"]

TOOL_NAMES = frozenset(
    {
        "get_instructions",
        "search_by_kql",
        "search_by_kql_with_timestamp_range",
        "get_nth_page",
        "aggregate_results",
        "filter_result",
        "summarize_patterns",
        "compare_patterns",
        "list_fields",
        "get_log_context",
        "list_results",
    }
)
