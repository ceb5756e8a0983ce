"""Where a result's items lie in its chunks: segments of chunks, each aligned on its own.

A result built latest first (:class:`~logpager.cache.builder.ResultBuilder`) is one segment:
every chunk holds ``chunk_rows`` items but the last. A result built while its search ran
(:mod:`logpager.cache.streaming`) is a series of segments, one per stretch of hits that
arrived in time order (e.g. one per archive): each segment's chunks are counted from its
oldest row, so its first chunk (its newest rows) is the short one, and a page may straddle
two chunks, or two segments. The last chunk of a result may hold rows past its items (a
streamed result's oldest rows beyond the cap); they are never served.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence

__all__ = ["ChunkAlignment", "Segment"]

Segment = tuple[int, int, int]
"""A segment: its first item, its first chunk, and the rows its first chunk lacks (its lead)."""


class ChunkAlignment:
    """
    Maps a result's items to chunks and rows.

    :param chunk_rows: Rows of a full chunk.
    :param segments: The segments in result order, the first at item 0 and chunk 0;
        ``None``: one segment with no lead (a result built latest first).
    :raise ValueError: If the segments do not start at 0 or do not grow, or a lead is not in
        ``0..chunk_rows - 1``.
    """

    __slots__ = ("_chunks", "_leads", "_rows", "chunk_rows")

    def __init__(self, chunk_rows: int, segments: Sequence[Segment] | None = None) -> None:
        segments = list(segments) if segments else [(0, 0, 0)]
        self.chunk_rows = chunk_rows
        self._rows = [int(s[0]) for s in segments]
        self._chunks = [int(s[1]) for s in segments]
        self._leads = [int(s[2]) for s in segments]
        if self._rows[0] != 0 or self._chunks[0] != 0:
            msg = f"the first segment must start at item 0 and chunk 0, got {segments[0]}"
            raise ValueError(msg)
        for before, after in itertools.pairwise(segments):
            if after[0] <= before[0] or after[1] <= before[1]:
                msg = f"segments must follow each other, got {before} then {after}"
                raise ValueError(msg)
        if any(not 0 <= lead < chunk_rows for lead in self._leads):
            msg = f"a segment's lead must be in 0..{chunk_rows - 1}, got {self._leads}"
            raise ValueError(msg)

    @property
    def segments(self) -> list[Segment]:
        """:return: The segments (first item, first chunk, lead), for a stored record."""
        return list(zip(self._rows, self._chunks, self._leads, strict=True))

    def locate(self, index: int) -> tuple[int, int, int]:
        """
        :param index: An item, ``0 <= index < num_items``.
        :return: Its chunk, its row in that chunk, and the rows from it to the chunk's end.
        """
        segment = bisect.bisect_right(self._rows, index) - 1 if len(self._rows) > 1 else 0
        lead = self._leads[segment]
        within, offset = divmod(index - self._rows[segment] + lead, self.chunk_rows)
        room = self.chunk_rows - offset
        if within == 0:
            offset -= lead
        return self._chunks[segment] + within, offset, room

    def spans(self, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
        """
        :param start: The first item, ``0 <= start``.
        :param stop: The item after the last, at most the result's item count.
        :return: Per chunk the items lie in (a page may straddle two), in order: the chunk,
            the row of the first of them there, and how many of them it holds.
        """
        while start < stop:
            chunk_index, offset, room = self.locate(start)
            take = min(stop - start, room)
            yield chunk_index, offset, take
            start += take

    def visible_rows(self, chunk_index: int, num_items: int) -> int:
        """
        :param chunk_index: A chunk.
        :param num_items: The result's items.
        :return: How many of the chunk's rows are items (from its first row on).
        """
        segment = bisect.bisect_right(self._chunks, chunk_index) - 1
        first_row, lead = self._rows[segment], self._leads[segment]
        within = chunk_index - self._chunks[segment]
        first = first_row + max(within * self.chunk_rows - lead, 0)
        end = min(first_row + (within + 1) * self.chunk_rows - lead, num_items)
        if segment + 1 < len(self._rows):
            end = min(end, self._rows[segment + 1])
        return max(end - first, 0)

    def check(self, num_chunks: int, num_items: int) -> None:
        """
        :param num_chunks: The result's chunks.
        :param num_items: The result's items.
        :raise AssertionError: If the items do not take up exactly ``num_chunks`` chunks.
        """
        expected = self.num_chunks(num_items)
        if num_chunks != expected:
            msg = f"{num_chunks} chunks for {num_items} rows ({self.segments}), want {expected}"
            raise AssertionError(msg)

    def num_chunks(self, num_items: int) -> int:
        """
        :param num_items: The result's items.
        :return: The chunks that hold them.
        :raise AssertionError: If a segment but the last does not fill its chunks exactly.
        """
        if not num_items:
            return 0
        rows = [*self._rows, num_items]
        for segment in range(len(self._rows) - 1):
            count = rows[segment + 1] - rows[segment] + self._leads[segment]
            chunks = self._chunks[segment + 1] - self._chunks[segment]
            if count != chunks * self.chunk_rows:
                msg = f"segment {segment} holds {count} rows in {chunks} chunks"
                raise AssertionError(msg)
        last = num_items - self._rows[-1] + self._leads[-1]
        return self._chunks[-1] + -(-last // self.chunk_rows)
