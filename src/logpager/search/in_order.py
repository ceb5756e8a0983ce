"""Hits that arrive in time order, handed straight to a streaming build while the engine runs.

``clp-s`` reports an archive's hits table by table, each table in the order its events were
ingested: for text logs (one schema) whose lines are in time order, that is oldest first. It
visits the archives in an order of its own, but archives written from time-ordered logs do
not overlap in time. So :class:`InOrderHits` cuts each block of hits where the archive
changes, sorts each part oldest first, and hands it to a
:class:`~logpager.cache.streaming.StreamingBuild`: extending the current segment when it is
of the same archive and newer than it (and older than the segment above it), or starting a
segment in the gap it falls in (one segment per archive, then). The build lays out and
compresses the result's chunks before the search ends, and no sorted run is made.

A part that overlaps a segment in time (an archive out of order inside, or two overlapping
archives), or one segment too many, ends that: what the build took is handed back as blocks
of hits, oldest first, for the sorted runs (:mod:`logpager.search.runs`), where it becomes
one run, and the runs take every later block.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.streaming import StreamingBuild
from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX
from logpager.search.ranking import HIT_KEY, as_results, results_as_hits

__all__ = ["InOrderHits"]

Rank = tuple[int, str, int]
"""A hit's place in the ranking: key, archive id, event index (greater: newer)."""

# Ascending on every ranking column: oldest first, ties as the ranking breaks them (archive
# id, then event index; Arrow orders UTF-8 bytes as Python orders str).
_OLDEST_FIRST = [(HIT_KEY, "ascending"), (ARCHIVE_ID, "ascending"), (LOG_EVENT_INDEX, "ascending")]


class InOrderHits:
    """
    Feeds blocks of hits to a streaming build while each part of them fits in time.

    :param build: The build that takes the hits (active: taking rows).
    :param max_segments: Segments the build may hold; a part that would start one more does
        not fit (each segment costs a short chunk, and many tiny ones compress poorly).
    """

    def __init__(self, build: StreamingBuild, max_segments: int) -> None:
        self.build = build
        self.max_segments = max_segments

    def offer(self, block: pa.RecordBatch) -> pa.RecordBatch | None:
        """
        :param block: Hits as :meth:`~logpager.search.runs.SortedRuns.add` takes them, in
            the order the engine reported them.
        :return: None if the build took every hit (or dropped it: older than every hit held
            once the cap is full); else the hits from the first part that does not fit on,
            none of which was taken.
        """
        for start, stop in _parts(block.column(ARCHIVE_ID)):
            if not self._take(block.slice(start, stop - start)):
                return block.slice(start)
        return None

    def _take(self, part: pa.RecordBatch) -> bool:
        """:return: Whether the part fitted (then it is taken, or dropped for the cap)."""
        keys = part.column(HIT_KEY).to_numpy(zero_copy_only=False)
        if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
            # Mostly skipped: an archive's hits come oldest first, one part one archive.
            part = part.take(pc.sort_indices(part, sort_keys=_OLDEST_FIRST))
            keys = part.column(HIT_KEY).to_numpy(zero_copy_only=False)
        # One archive a part: its ranking is (key, event index) with the archive alongside.
        archive = str(part.column(ARCHIVE_ID)[0].as_py())
        indexes = part.column(LOG_EVENT_INDEX).to_numpy(zero_copy_only=False)
        lo = (int(keys[0]), archive, int(indexes[0]))
        hi = (int(keys[-1]), archive, int(indexes[-1]))
        build, segments = self.build, self.build.segments
        if segments and build.held_rows >= build.cap and hi < segments[-1].lo:
            return True  # older than every row held, which fill the cap already
        current = build.current
        # Only the archive the current segment is of extends it: a segment spanning two
        # archives would cover the gap between them, where a later archive may fall.
        if current is not None and lo[1] == current.hi[1] and lo > current.hi:
            above = segments.index(current) - 1
            if above < 0 or hi < segments[above].lo:
                build.extend(as_results(part), hi)
                return True
        place = sum(1 for segment in segments if segment.lo > hi)
        fits = all(segment.hi < lo for segment in segments[place:])
        if not fits or len(segments) >= self.max_segments:
            return False
        build.start(as_results(part), lo, hi, place)
        return True

    def give_back(self) -> Iterator[pa.RecordBatch]:
        """
        Stops the streaming build and hands back its hits.

        :return: Blocks of hits (as :meth:`offer` takes them), the oldest block first.
        """
        for batch in self.build.give_back():
            yield results_as_hits(batch)


def _parts(archives: pa.Array) -> list[tuple[int, int]]:
    """:return: The stretches of rows (start, stop) that share an archive, in order."""
    rows = len(archives)
    if rows == 0:
        return []
    codes = pc.dictionary_encode(archives).indices.to_numpy(zero_copy_only=False)
    cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    bounds = [0, *cuts.tolist(), rows]
    return list(itertools.pairwise(bounds))
