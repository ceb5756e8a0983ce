"""One query's cached results: zstd-compressed Arrow record batches in page-aligned chunks.

A :class:`QueryResult` holds no Python list of its results once built. Its rows are cut into
chunks of ``pages_per_chunk x page_size`` rows, each laid out by
:mod:`logpager.cache.codec.encode` as the stored form of Arrow record batches and compressed with
zstd and, where it pays for itself, a dictionary trained on the result's own chunks. A
result holds the compressed chunks and the dictionary's bytes, nothing else of size: zstd
contexts are shared per thread. A page fetch decompresses only the chunk that holds the
page, decodes it once (numbers, one message string, the timestamps' text) and keeps it in a
small LRU, so any page of it is one f-string an item.

A :class:`ResultBuilder` makes one from rows that arrive latest first (a search backend's
merged output): it encodes and compresses each chunk as soon as its rows are in, so the whole
result is never held uncompressed, and can stop at a compressed-size limit.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, overload

import pyarrow as pa
import pyarrow.compute as pc
import zstandard
from paginate import Page

from logpager.cache.codec.contexts import decompress
from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.decoded import DecodedChunk, Link
from logpager.cache.codec.encode import encode_chunks, encode_group, encode_table
from logpager.cache.codec.layout import pack_chunks
from logpager.cache.dictionary import train_dictionary
from logpager.clock import Clock
from logpager.errors import InvalidPageIndexError
from logpager.query import NO_QUERY, QuerySpec
from logpager.schema import (
    ARCHIVE_ID,
    ITEM,
    LOG_EVENT_INDEX,
    MESSAGE,
    RESULT_SCHEMA,
    TIMESTAMP,
    VERBATIM_SCHEMA,
)
from logpager.settings import Settings

__all__ = ["PageDict", "QueryResult", "ResultBuilder", "validate_page_index"]

PageDict = dict[str, Any]


def validate_page_index(page_index: object, num_total_pages: int) -> int:
    """
    Checks an agent-supplied page index before any page arithmetic.

    ``paginate.Page`` clamps numbers below 1 to 1, so a negative index would silently serve
    page 0; this check runs first.

    :param page_index: The requested 0-based page index, as received.
    :param num_total_pages: Pages in the result.
    :return: The index as an ``int``.
    :raise InvalidPageIndexError: Unless ``page_index`` is a real ``int`` (not ``bool``) in
        ``0..num_total_pages-1``.
    """
    if type(page_index) is not int or page_index < 0 or page_index >= max(num_total_pages, 1):
        raise InvalidPageIndexError(num_total_pages)
    return page_index


def _rows_from_items(items: Sequence[str | dict[str, Any]]) -> pa.Table:
    """Turns the seed API's items into a table: strings verbatim, dicts as event rows."""
    if not items:
        return RESULT_SCHEMA.empty_table()
    if all(isinstance(x, str) for x in items):
        return pa.table({ITEM: pa.array(items, pa.string())}, schema=VERBATIM_SCHEMA)
    if not all(isinstance(x, dict) for x in items):
        msg = "results must be all strings (formatted items) or all dicts (events)"
        raise TypeError(msg)
    columns: dict[str, list[Any]] = {
        TIMESTAMP: [],
        MESSAGE: [],
        ARCHIVE_ID: [],
        LOG_EVENT_INDEX: [],
    }
    for event in items:
        assert isinstance(event, dict)
        ts = event.get(TIMESTAMP)
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int)):
            msg = f"event timestamp must be epoch milliseconds (int), got {ts!r}"
            raise TypeError(msg)
        message = event.get(MESSAGE)
        if message is None:
            rest = {k: v for k, v in event.items() if k not in (ARCHIVE_ID, LOG_EVENT_INDEX)}
            message = json.dumps(rest, ensure_ascii=False)
        columns[TIMESTAMP].append(ts)
        columns[MESSAGE].append(str(message))
        columns[ARCHIVE_ID].append(str(event.get(ARCHIVE_ID) or ""))
        columns[LOG_EVENT_INDEX].append(event.get(LOG_EVENT_INDEX))
    table = pa.table(columns, schema=RESULT_SCHEMA)
    # Dicts carry timestamps, so they are put latest first here; the sort is stable, so input
    # that is already ordered keeps its order among equal timestamps.
    return _sort_latest_first(table)


def _sort_latest_first(table: pa.Table) -> pa.Table:
    if table.num_rows <= 1 or TIMESTAMP not in table.column_names:
        return table
    # Arrow's sort_indices is stable, so rows with equal timestamps keep the engine's order.
    order = pc.sort_indices(table, sort_keys=[(TIMESTAMP, "descending", "at_end")])
    return table.take(order)


class _LazyItems(Sequence[str]):
    """A read-only sequence over a result's items that decodes one chunk per slice."""

    def __init__(self, result: QueryResult) -> None:
        self._result = result

    def __len__(self) -> int:
        return self._result.num_items

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            out: list[str] = []
            rows = self._result.chunk_rows
            while start < stop:
                chunk_index, offset = divmod(start, rows)
                take = min(stop - start, rows - offset)
                out.extend(self._result._format_rows(chunk_index, offset, offset + take))
                start += take
            return out
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        chunk_index, offset = divmod(index, self._result.chunk_rows)
        return self._result._format_rows(chunk_index, offset, offset + 1)[0]

    def __iter__(self) -> Iterator[str]:
        rows = self._result.chunk_rows
        for chunk_index in range(self._result.num_chunks):
            yield from self._result._format_rows(chunk_index, 0, rows)


class QueryResult:
    """
    One query's results, compressed, ordered latest first, and pageable.

    Build one with :meth:`from_batches` (what the search backends produce) or
    :meth:`from_items` (the seed API's list of strings or dicts).
    """

    __slots__ = (
        "_archive_names",
        "_chunks",
        "_clock",
        "_decoded",
        "_decoded_bytes",
        "_decoded_capacity",
        "_dictionary",
        "_lazy",
        "_link_parts",
        "_link_template",
        "_schema",
        "_stored_schema",
        "chunk_rows",
        "created_at",
        "last_accessed",
        "num_items",
        "num_total_matches",
        "page_size",
        "spec",
    )

    def __init__(
        self,
        *,
        schema: pa.Schema,
        stored_schema: pa.Schema,
        chunks: list[bytes],
        archive_names: list[str],
        dictionary: bytes | None,
        num_items: int,
        num_total_matches: int,
        chunk_rows: int,
        spec: QuerySpec,
        link_template: str,
        decoded_capacity: int,
        clock: Clock,
    ) -> None:
        """Use :meth:`from_batches` or :meth:`from_items`; this stores built chunks."""
        self._schema = schema
        self._stored_schema = stored_schema
        self._chunks = chunks
        self._archive_names = archive_names
        # Only the dictionary's bytes are held: decompression contexts are shared per thread
        # (chunkcodec.decompress), as one with a digested dictionary costs ~120 KB of C memory.
        self._dictionary = dictionary
        self._decoded: OrderedDict[int, DecodedChunk] = OrderedDict()
        self._decoded_bytes = 0
        self._decoded_capacity = decoded_capacity
        self._link_template = link_template
        # None where a row's link is N/A: an archive without a name (or no archive at all).
        parts = [_split_link(link_template, name) for name in archive_names]
        self._link_parts: list[Link] = [
            part if name else None for part, name in zip(parts, archive_names, strict=True)
        ] or [None]
        self._clock = clock
        self._lazy = _LazyItems(self)
        self.num_items = num_items
        self.num_total_matches = num_total_matches
        self.spec = spec
        """What was searched: page size, cap and archives resolved to what this result holds."""
        assert spec.page_size is not None
        self.page_size: int = spec.page_size
        self.chunk_rows = chunk_rows
        self.created_at = clock()
        self.last_accessed = self.created_at

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_batches(
        cls,
        batches: Iterable[pa.RecordBatch | pa.Table],
        spec: QuerySpec = NO_QUERY,
        *,
        settings: Settings | None = None,
        total_matches: int | None = None,
        presorted: bool = False,
        max_compressed_bytes: int | None = None,
        clock: Clock = time.monotonic,
    ) -> QueryResult:
        """
        Builds a cached result from record batches.

        Presorted batches are streamed through a :class:`ResultBuilder` (read once, one at a
        time); others are gathered and sorted first.

        :param batches: Batches with :data:`~logpager.schema.RESULT_SCHEMA` (or the verbatim
            schema), in any order unless ``presorted``.
        :param spec: What produced them: the query, its time range, the archives it covered
            (so a re-run sees the same data), the cap and the page size (``None`` fields:
            the settings').
        :param settings: Chunking, compression and cap settings; defaults when omitted.
        :param total_matches: The engine's count of all matches, when it saw more rows than it
            passed on; defaults to the rows received.
        :param presorted: The batches are already latest first (skips the sort, and streams).
        :param max_compressed_bytes: Stop adding chunks once the compressed bytes would exceed
            this (see :class:`ResultBuilder`); ``None``: no limit.
        :param clock: Monotonic clock for ``created_at`` and ``last_accessed``.
        :return: The compressed, pageable result.
        :raise ValueError: If a batch has another schema or a size is not positive.
        """
        builder = ResultBuilder(
            spec, settings=settings, max_compressed_bytes=max_compressed_bytes, clock=clock
        )
        if presorted:
            return builder.build(batches, total_matches=total_matches)
        try:
            parts = list(batches)
            schema = parts[0].schema if parts else RESULT_SCHEMA
            for part in parts:
                _check_schema(part.schema, schema)
            table = pa.concat_tables(
                [p if isinstance(p, pa.Table) else pa.Table.from_batches([p]) for p in parts]
                or [schema.empty_table()]
            )
            del parts
            table = _sort_latest_first(table)
        except BaseException:
            builder.close()
            raise
        received = table.num_rows
        matches = max(total_matches if total_matches is not None else received, received)
        groups = table.to_batches(max_chunksize=builder.group_rows) or [schema.empty_table()]
        return builder.build(groups, total_matches=matches)

    @classmethod
    def from_items(
        cls,
        items: Sequence[str | dict[str, Any]],
        spec: QuerySpec = NO_QUERY,
        *,
        settings: Settings | None = None,
        clock: Clock = time.monotonic,
    ) -> QueryResult:
        """
        Builds a cached result from the seed API's items.

        Strings are formatted items, kept verbatim in the given order. Dicts are events with
        ``timestamp`` (epoch ms or ``None``) and ``message`` (and optionally ``archive_id``,
        ``log_event_index``); they are ordered latest first.

        :param items: All strings or all dicts.
        :param spec: The query that produced them; its ``max_results`` keeps the first
            (latest) items, its ``page_size`` overrides the setting.
        :param settings: Settings; defaults when omitted.
        :param clock: Monotonic clock.
        :return: The compressed, pageable result.
        :raise TypeError: If items mix kinds or a timestamp is not an int.
        """
        table = _rows_from_items(items)
        return cls.from_batches(
            [table],
            spec,
            settings=settings,
            total_matches=len(items),
            presorted=True,
            clock=clock,
        )

    # --- facts ---------------------------------------------------------------------------------

    @property
    def query(self) -> str:
        """:return: The query that produced the result."""
        return self.spec.query

    @property
    def begin_ms(self) -> int | None:
        """:return: Lower time bound of the search (epoch ms), if any."""
        return self.spec.begin_ms

    @property
    def end_ms(self) -> int | None:
        """:return: Upper time bound of the search (epoch ms), if any."""
        return self.spec.end_ms

    @property
    def archive_ids(self) -> tuple[str, ...]:
        """:return: The archives the search covered (empty when not from a search)."""
        return self.spec.archive_ids or ()

    @property
    def num_pages(self) -> int:
        """:return: Pages in the result (0 when it is empty)."""
        return math.ceil(self.num_items / self.page_size)

    @property
    def num_chunks(self) -> int:
        """:return: Compressed chunks held."""
        return len(self._chunks)

    @property
    def truncated(self) -> bool:
        """:return: Whether the search matched more events than are kept."""
        return self.num_total_matches > self.num_items

    @property
    def compressed_bytes(self) -> int:
        """:return: Exact bytes of the compressed chunks and the dictionary."""
        return sum(len(c) for c in self._chunks) + len(self._dictionary or b"")

    @property
    def decoded_bytes(self) -> int:
        """:return: Approximate bytes held by the decoded-chunk LRU (string payloads)."""
        return self._decoded_bytes

    @property
    def nbytes(self) -> int:
        """:return: Everything this result holds: compressed plus decoded bytes."""
        return self.compressed_bytes + self._decoded_bytes

    def touch(self) -> None:
        """Marks the result as used now (for TTL and LRU)."""
        self.last_accessed = self._clock()

    # --- paging ----------------------------------------------------------------------------------

    def get_page(self, page_index: object) -> PageDict:
        """
        Serves one page.

        :param page_index: 0-based page index.
        :return: The page dict: ``items``, ``num_total_pages``, ``num_total_items``,
            ``num_items_per_page``, ``has_next``, ``has_previous``, ``page_index``,
            ``num_total_matches``, ``truncated``.
        :raise InvalidPageIndexError: If the index is not an int in range (an empty result
            has one empty page, index 0).
        """
        num_pages = self.num_pages
        index = validate_page_index(page_index, num_pages)
        page = Page(
            self._lazy,
            page=index + 1,
            items_per_page=self.page_size,
            item_count=self.num_items,
        )
        self.touch()
        return {
            "items": page.items,
            "num_total_pages": num_pages,
            "num_total_items": self.num_items,
            "num_items_per_page": self.page_size,
            "has_next": page.next_page is not None,
            "has_previous": page.previous_page is not None,
            "page_index": index,
            "num_total_matches": self.num_total_matches,
            "truncated": self.truncated,
        }

    def iter_items(self) -> Iterator[str]:
        """:return: Every item, latest first, one chunk decoded at a time."""
        return iter(self._lazy)

    def drop_decoded(self) -> int:
        """
        Empties the decoded-chunk LRU (cheap to rebuild).

        :return: Bytes released.
        """
        freed = self._decoded_bytes
        self._decoded.clear()
        self._decoded_bytes = 0
        return freed

    def _decoded_chunk(self, chunk_index: int) -> DecodedChunk:
        cached = self._decoded.get(chunk_index)
        if cached is not None:
            self._decoded.move_to_end(chunk_index)
            return cached
        chunk = decode_chunk_bytes(decompress(self._chunks[chunk_index], self._dictionary))
        if self._decoded_capacity > 0:
            self._decoded[chunk_index] = chunk
            self._decoded_bytes += chunk.nbytes
            while len(self._decoded) > self._decoded_capacity:
                _, old = self._decoded.popitem(last=False)
                self._decoded_bytes -= old.nbytes
        return chunk

    def _format_rows(self, chunk_index: int, start: int, stop: int) -> list[str]:
        """Formats rows ``start:stop`` of one chunk as the reference's item lines."""
        chunk = self._decoded_chunk(chunk_index)
        # Iteration asks for whole chunks; the last one may be short.
        return chunk.items(start, min(stop, chunk.num_rows), self._link_parts)

    def check(self) -> None:
        """
        Verifies internal accounting; raises on any inconsistency.

        :raise AssertionError: If chunk counts, row counts or byte counts disagree.
        """
        expected_chunks = math.ceil(self.num_items / self.chunk_rows)
        if len(self._chunks) != expected_chunks:
            msg = f"{len(self._chunks)} chunks for {self.num_items} rows, want {expected_chunks}"
            raise AssertionError(msg)
        if self.num_total_matches < self.num_items:
            msg = f"matches {self.num_total_matches} < items {self.num_items}"
            raise AssertionError(msg)
        decoded = sum(v.nbytes for v in self._decoded.values())
        if decoded != self._decoded_bytes:
            msg = f"decoded bytes {self._decoded_bytes} != recount {decoded}"
            raise AssertionError(msg)
        if len(self._decoded) > self._decoded_capacity:
            msg = f"decoded LRU holds {len(self._decoded)} > {self._decoded_capacity}"
            raise AssertionError(msg)

    def __repr__(self) -> str:
        return (
            f"QueryResult(query={self.query!r}, items={self.num_items}, "
            f"matches={self.num_total_matches}, pages={self.num_pages}, "
            f"compressed_bytes={self.compressed_bytes})"
        )


def _check_schema(schema: pa.Schema, expected: pa.Schema) -> None:
    """
    :raise ValueError: Unless ``schema`` is ``expected`` and a schema results are stored in.
    """
    if not schema.equals(expected):
        msg = f"batch schema {schema} does not match {expected}"
        raise ValueError(msg)
    if not (schema.equals(RESULT_SCHEMA) or schema.equals(VERBATIM_SCHEMA)):
        msg = f"unsupported result schema: {schema}"
        raise ValueError(msg)


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
        self._clock = clock
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
        self._stored_schema: pa.Schema | None = None
        self._archive_names: list[str] = []
        self._accepted = 0  # rows taken in (at most the cap), encoded or pending
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._untrained: list[pa.Table] = []  # stored groups waiting for the dictionary
        self._untrained_rows = 0
        self._dictionary_known = False
        self._dictionary: bytes | None = None
        self._dictionary_future: Future[bytes | None] | None = None
        self._zstd_dict: zstandard.ZstdCompressionDict | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[tuple[Future[list[bytes]], list[int]]] = deque()
        self._chunks: list[bytes] = []
        self._compressed_bytes = 0
        self._kept_rows = 0
        self._over_limit = False
        self._closed = False

    @property
    def full(self) -> bool:
        """:return: Whether no further row can be kept (the cap or the byte limit is reached)."""
        return self._over_limit or self._accepted >= self.cap

    @property
    def compressed_bytes(self) -> int:
        """:return: Bytes of the chunks compressed so far and of the dictionary."""
        return self._compressed_bytes

    def prime(self, sample: pa.RecordBatch | pa.Table) -> None:
        """
        Starts training the zstd dictionary on sample rows, in a worker thread.

        Meant to be called before any row is added, from any thread (a search backend's
        ``on_sample``); later calls, and calls after rows were added, do nothing. The sample
        is not part of the result.

        :param sample: Rows like the result's, e.g. its first hits (a few thousand rows).
        :raise ValueError: If the sample's schema is not one results are stored in.
        """
        _check_schema(sample.schema, sample.schema)
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
        self._dictionary_future = self._executor().submit(
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
        _check_schema(rows.schema, self._schema)
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
        while self._pending_rows >= self.group_rows and not self._over_limit:
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

    def finish(
        self, *, total_matches: int | None = None, archive_ids: Sequence[str] | None = None
    ) -> QueryResult:
        """
        Encodes the last rows, waits for their compression and makes the result.

        :param total_matches: The engine's count of all matches; at least the rows received.
        :param archive_ids: The archives the search covered (``None``: the spec's).
        :return: The compressed, pageable result.
        """
        schema = self._schema or RESULT_SCHEMA
        while self._pending_rows and not self._over_limit:
            self._encode(min(self._pending_rows, self.group_rows), parallel=False)
        self._pending = []
        if not self._dictionary_known:
            self._settle_dictionary(force=True)
        self._collect(keep_in_flight=0)
        self.close()
        if self._stored_schema is None:
            self._stored_schema = encode_table(schema.empty_table(), self.chunk_rows)[0].schema
        received = self.rows_received
        matches = max(total_matches if total_matches is not None else received, received)
        return QueryResult(
            schema=schema,
            stored_schema=self._stored_schema,
            chunks=self._chunks,
            archive_names=self._archive_names,
            dictionary=self._dictionary,
            num_items=self._kept_rows,
            num_total_matches=matches,
            chunk_rows=self.chunk_rows,
            spec=self.spec if archive_ids is None else self.spec.with_archives(archive_ids),
            link_template=self._settings.link_template,
            decoded_capacity=self._settings.decoded_chunk_cache_size,
            clock=self._clock,
        )

    def close(self) -> None:
        """
        Lets the worker threads go without waiting for them (queued work is dropped, a task
        already running ends on its own); safe to call twice and from an event loop.
        """
        self._closed = True
        for future, _ in self._in_flight:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # --- internals ----------------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._settings.compression_threads,
                thread_name_prefix="logpager-compress",
            )
        return self._pool

    def _encode(self, rows: int, *, parallel: bool) -> None:
        """Encodes the first ``rows`` pending rows (whole chunks, or the last rows)."""
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        stored = encode_group(table.slice(0, rows), self.chunk_rows, self._archive_names)
        self._pending = table.slice(rows).to_batches()
        self._pending_rows -= rows
        if self._stored_schema is None:
            self._stored_schema = stored.schema
        if not self._dictionary_known:
            self._untrained.append(stored)
            self._untrained_rows += rows
            self._settle_dictionary(force=False)
            return
        self._compress([stored], parallel=parallel)

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
        self._compressed_bytes += len(dictionary or b"")
        if dictionary:
            self._zstd_dict = zstandard.ZstdCompressionDict(dictionary)
            # Prepared once here, so each compressing task starts without digesting it again.
            self._zstd_dict.precompute_compress(level=self._settings.zstd_level)
        held, self._untrained = self._untrained, []
        self._untrained_rows = 0
        self._compress(held, parallel=not force)

    def _compress(self, groups: list[pa.Table], *, parallel: bool) -> None:
        """
        Lays out stored groups (here: numpy work that mostly holds the GIL) and compresses
        their chunks, in a worker thread if ``parallel`` (zstd releases the GIL). Laid out
        in the worker instead, the build of 180,000 hits took ~0.012 s longer.
        """
        if not groups:
            return
        size = self.chunk_rows
        rows = [
            min(size, group.num_rows - start)
            for group in groups
            for start in range(0, group.num_rows, size)
        ]
        packed = [chunk for group in groups for chunk in pack_chunks(group, size)]
        level, zstd_dict = self._settings.zstd_level, self._zstd_dict
        if parallel or self._pool is not None:
            future = self._executor().submit(_compress_chunks, packed, level, zstd_dict)
        else:
            # Small results are done before a thread would have started.
            future = Future()
            future.set_result(_compress_chunks(packed, level, zstd_dict))
        self._in_flight.append((future, rows))
        # One group queued per thread at most: bounds the encoded rows held meanwhile.
        self._collect(keep_in_flight=self._settings.compression_threads)

    def _collect(self, *, keep_in_flight: int) -> None:
        """Stores finished groups in order, waiting while more than ``keep_in_flight`` run."""
        limit = self.max_compressed_bytes
        while self._in_flight and (
            len(self._in_flight) > keep_in_flight or self._in_flight[0][0].done()
        ):
            future, rows = self._in_flight.popleft()
            for compressed, count in zip(future.result(), rows, strict=True):
                # python-zstandard returns bytes sized for the worst case (~28 KB for a 5 KB
                # chunk, seen with tracemalloc); an exact-size copy makes the held memory
                # equal to compressed_bytes. Copied here, not in the worker, so that the
                # chunks come from this thread's heap, where the search's runs were freed.
                chunk = memoryview(compressed).tobytes()
                if (
                    limit is not None
                    and self._chunks
                    and self._compressed_bytes + len(chunk) > limit
                ):
                    self._over_limit = True
                    break
                self._chunks.append(chunk)
                self._compressed_bytes += len(chunk)
                self._kept_rows += count
            if self._over_limit:
                for later, _ in self._in_flight:
                    later.cancel()
                self._in_flight.clear()


def _compress_chunks(
    chunks: list[bytes], level: int, zstd_dict: zstandard.ZstdCompressionDict | None
) -> list[bytes]:
    """Compresses laid-out chunks, one zstd frame each (runs in a worker thread); the frames
    come back in buffers sized for the worst case."""
    # A compressor per call: python-zstandard's are not safe to share between threads.
    compressor = (
        zstandard.ZstdCompressor(level=level, dict_data=zstd_dict)
        if zstd_dict is not None
        else zstandard.ZstdCompressor(level=level)
    )
    compress = compressor.compress
    return [compress(chunk) for chunk in chunks]


def _split_link(template: str, archive_id: str) -> tuple[str, str]:
    """
    Pre-renders a link template for one archive: the text before and after the event index.

    :param template: A template with ``{archive_id}`` and one ``{log_event_index}``.
    :param archive_id: The archive.
    :return: ``(before, after)`` so that a link is ``before + str(index) + after``.
    :raise ValueError: If the template does not hold exactly one ``{log_event_index}``.
    """
    marker = "\x00"
    rendered = template.format(archive_id=archive_id, log_event_index=marker)
    if rendered.count(marker) != 1:
        msg = f"link template must contain exactly one {{log_event_index}}: {template!r}"
        raise ValueError(msg)
    before, after = rendered.split(marker)
    return before, after

