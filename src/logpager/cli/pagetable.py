"""One page of a result as a table for a terminal, with its paging metadata."""

from __future__ import annotations

import shutil
from typing import Any

__all__ = ["format_page_table"]

_TIMESTAMP_WIDTH = 24  # 2015-07-29T17:41:44.747Z
_MIN_MESSAGE_WIDTH = 20


def _split_item(item: str) -> tuple[str, str]:
    """:return: An item's timestamp and its message (the event), without its link."""
    head, _, rest = item.partition(", message: ")
    message, sep, _link = rest.rpartition(", link: ")
    if not sep:
        message = rest
    return head.removeprefix("timestamp: "), message


def format_page_table(page: dict[str, Any], *, query: str, width: int | None = None) -> str:
    """
    Renders a page dict as a table of timestamps and log text, with its paging metadata.

    Links are left out, so the text gets the width (``--json`` prints whole items).

    :param page: What ``QueryResult.get_page`` returned.
    :param query: The query, for the header, as typed.
    :param width: Terminal width (default: detected, 120 when not a terminal).
    :return: Text ready to print.
    """
    width = width or shutil.get_terminal_size((120, 24)).columns
    index = int(page.get("page_index", 0))
    pages = int(page.get("num_total_pages", 0))
    items = list(page.get("items", []))
    matches = page.get("num_total_matches", page.get("num_total_items", 0))
    cached = page.get("num_total_items", 0)
    lines = [
        f"query: {query}",
        f"matches: {matches:,}; cached: {cached:,}"
        + (" (latest kept)" if page.get("truncated") else "")
        + f"; page {index} of 0-{max(pages - 1, 0)}; {page.get('num_items_per_page', 0)} per page",
    ]
    if not items:
        lines.append("(no results)")
        return "\n".join(lines)
    message_width = max(width - _TIMESTAMP_WIDTH - 2, _MIN_MESSAGE_WIDTH)
    lines.append(f"{'TIMESTAMP':<{_TIMESTAMP_WIDTH}}  MESSAGE")
    for item in items:
        stamp, message = _split_item(str(item))
        # An item's message is already the log text: a text log's line, a JSON event's JSON.
        flat = message.replace("\n", "\\n")
        if len(flat) > message_width:
            flat = flat[: message_width - 1] + "…"
        lines.append(f"{stamp:<{_TIMESTAMP_WIDTH}}  {flat}".rstrip())
    nav = []
    if page.get("has_previous"):
        nav.append(f"previous: --page {index - 1}")
    if page.get("has_next"):
        nav.append(f"next: --page {index + 1}")
    if nav:
        lines.append("; ".join(nav))
    return "\n".join(lines)
