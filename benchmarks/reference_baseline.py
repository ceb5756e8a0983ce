"""The reference design's result cache, reproduced for comparison only (never shipped).

Results are held as a Python ``list[str]`` of formatted lines, and ``paginate.Page`` slices
that list, as the reference ``clp-mcp-server`` does.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from paginate import Page

REFERENCE_LINK = (
    "http://localhost:4000/streamFile?dataset=default&type=json&streamId={archive_id}"
    "&logEventIdx={log_event_index}"
)


def format_lines(batches: list[pa.RecordBatch]) -> list[str]:
    """Formats rows as the reference does: ``timestamp: ISO, message: M, link: URL``."""
    lines: list[str] = []
    for batch in batches:
        for ts, msg, arch, idx in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            iso = (
                datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                + "Z"
                if ts is not None
                else "N/A"
            )
            link = REFERENCE_LINK.format(archive_id=arch, log_event_index=idx)
            lines.append(f"timestamp: {iso}, message: {msg}, link: {link}")
    return lines


class ReferenceResult:
    """A list of formatted lines paged with ``paginate.Page``."""

    def __init__(self, lines: list[str], page_size: int = 10) -> None:
        self.lines = lines
        self.page_size = page_size

    def get_page(self, page_index: int) -> dict[str, Any]:
        num_pages = math.ceil(len(self.lines) / self.page_size)
        if not 0 <= page_index < num_pages:
            return {"Error": "Page index is out of bounds."}
        page = Page(self.lines, page=page_index + 1, items_per_page=self.page_size)
        return {
            "items": list(page),
            "num_total_pages": page.page_count,
            "num_total_items": page.item_count,
            "num_items_per_page": page.items_per_page,
            "has_next": page.next_page is not None,
            "has_previous": page.previous_page is not None,
        }
