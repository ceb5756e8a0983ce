"""One page of a result as a table for a terminal, with its paging metadata."""

from __future__ import annotations

import shutil
from typing import Any

__all__ = ["format_page_table"]


def _split_item(item: str) -> tuple[str, str, str]:
    head, _, rest = item.partition(", message: ")
    message, sep, link = rest.rpartition(", link: ")
    if not sep:
        message, link = rest, ""
    return head.removeprefix("timestamp: "), message, link


def format_page_table(page: dict[str, Any], *, query: str, width: int | None = None) -> str:
    """
    Renders a page dict as a table with its paging metadata.

    :param page: What ``QueryResult.get_page`` returned.
    :param query: The query, for the header.
    :param width: Terminal width (default: detected).
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
    rows = [_split_item(str(item)) for item in items]
    link_width = max(len(r[2]) for r in rows)
    message_width = max(width - 24 - 2 - link_width - 2, 20)
    lines.append(f"{'TIMESTAMP':<24}  {'MESSAGE':<{message_width}}  LINK")
    for ts, message, link in rows:
        flat = message.replace("\n", "\\n")
        if len(flat) > message_width:
            flat = flat[: message_width - 1] + "…"
        lines.append(f"{ts:<24}  {flat:<{message_width}}  {link}")
    nav = []
    if page.get("has_previous"):
        nav.append(f"previous: --page {index - 1}")
    if page.get("has_next"):
        nav.append(f"next: --page {index + 1}")
    if nav:
        lines.append("; ".join(nav))
    return "\n".join(lines)
