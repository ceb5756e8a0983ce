"""Building a result while its rows still arrive, oldest first (a search that reports in order).

A :class:`ResultBuilder` takes rows latest first, so a search's build waits for the search to
end and for its hits to be merged. When the hits come in time order instead (one archive of
text logs, one schema, archives in time order), a :class:`StreamingBuild` lays out and
compresses the result's chunks as the rows arrive. Its chunks are aligned from the OLDEST
row: every chunk holds ``chunk_rows`` rows but the newest one, which holds the rest; the
result records how many rows that first chunk lacks (``lead_rows``), and the read path
(:class:`~logpager.cache.result.QueryResult`) joins a page's slices across two chunks.

The cap keeps the latest rows, which are not known until the rows end: whole oldest chunks
are dropped as soon as the newer rows held fill the cap without them, and the few oldest rows
of the last chunk kept past the cap are hidden (the result's ``num_items`` ends before them).
The byte limit keeps the latest rows too: the oldest chunks are dropped while the compressed
bytes exceed it (the newest chunk is always kept).

When the rows stop arriving in order, :meth:`StreamingBuild.give_back` hands back what was
taken in, oldest first, so the caller can sort it with the rest (a search's runs) and build
the result latest first as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future

import numpy as np
import pyarrow as pa
import zstandard

from logpager.cache.builder import ResultBuilder
from logpager.cache.codec.contexts import decompress
from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.encode import encode_group
from logpager.cache.codec.layout import pack_chunks
from logpager.cache.compressor import ChunkCompressor, compress_chunks
from logpager.cache.dictionary import train_dictionary
from logpager.cache.result import QueryResult
from logpager.schema import RESULT_SCHEMA
from logpager.settings import Settings

__all__ = ["StreamingBuild"]


class StreamingBuild:
    """
    Builds a result from rows that arrive oldest first, while they arrive.

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
        self._archive_names: list[str] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._untrained: list[pa.Table] = []  # encoded groups waiting for the dictionary
        self._untrained_rows = 0
        # Groups being compressed, with their rows; their chunks come back oldest first.
        self._in_flight: deque[tuple[Future[list[bytes]], int]] = deque()
        self._in_flight_rows = 0
        # Compressed chunks, oldest first: all of chunk_rows rows but the newest, once
        # finish() has laid out the short one.
        self._held: deque[bytes] = deque()
        self._held_rows = 0
        self._held_bytes = 0
        self._dictionary_known = False
        self._dictionary: bytes | None = None
        self._zstd_dict: zstandard.ZstdCompressionDict | None = None

    @property
    def held_rows(self) -> int:
        """:return: Rows taken in and still held (pending, encoded or compressed)."""
        return self._pending_rows + self._untrained_rows + self._in_flight_rows + self._held_rows

    def take(self, rows: pa.RecordBatch | pa.Table) -> None:
        """
        Takes the next rows, oldest first.

        :param rows: Rows with :data:`~logpager.schema.RESULT_SCHEMA`, oldest first, each
            one ranking before (newer than) every row taken before.
        :raise RuntimeError: If the rows were given back already.
        :raise ValueError: If the rows have another schema.
        """
        if not self.active:
            msg = "this streaming build gave its rows back and takes no more"
            raise RuntimeError(msg)
        if not rows.schema.equals(RESULT_SCHEMA):
            msg = f"a streaming build takes rows of {RESULT_SCHEMA}, got {rows.schema}"
            raise ValueError(msg)
        if not rows.num_rows:
            return
        self._pending.extend(rows.to_batches() if isinstance(rows, pa.Table) else [rows])
        self._pending_rows += rows.num_rows
        while self._pending_rows >= self.group_rows:
            self._encode(self.group_rows)
        self._collect(keep_in_flight=self._settings.compression_threads)

    def clear(self) -> None:
        """Forgets every row taken in, and takes rows again (a search that starts over)."""
        for future, _ in self._in_flight:
            future.cancel()
        self._reset()
        self.active = True

    def give_back(self) -> Iterator[pa.RecordBatch]:
        """
        Stops streaming and hands back the rows held, oldest chunk first.

        :return: Batches of :data:`~logpager.schema.RESULT_SCHEMA`, each latest first within
            itself, the batches oldest first; rows dropped for the cap or the byte limit
            (they cannot be among the latest ``cap``) are not among them.
        """
        self.active = False
        self._collect(keep_in_flight=0)
        dictionary = self._dictionary
        held, self._held = self._held, deque()
        untrained, self._untrained = self._untrained, []
        pending, self._pending = self._pending, []
        names = self._archive_names
        self._reset()
        self._workers.close()
        return _given_back(held, dictionary, untrained, pending, names, self.chunk_rows)

    def finish(
        self, *, total_matches: int, archive_ids: Sequence[str] | None = None
    ) -> QueryResult:
        """
        Lays out the newest rows (the short first chunk), waits for the compression and makes
        the result.

        :param total_matches: The engine's count of all matches; at least the rows taken.
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :return: The compressed, pageable result, latest first.
        :raise RuntimeError: If the rows were given back already.
        """
        if not self.active:
            msg = "this streaming build gave its rows back and cannot finish"
            raise RuntimeError(msg)
        head = self._pending_rows % self.chunk_rows
        if self._pending_rows > head:
            self._encode(self._pending_rows - head)
        if head:
            self._encode(head)
        if not self._dictionary_known:
            self._settle_dictionary(force=True)
        self._collect(keep_in_flight=0)
        self._workers.close()
        # The newest chunk is the short one when the rows are not a whole number of chunks:
        # it is the last held, and the first of the result.
        chunks = list(reversed(self._held))
        kept = self._held_rows
        lead = len(chunks) * self.chunk_rows - kept
        builder = self._builder
        spec = builder.spec if archive_ids is None else builder.spec.with_archives(archive_ids)
        num_items = min(kept, self.cap)
        return QueryResult(
            chunks=chunks,
            archive_names=self._archive_names,
            dictionary=self._dictionary,
            num_items=num_items,
            num_total_matches=max(total_matches, num_items),
            chunk_rows=self.chunk_rows,
            lead_rows=lead,
            spec=spec,
            link_template=self._settings.link_template,
            decoded_capacity=self._settings.decoded_chunk_cache_size,
            clock=builder.clock,
        )

    def close(self) -> None:
        """Lets the worker threads go without waiting for them; safe to call twice."""
        for future, _ in self._in_flight:
            future.cancel()
        self._workers.close()

    # --- internals ----------------------------------------------------------------------------

    def _encode(self, rows: int) -> None:
        """Encodes the oldest ``rows`` pending rows (whole chunks, or the newest short one)."""
        table = pa.Table.from_batches(self._pending, schema=RESULT_SCHEMA)
        self._pending = table.slice(rows).to_batches()
        self._pending_rows -= rows
        # Result order within the group: its newest row first. A group of whole chunks keeps
        # every chunk boundary where counting from the oldest row puts it.
        group = table.slice(0, rows).take(_reversed(rows))
        stored = encode_group(group, self.chunk_rows, self._archive_names)
        if not self._dictionary_known:
            self._untrained.append(stored)
            self._untrained_rows += rows
            self._settle_dictionary(force=False)
            return
        self._compress(stored)

    def _compress(self, stored: pa.Table) -> None:
        # Laid out here (numpy work that holds the GIL), compressed in a worker; the chunks
        # are listed oldest first, as they are held.
        packed = pack_chunks(stored, self.chunk_rows)
        packed.reverse()
        level = self._settings.zstd_level
        future = self._workers.submit(compress_chunks, packed, level, self._zstd_dict)
        self._in_flight.append((future, stored.num_rows))
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
                    for stored in self._untrained
                    for batch in stored.to_batches(max_chunksize=self.chunk_rows)
                ],
                self._builder.page_size,
                self._settings,
            )
        else:
            return
        self._dictionary_known = True
        self._dictionary = dictionary
        if dictionary:
            self._zstd_dict = zstandard.ZstdCompressionDict(dictionary)
            self._zstd_dict.precompute_compress(level=self._settings.zstd_level)
        held, self._untrained = self._untrained, []
        self._untrained_rows = 0
        for stored in held:
            self._compress(stored)

    def _collect(self, *, keep_in_flight: int) -> None:
        """Holds the groups compressed, waiting while more than ``keep_in_flight`` run, then
        drops the oldest chunks that the cap or the byte limit leaves out."""
        while self._in_flight and (
            len(self._in_flight) > keep_in_flight or self._in_flight[0][0].done()
        ):
            future, rows = self._in_flight.popleft()
            for compressed in future.result():
                # Exact-size copies: the worker's frames are sized for the worst case.
                chunk = memoryview(compressed).tobytes()
                self._held.append(chunk)
                self._held_bytes += len(chunk)
            self._in_flight_rows -= rows
            self._held_rows += rows
        # The oldest chunk held is a full one whenever another is held. It goes once the rows
        # newer than it fill the cap (the latest rows are kept), or while the chunks' bytes
        # exceed the byte limit.
        while len(self._held) > 1 and self.held_rows - self.chunk_rows >= self.cap:
            self._drop_oldest()
        limit = self._limit
        if limit is not None:
            extra = len(self._dictionary or b"")
            while len(self._held) > 1 and self._held_bytes + extra > limit:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        self._held_bytes -= len(self._held.popleft())
        self._held_rows -= self.chunk_rows


def _given_back(
    held: deque[bytes],
    dictionary: bytes | None,
    untrained: list[pa.Table],
    pending: list[pa.RecordBatch],
    names: list[str],
    chunk_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The rows of a streaming build, oldest first, one chunk decoded at a time."""
    while held:
        raw = decompress(held.popleft(), dictionary)
        yield decode_chunk_bytes(raw).record_batch(names)
    for stored in untrained:
        for raw in reversed(pack_chunks(stored, chunk_rows)):
            yield decode_chunk_bytes(raw).record_batch(names)
    for batch in pending:
        # Pending rows are oldest first; a batch handed back is latest first.
        yield batch.take(_reversed(batch.num_rows))


def _reversed(rows: int) -> pa.Array:
    """:return: The positions of ``rows`` rows, last first."""
    return pa.array(np.arange(rows - 1, -1, -1, dtype=np.int64))
