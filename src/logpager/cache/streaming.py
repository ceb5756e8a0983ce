"""Building a result while its rows still arrive, in stretches that each come oldest first.

A :class:`ResultBuilder` takes rows latest first, so a search's build waits for the search to
end and for its hits to be merged. ``clp-s`` reports each archive's hits in time order when
the archive holds one schema (text logs), but visits the archives in an order of its own; so
a :class:`StreamingBuild` takes rows as *segments*: each segment arrives oldest first, and
segments do not overlap in time, whatever order they come in. Each segment's chunks are laid
out and compressed while its rows arrive, counted from its OLDEST row (its newest chunk is
the short one); the result orders the segments latest first and maps its items to chunks
with a :class:`~logpager.cache.alignment.ChunkAlignment`.

The cap keeps the latest rows, which are not known until the rows end: the oldest chunk held
(of the oldest segment) is dropped as soon as the newer rows fill the cap without it, and the
few oldest rows left past the cap are hidden (the result's ``num_items`` ends before them).
The byte limit keeps the latest rows too: the oldest chunks are dropped while the compressed
bytes exceed it (one chunk is always kept).

The caller decides which rows extend the current segment and which start one
(:mod:`logpager.search.in_order`); when rows fit nowhere, :meth:`StreamingBuild.give_back`
hands back everything taken, to be sorted with the rest and built latest first as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import pyarrow as pa

from logpager.cache.builder import ResultBuilder
from logpager.cache.codec.contexts import decompress
from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.encode import encode_group
from logpager.cache.codec.layout import pack_chunks
from logpager.cache.compressor import ChunkCompressor
from logpager.cache.dictionary import train_dictionary
from logpager.cache.result import QueryResult
from logpager.schema import RESULT_SCHEMA
from logpager.settings import Settings

__all__ = ["StreamSegment", "StreamingBuild"]


class StreamSegment:
    """
    One segment of a streaming build: rows that arrived oldest first, and its chunks.

    :param lo: The caller's ranking of its oldest row (compared only by the caller).
    :param hi: The caller's ranking of its newest row.
    """

    __slots__ = ("closed", "held", "held_rows", "hi", "lo", "untrained")

    def __init__(self, lo: Any, hi: Any) -> None:
        self.lo = lo
        self.hi = hi
        self.held: deque[bytes] = deque()
        """Compressed chunks, oldest first: all full but the newest once closed."""
        self.held_rows = 0
        self.untrained: list[pa.Table] = []
        """Encoded groups, oldest first, waiting for the dictionary."""
        self.closed = False
        """Whether its newest (short) chunk is laid out: it takes no more rows."""

    def oldest_chunk_rows(self, chunk_rows: int) -> int:
        """:return: Rows of its oldest held chunk (the short newest one when it is alone)."""
        return self.held_rows if self.closed and len(self.held) == 1 else chunk_rows


class StreamingBuild:
    """
    Builds a result from segments of rows that each arrive oldest first, while they arrive.

    Rows are gathered into groups of whole chunks (about ``settings.build_group_rows``); each
    group is reversed into result order, encoded, laid out and compressed in a worker thread
    while the next rows arrive. Until the zstd dictionary is known (the ``builder``'s
    :meth:`~ResultBuilder.prime`, or trained here on the first groups), groups are held
    encoded, uncompressed. It holds the compressed chunks of at most ``cap`` rows plus one
    chunk, the rows of one unfinished group and the groups being compressed.

    :param builder: The result's non-streaming builder: its spec, cap, chunk size, byte limit
        and clock are this build's, and its primed dictionary is used here too.
    :param settings: The settings ``builder`` was made with.
    """

    def __init__(self, builder: ResultBuilder, settings: Settings) -> None:
        self._builder = builder
        self._settings = settings
        self.chunk_rows = builder.chunk_rows
        self.group_rows = builder.group_rows
        self.cap = builder.cap
        self._limit = builder.max_compressed_bytes
        self._workers = ChunkCompressor(settings, None)
        self.active = True
        """Whether rows are still taken in (False once given back)."""
        self._reset()

    def _reset(self) -> None:
        self.segments: list[StreamSegment] = []
        """The segments, latest first (as the result orders them)."""
        self._current: StreamSegment | None = None
        self._archive_names: list[str] = []
        self._pending: list[pa.RecordBatch] = []  # the current segment's, oldest first
        self._pending_rows = 0
        self._untrained_rows = 0
        # Groups being compressed, with their rows and segment; chunks come back oldest first.
        self._in_flight: deque[tuple[Future[list[bytes]], int, StreamSegment]] = deque()
        self._in_flight_rows = 0
        self._held_rows = 0
        self._held_bytes = 0
        self._dictionary_known = False
        self._dictionary: bytes | None = None

    @property
    def held_rows(self) -> int:
        """:return: Rows taken in and still held (pending, encoded or compressed)."""
        return self._pending_rows + self._untrained_rows + self._in_flight_rows + self._held_rows

    @property
    def current(self) -> StreamSegment | None:
        """:return: The segment that takes rows now (None before the first rows)."""
        return self._current

    def start(self, rows: pa.RecordBatch, lo: Any, hi: Any, place: int) -> None:
        """
        Closes the current segment and starts one with ``rows``.

        :param rows: Rows with :data:`~logpager.schema.RESULT_SCHEMA`, oldest first.
        :param lo: The caller's ranking of their oldest row.
        :param hi: The caller's ranking of their newest row.
        :param place: Where the segment goes in :attr:`segments` (latest first).
        :raise RuntimeError: If the rows were given back already.
        :raise ValueError: If the rows have another schema.
        """
        self._check(rows)
        self._close_current()
        segment = StreamSegment(lo, hi)
        self.segments.insert(place, segment)
        self._current = segment
        self._add(rows)

    def extend(self, rows: pa.RecordBatch, hi: Any) -> None:
        """
        Adds rows to the current segment.

        :param rows: Rows with :data:`~logpager.schema.RESULT_SCHEMA`, oldest first, each
            one newer than every row of the segment.
        :param hi: The caller's ranking of their newest row.
        :raise RuntimeError: If the rows were given back already, or no segment was started.
        :raise ValueError: If the rows have another schema.
        """
        self._check(rows)
        if self._current is None:
            msg = "no segment was started"
            raise RuntimeError(msg)
        self._current.hi = hi
        self._add(rows)

    def clear(self) -> None:
        """Forgets every row taken in, and takes rows again (a search that starts over)."""
        self.close()
        self._reset()
        self.active = True

    def give_back(self) -> Iterator[pa.RecordBatch]:
        """
        Stops streaming and hands back the rows held.

        :return: Batches of :data:`~logpager.schema.RESULT_SCHEMA`, each latest first within
            itself; the batches oldest first (segment by segment, oldest segment first).
            Rows dropped for the cap or the byte limit (they cannot be among the latest
            ``cap``) are not among them.
        """
        self.active = False
        self._collect(keep_in_flight=0, trim=False)
        segments, pending = list(reversed(self.segments)), self._pending
        current, dictionary, names = self._current, self._dictionary, self._archive_names
        self.close()
        self._reset()
        return _given_back(segments, current, pending, dictionary, names, self.chunk_rows)

    def finish(
        self, *, total_matches: int, archive_ids: Sequence[str] | None = None
    ) -> QueryResult:
        """
        Lays out the newest rows of the current segment, waits for the compression and makes
        the result.

        :param total_matches: The engine's count of all matches; at least the rows taken.
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :return: The compressed, pageable result, latest first.
        :raise RuntimeError: If the rows were given back already.
        """
        if not self.active:
            msg = "this streaming build gave its rows back and cannot finish"
            raise RuntimeError(msg)
        self._close_current()
        if not self._dictionary_known:
            self._settle_dictionary(force=True)
        self._collect(keep_in_flight=0, trim=True)
        self._workers.close()
        chunks: list[bytes] = []
        alignment: list[tuple[int, int, int]] = []
        rows = 0
        for segment in self.segments:
            if not segment.held:
                continue
            lead = len(segment.held) * self.chunk_rows - segment.held_rows
            alignment.append((rows, len(chunks), lead))
            chunks.extend(reversed(segment.held))
            rows += segment.held_rows
        num_items = min(rows, self.cap)
        return self._builder.result_of(
            chunks,
            archive_names=self._archive_names,
            dictionary=self._dictionary,
            num_items=num_items,
            total_matches=max(total_matches, num_items),
            archive_ids=archive_ids,
            segments=alignment,
        )

    def close(self) -> None:
        """Lets the worker threads go without waiting for them; safe to call twice."""
        for future, _, _ in self._in_flight:
            future.cancel()
        self._workers.close()

    # --- internals ----------------------------------------------------------------------------

    def _check(self, rows: pa.RecordBatch) -> None:
        if not self.active:
            msg = "this streaming build gave its rows back and takes no more"
            raise RuntimeError(msg)
        if not rows.schema.equals(RESULT_SCHEMA):
            msg = f"a streaming build takes rows of {RESULT_SCHEMA}, got {rows.schema}"
            raise ValueError(msg)

    def _add(self, rows: pa.RecordBatch) -> None:
        self._pending.append(rows)
        self._pending_rows += rows.num_rows
        while self._pending_rows >= self.group_rows:
            self._encode(self.group_rows)
        self._collect(keep_in_flight=self._settings.compression_threads, trim=True)

    def _close_current(self) -> None:
        """Lays out the current segment's last rows: whole chunks, then the short newest."""
        if self._current is None:
            return
        head = self._pending_rows % self.chunk_rows
        if self._pending_rows > head:
            self._encode(self._pending_rows - head)
        if head:
            self._encode(head)
        self._current.closed = True
        self._current = None

    def _encode(self, rows: int) -> None:
        """Encodes the oldest ``rows`` pending rows (whole chunks, or the newest short one)."""
        segment = self._current
        assert segment is not None
        table = pa.Table.from_batches(self._pending, schema=RESULT_SCHEMA)
        self._pending = table.slice(rows).to_batches()
        self._pending_rows -= rows
        # Result order within the group: its newest row first. A group of whole chunks keeps
        # every chunk boundary where counting from the segment's oldest row puts it.
        group = table.slice(0, rows).take(_reversed(rows))
        stored = encode_group(group, self.chunk_rows, self._archive_names)
        if not self._dictionary_known:
            segment.untrained.append(stored)
            self._untrained_rows += rows
            self._settle_dictionary(force=False)
            return
        self._compress(stored, segment)

    def _compress(self, stored: pa.Table, segment: StreamSegment) -> None:
        # Laid out here (numpy work that holds the GIL), compressed in a worker; the chunks
        # are listed oldest first, as a segment holds them.
        packed = pack_chunks(stored, self.chunk_rows)
        packed.reverse()
        future = self._workers.submit_chunks(packed)
        self._in_flight.append((future, stored.num_rows, segment))
        self._in_flight_rows += stored.num_rows

    def _settle_dictionary(self, *, force: bool) -> None:
        """Learns the dictionary if it can be known now, then compresses the groups held."""
        sample = self._builder.dictionary_sample
        enough = self._untrained_rows >= self._settings.dictionary_training_rows
        if sample is not None and (force or enough or sample.done()):
            dictionary = sample.result()
        elif sample is None and (force or enough):
            dictionary = train_dictionary(
                [
                    batch
                    for segment in self.segments
                    for stored in segment.untrained
                    for batch in stored.to_batches(max_chunksize=self.chunk_rows)
                ],
                self._builder.page_size,
                self._settings,
            )
        else:
            return
        self._dictionary_known = True
        self._dictionary = dictionary
        self._workers.use_dictionary(dictionary)
        self._untrained_rows = 0
        for segment in self.segments:
            held, segment.untrained = segment.untrained, []
            for stored in held:
                self._compress(stored, segment)

    def _collect(self, *, keep_in_flight: int, trim: bool) -> None:
        """Holds the groups compressed, waiting while more than ``keep_in_flight`` run, then
        (``trim``) drops the oldest chunks that the cap or the byte limit leaves out."""
        while self._in_flight and (
            len(self._in_flight) > keep_in_flight or self._in_flight[0][0].done()
        ):
            future, rows, segment = self._in_flight.popleft()
            for compressed in future.result():
                # Exact-size copies: the worker's frames are sized for the worst case.
                chunk = memoryview(compressed).tobytes()
                segment.held.append(chunk)
                self._held_bytes += len(chunk)
            segment.held_rows += rows
            self._in_flight_rows -= rows
            self._held_rows += rows
        if not trim:
            return
        extra = len(self._dictionary or b"")
        limit = self._limit
        while self.segments and self._held_rows:
            oldest = self.segments[-1]
            if not oldest.held:
                waiting = any(segment is oldest for _, _, segment in self._in_flight)
                if oldest.closed and not oldest.untrained and not waiting:
                    self.segments.pop()  # every row of it was dropped
                    continue
                break  # its rows are still on their way: nothing older is held
            rows = oldest.oldest_chunk_rows(self.chunk_rows)
            over_cap = self.held_rows - rows >= self.cap
            over_limit = limit is not None and self._held_bytes + extra > limit
            if not (over_cap or over_limit) or self._held_rows == rows:
                break
            chunk = oldest.held.popleft()
            oldest.held_rows -= rows
            self._held_bytes -= len(chunk)
            self._held_rows -= rows


def _given_back(
    segments: list[StreamSegment],
    current: StreamSegment | None,
    pending: list[pa.RecordBatch],
    dictionary: bytes | None,
    names: list[str],
    chunk_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The rows of a streaming build, oldest segment first, one chunk decoded at a time."""
    for segment in segments:
        while segment.held:
            raw = decompress(segment.held.popleft(), dictionary)
            yield decode_chunk_bytes(raw).record_batch(names)
        for stored in segment.untrained:
            for raw in reversed(pack_chunks(stored, chunk_rows)):
                yield decode_chunk_bytes(raw).record_batch(names)
        segment.untrained = []
        if segment is current:
            for batch in pending:
                # Pending rows are oldest first; a batch handed back is latest first.
                yield batch.take(_reversed(batch.num_rows))


def _reversed(rows: int) -> pa.Array:
    """:return: The positions of ``rows`` rows, last first."""
    return pa.array(np.arange(rows - 1, -1, -1, dtype=np.int64))
