"""Hits that arrive oldest first, handed straight to a streaming build while the engine runs.

``clp-s`` reports an archive's hits roughly oldest first, and often exactly so (text logs of
one schema, archives in time order). While every block of hits ranks wholly before (is newer
than) the blocks before it, :class:`InOrderHits` sorts each block oldest first and hands it to
a :class:`~logpager.cache.streaming.StreamingBuild`, which lays out and compresses the
result's chunks before the search ends; no sorted run is made. The first block out of order
ends that: what the build took is handed back as blocks of hits, oldest first, for the sorted
runs (:mod:`logpager.search.runs`), where it becomes one run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.streaming import StreamingBuild
from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE, RESULT_SCHEMA, TIMESTAMP
from logpager.search.ranking import HIT_KEY, NO_TIMESTAMP

__all__ = ["InOrderHits"]

_NO_TIMESTAMP_KEY = pa.scalar(NO_TIMESTAMP, pa.int64())
_NULL_TIMESTAMP = pa.scalar(None, pa.int64())
# Ascending on every ranking column: oldest first, ties as the ranking breaks them (archive
# id, then event index; Arrow orders UTF-8 bytes as Python orders str).
_OLDEST_FIRST = [(HIT_KEY, "ascending"), (ARCHIVE_ID, "ascending"), (LOG_EVENT_INDEX, "ascending")]


class InOrderHits:
    """
    Feeds blocks of hits to a streaming build while each ranks wholly before the last.

    :param build: The build that takes the hits (active: taking rows).
    """

    def __init__(self, build: StreamingBuild) -> None:
        self.build = build
        self._best: tuple[int, str, int] | None = None  # the latest hit taken so far
        self.archive_ids: set[str] = set()
        """Every archive of a hit taken."""

    def offer(self, block: pa.RecordBatch) -> bool:
        """
        :param block: Hits as :meth:`~logpager.search.runs.SortedRuns.add` takes them.
        :return: Whether the build took the block: False, and nothing taken, if a hit of it
            ranks after (is not newer than) a hit taken before.
        """
        if not block.num_rows:
            return True
        rows = block.take(pc.sort_indices(block, sort_keys=_OLDEST_FIRST))
        oldest = _row(rows, 0)
        if self._best is not None and not oldest > self._best:
            return False
        self._best = _row(rows, rows.num_rows - 1)
        self.archive_ids.update(pc.unique(rows.column(ARCHIVE_ID)).to_pylist())
        keys = rows.column(HIT_KEY)
        self.build.take(
            pa.RecordBatch.from_arrays(
                [
                    pc.if_else(pc.equal(keys, _NO_TIMESTAMP_KEY), _NULL_TIMESTAMP, keys),
                    rows.column(MESSAGE),
                    rows.column(ARCHIVE_ID),
                    rows.column(LOG_EVENT_INDEX),
                ],
                schema=RESULT_SCHEMA,
            )
        )
        return True

    def give_back(self) -> Iterator[pa.RecordBatch]:
        """
        Stops the streaming build and hands back its hits.

        :return: Blocks of hits (as :meth:`offer` takes them), the oldest block first.
        """
        for batch in self.build.give_back():
            timestamps = batch.column(TIMESTAMP)
            yield pa.RecordBatch.from_arrays(
                [
                    pc.fill_null(timestamps, _NO_TIMESTAMP_KEY),
                    batch.column(MESSAGE),
                    batch.column(ARCHIVE_ID),
                    batch.column(LOG_EVENT_INDEX),
                ],
                names=[HIT_KEY, MESSAGE, ARCHIVE_ID, LOG_EVENT_INDEX],
            )


def _row(rows: pa.RecordBatch, index: int) -> tuple[int, str, int]:
    """:return: A hit's ranking columns: key, archive id, event index."""
    key = rows.column(HIT_KEY)[index].as_py()
    archive = rows.column(ARCHIVE_ID)[index].as_py()
    event = rows.column(LOG_EVENT_INDEX)[index].as_py()
    return int(key), str(archive), int(event)
