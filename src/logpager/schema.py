"""The Arrow schema of search results: the contract between backends and the cache.

A backend yields ``pyarrow.RecordBatch`` objects with exactly :data:`RESULT_SCHEMA`. Items are
formatted from these columns only when a page is fetched, so the link (about 120 bytes of a
formatted reference line) is never stored.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "ARCHIVE_ID",
    "ITEM",
    "LOG_EVENT_INDEX",
    "MESSAGE",
    "RESULT_SCHEMA",
    "TIMESTAMP",
    "VERBATIM_SCHEMA",
]

TIMESTAMP = "timestamp"
"""Epoch milliseconds (UTC); null when the event has no timestamp."""
MESSAGE = "message"
"""The original event text (a JSON object for JSON logs)."""
ARCHIVE_ID = "archive_id"
"""The archive that holds the event; empty when the result did not come from an archive."""
LOG_EVENT_INDEX = "log_event_index"
"""The event's position in its archive; null when unknown."""
ITEM = "item"
"""A pre-formatted item kept verbatim (the seed API's ``list[str]`` results)."""

RESULT_SCHEMA = pa.schema(
    [
        pa.field(TIMESTAMP, pa.int64(), nullable=True),
        pa.field(MESSAGE, pa.string(), nullable=False),
        pa.field(ARCHIVE_ID, pa.string(), nullable=False),
        pa.field(LOG_EVENT_INDEX, pa.int64(), nullable=True),
    ]
)

VERBATIM_SCHEMA = pa.schema([pa.field(ITEM, pa.string(), nullable=False)])
