"""Building a result from rows that arrive latest first (a search backend's merged output).

A :class:`ResultBuilder` encodes each group of chunks as soon as its rows are in and has a
:class:`~logpager.cache.compressor.ChunkCompressor` compress it while the next rows are read,
so the whole result is never held uncompressed; it can stop at a compressed-size limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import replace

import pyarrow as pa

from logpager.cache.codec.encode import encode_chunks, encode_group
from logpager.cache.compressor import ChunkCompressor
from logpager.cache.dictionary import train_dictionary
from logpager.cache.result import QueryResult
from logpager.cache.rows import check_schema, gather_latest_first
from logpager.clock import Clock
from logpager.query import NO_QUERY, QuerySpec
from logpager.settings import Settings

__all__ = ["ResultBuilder"]


class ResultBuilder:
    """
    Builds a :class:`QueryResult` from rows that arrive in result order (latest first).

    Whole chunks are encoded as soon as their rows are in and compressed in worker threads
    (zstd releases the GIL) while the next rows are read, so the builder never holds the
    whole result uncompressed: it holds the compressed chunks, the rows of one unfinished
    group of chunks, a bounded number of groups being compressed, and, until the zstd
    dictionary is known, the encoded chunks of the first ``settings.dictionary_training_rows``
    rows. :meth:`prime` trains the dictionary on a sample instead, before the rows arrive
    (e.g. while the search that produces them still runs). Rows past the cap are counted, not
    kept.

    With ``max_compressed_bytes``, chunks stop being added once the next one would take the
    compressed bytes (dictionary included) past it; the first chunk is always kept. The result
    then holds the latest rows, a whole number of chunks, and says it is truncated.

    Use :meth:`build` (or :meth:`add` then :meth:`finish`); :meth:`close` releases the worker
    threads of a builder that is given up.

    :param spec: What the rows answer: its ``page_size`` and ``max_results`` override the
        settings', and the result keeps the spec.
    :param settings: Chunking, compression and cap settings; defaults when omitted.
    :param max_compressed_bytes: Limit of the compressed bytes; ``None``: no limit.
    :param clock: Monotonic clock for the result's ``created_at`` and ``last_accessed``.
    :raise ValueError: If the limit is negative.
    """

    def __init__(
        self,
        spec: QuerySpec = NO_QUERY,
        *,
        settings: Settings | None = None,
        max_compressed_bytes: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._settings = settings = settings or Settings()
        self.page_size: int = spec.page_size or settings.page_size
        self.cap: int = spec.max_results or settings.max_cached_results
        self.spec = replace(spec, page_size=self.page_size, max_results=self.cap)
        """The spec with its page size and cap resolved against the settings."""
        self.clock = clock
        """Monotonic clock of the results built."""
        if max_compressed_bytes is not None and max_compressed_bytes < 0:
            msg = f"max_compressed_bytes must not be negative, got {max_compressed_bytes}"
            raise ValueError(msg)
        self.chunk_rows = settings.pages_per_chunk * self.page_size
        self.max_compressed_bytes = max_compressed_bytes
        self.rows_received = 0
        """Rows passed to :meth:`add`, kept or not."""
        self.group_rows = max(settings.build_group_rows // self.chunk_rows, 1) * self.chunk_rows
        """Rows encoded and compressed together: whole chunks, about ``build_group_rows``."""
        self._schema: pa.Schema | None = None
        self._archive_names: list[str] = []
        self._accepted = 0  # rows taken in (at most the cap), encoded or pending
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._untrained: list[pa.Table] = []  # stored groups waiting for the dictionary
        self._untrained_rows = 0
        self._dictionary_known = False
        self._dictionary: bytes | None = None
        self._dictionary_future: Future[bytes | None] | None = None
        self._compressor = ChunkCompressor(settings, max_compressed_bytes)
        self._closed = False

    @property
    def full(self) -> bool:
        """:return: Whether no further row can be kept (the cap or the byte limit is reached)."""
        return self._compressor.over_limit or self._accepted >= self.cap

    @property
    def compressed_bytes(self) -> int:
        """:return: Bytes of the chunks compressed so far and of the dictionary."""
        return self._compressor.compressed_bytes

    @property
    def dictionary_sample(self) -> Future[bytes | None] | None:
        """:return: The dictionary being trained on :meth:`prime`'s sample; None if unprimed."""
        return self._dictionary_future

    def prime(self, sample: pa.RecordBatch | pa.Table) -> None:
        """
        Starts training the zstd dictionary on sample rows, in a worker thread.

        Meant to be called before any row is added, from any thread (a search backend's
        ``on_sample``); later calls, and calls after rows were added, do nothing. The sample
        is not part of the result.

        :param sample: Rows like the result's, e.g. its first hits (a few thousand rows).
        :raise ValueError: If the sample's schema is not one results are stored in.
        """
        check_schema(sample.schema, sample.schema)
        if (
            self._closed
            or self._dictionary_known
            or self._dictionary_future is not None
            or self._accepted
        ):
            return
        rows = pa.Table.from_batches([sample]) if isinstance(sample, pa.RecordBatch) else sample
        # Encoded here, trained there: Arrow's allocator keeps memory per thread, and the
        # sample's encoded copy held by a worker's heap cost ~30 MB of RSS with mimalloc.
        encoded = encode_chunks(rows, self.chunk_rows, [])
        self._dictionary_future = self._compressor.submit(
            train_dictionary, encoded, self.page_size, self._settings
        )

    def add(self, rows: pa.RecordBatch | pa.Table) -> None:
        """
        Takes the next rows of the result.

        :param rows: Rows with :data:`~logpager.schema.RESULT_SCHEMA` or the verbatim schema
            (the same for every call), following the rows added before in result order.
        :raise ValueError: If the schema differs from the first rows' or is not supported.
        """
        if self._schema is None:
            self._schema = rows.schema
        check_schema(rows.schema, self._schema)
        self.rows_received += rows.num_rows
        take = min(rows.num_rows, self.cap - self._accepted)
        if self.full or take <= 0:
            return
        kept = rows.slice(0, take)
        self._pending.extend(kept.to_batches() if isinstance(kept, pa.Table) else [kept])
        self._pending_rows += take
        self._accepted += take
        # Whole groups only: odd-sized batches would otherwise cost an extra, smaller encode
        # each; the rest waits for the next rows or for finish().
        while self._pending_rows >= self.group_rows and not self._compressor.over_limit:
            self._encode(self.group_rows, parallel=True)

    def build(
        self,
        batches: Iterable[pa.RecordBatch | pa.Table],
        *,
        total_matches: int | None = None,
        archive_ids: Sequence[str] | None = None,
    ) -> QueryResult:
        """
        Adds every batch, then finishes; stops reading early once nothing more can be kept
        and ``total_matches`` says how many there were.

        :param batches: Rows in result order (read once, one batch at a time).
        :param total_matches: The engine's count of all matches; at least the rows received.
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :return: The compressed, pageable result.
        :raise ValueError: If a batch's schema differs from the first's or is not supported.
        """
        try:
            for batch in batches:
                if self.full and total_matches is not None:
                    break
                self.add(batch)
            return self.finish(total_matches=total_matches, archive_ids=archive_ids)
        finally:
            self.close()

    def build_unsorted(
        self, batches: Iterable[pa.RecordBatch | pa.Table], *, total_matches: int | None = None
    ) -> QueryResult:
        """
        Gathers rows that come in any order, sorts them latest first, then builds.

        :param batches: Rows with one schema results are stored in, in any order (all held
            at once while they are sorted).
        :param total_matches: The engine's count of all matches; at least the rows received.
        :return: The compressed, pageable result.
        :raise ValueError: If a batch has another schema or an unsupported one.
        """
        try:
            table = gather_latest_first(batches)
        except BaseException:
            self.close()
            raise
        received = table.num_rows
        matches = max(total_matches if total_matches is not None else received, received)
        groups = table.to_batches(max_chunksize=self.group_rows) or [table.schema.empty_table()]
        return self.build(groups, total_matches=matches)

    def finish(
        self, *, total_matches: int | None = None, archive_ids: Sequence[str] | None = None
    ) -> QueryResult:
        """
        Encodes the last rows, waits for their compression and makes the result.

        :param total_matches: The engine's count of all matches; at least the rows received.
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :return: The compressed, pageable result.
        """
        while self._pending_rows and not self._compressor.over_limit:
            self._encode(min(self._pending_rows, self.group_rows), parallel=False)
        self._pending = []
        if not self._dictionary_known:
            self._settle_dictionary(force=True)
        self._compressor.collect(keep_in_flight=0)
        self.close()
        received = self.rows_received
        matches = max(total_matches if total_matches is not None else received, received)
        return self.result_of(
            self._compressor.chunks,
            archive_names=self._archive_names,
            dictionary=self._dictionary,
            num_items=self._compressor.kept_rows,
            total_matches=matches,
            archive_ids=archive_ids,
        )

    def result_of(
        self,
        chunks: list[bytes],
        *,
        archive_names: list[str],
        dictionary: bytes | None,
        num_items: int,
        total_matches: int,
        archive_ids: Sequence[str] | None,
        segments: list[tuple[int, int, int]] | None = None,
    ) -> QueryResult:
        """
        The result of chunks built for this builder's spec and settings (this builder's own,
        or a streaming build's that shares its spec, dictionary sample and clock).

        :param chunks: The compressed chunks, in result order.
        :param archive_names: The archive names the chunks' archive codes index.
        :param dictionary: The chunks' zstd dictionary, if any.
        :param num_items: Rows the result serves.
        :param total_matches: Every match the engine counted (at least ``num_items``).
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :param segments: Where items lie in the chunks (see
            :class:`~logpager.cache.alignment.ChunkAlignment`); ``None``: chunks of whole
            pages from the newest row.
        :return: The compressed, pageable result.
        """
        return QueryResult(
            chunks=chunks,
            archive_names=archive_names,
            dictionary=dictionary,
            num_items=num_items,
            num_total_matches=total_matches,
            chunk_rows=self.chunk_rows,
            segments=segments,
            spec=self.spec if archive_ids is None else self.spec.with_archives(archive_ids),
            link_template=self._settings.link_template,
            decoded_capacity=self._settings.decoded_chunk_cache_size,
            clock=self.clock,
        )

    def close(self) -> None:
        """
        Lets the worker threads go without waiting for them (queued work is dropped, a task
        already running ends on its own); safe to call twice and from an event loop.
        """
        self._closed = True
        self._compressor.close()

    # --- internals ----------------------------------------------------------------------------

    def _encode(self, rows: int, *, parallel: bool) -> None:
        """Encodes the first ``rows`` pending rows (whole chunks, or the last rows)."""
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        stored = encode_group(table.slice(0, rows), self.chunk_rows, self._archive_names)
        self._pending = table.slice(rows).to_batches()
        self._pending_rows -= rows
        if not self._dictionary_known:
            self._untrained.append(stored)
            self._untrained_rows += rows
            self._settle_dictionary(force=False)
            return
        self._compressor.compress([stored], self.chunk_rows, parallel=parallel)

    def _settle_dictionary(self, *, force: bool) -> None:
        """Learns the dictionary if it can be known now, then compresses the rows held."""
        if self._dictionary_future is not None:
            dictionary = self._dictionary_future.result()
        elif force or self._untrained_rows >= self._settings.dictionary_training_rows:
            dictionary = train_dictionary(
                [
                    batch
                    for stored in self._untrained
                    for batch in stored.to_batches(max_chunksize=self.chunk_rows)
                ],
                self.page_size,
                self._settings,
            )
        else:
            return
        self._dictionary_known = True
        self._dictionary = dictionary
        self._compressor.use_dictionary(dictionary)
        held, self._untrained = self._untrained, []
        self._untrained_rows = 0
        self._compressor.compress(held, self.chunk_rows, parallel=not force)
