"""One query's cached results: zstd-compressed Arrow record batches in page-aligned chunks.

A :class:`QueryResult` holds no Python list of its results once built. Its rows are cut into
chunks of ``pages_per_chunk x page_size`` rows; each chunk is one Arrow IPC record-batch
message (the schema is kept once per result, not per chunk), compressed with zstd and,
for results large enough to pay for it, a dictionary trained on the result's own messages.
A page fetch decompresses only the chunk that holds the page, formats that chunk's items in
Arrow's C++ kernels, and keeps the formatted chunk in a small LRU so paging forward is a
list slice.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

import pyarrow as pa
import pyarrow.compute as pc
import zstandard
from paginate import Page

from logpager.chunkcodec import DecodedChunk, decode_chunk, encode_table
from logpager.errors import InvalidPageIndexError
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

__all__ = ["Clock", "PageDict", "QueryResult", "validate_page_index"]

Clock = Callable[[], float]
"""A monotonic clock in seconds; injectable so expiry is tested without sleeping."""

PageDict = dict[str, Any]

# Dictionary training needs enough samples to find repeats; below this many rows the result is
# small enough that plain zstd costs little and a dictionary would outweigh its savings.
_MIN_ROWS_FOR_DICTIONARY = 256
# Page-sized samples handed to the trainer, spread evenly over the result. 256 samples train
# in ~15 ms; 2,000 took ~0.6 s on 36,000 rows for a ratio 0.7% better, which broke the build
# throughput target, so the trainer sees a sample, not the result.
_DICTIONARY_SAMPLES = 256
# A dictionary is sized to about a tenth of the raw messages so that it never dominates the
# result it serves (a 16 KiB dictionary on a 1,000-event result would be half of its bytes).
_DICTIONARY_SHARE = 10
_MIN_DICTIONARY_BYTES = 1_024


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
        "_decompressor",
        "_dictionary",
        "_lazy",
        "_link_parts",
        "_link_template",
        "_schema",
        "_stored_schema",
        "archive_ids",
        "begin_ms",
        "chunk_rows",
        "created_at",
        "end_ms",
        "last_accessed",
        "num_items",
        "num_total_matches",
        "page_size",
        "query",
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
        page_size: int,
        chunk_rows: int,
        query: str,
        begin_ms: int | None,
        end_ms: int | None,
        archive_ids: tuple[str, ...],
        link_template: str,
        decoded_capacity: int,
        clock: Clock,
    ) -> None:
        """Use :meth:`from_batches` or :meth:`from_items`; this stores built chunks."""
        self._schema = schema
        self._stored_schema = stored_schema
        self._chunks = chunks
        self._archive_names = archive_names
        self._dictionary = dictionary
        self._decompressor = (
            zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary))
            if dictionary
            else zstandard.ZstdDecompressor()
        )
        self._decoded: OrderedDict[int, DecodedChunk] = OrderedDict()
        self._decoded_bytes = 0
        self._decoded_capacity = decoded_capacity
        self._link_template = link_template
        self._link_parts = [_split_link(link_template, name) for name in archive_names] or [
            ("", "")
        ]
        self._clock = clock
        self._lazy = _LazyItems(self)
        self.num_items = num_items
        self.num_total_matches = num_total_matches
        self.page_size = page_size
        self.chunk_rows = chunk_rows
        self.query = query
        self.begin_ms = begin_ms
        self.end_ms = end_ms
        self.archive_ids = archive_ids
        self.created_at = clock()
        self.last_accessed = self.created_at

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_batches(
        cls,
        batches: Iterable[pa.RecordBatch],
        *,
        query: str = "",
        begin_ms: int | None = None,
        end_ms: int | None = None,
        settings: Settings | None = None,
        page_size: int | None = None,
        max_cached_results: int | None = None,
        total_matches: int | None = None,
        archive_ids: Sequence[str] = (),
        presorted: bool = False,
        clock: Clock = time.monotonic,
    ) -> QueryResult:
        """
        Builds a cached result from record batches.

        :param batches: Batches with :data:`~logpager.schema.RESULT_SCHEMA` (or the verbatim
            schema), in any order unless ``presorted``.
        :param query: The KQL query that produced them.
        :param begin_ms: Lower time bound of the search (epoch ms), if any.
        :param end_ms: Upper time bound of the search (epoch ms), if any.
        :param settings: Chunking, compression and cap settings; defaults when omitted.
        :param page_size: Overrides ``settings.page_size``.
        :param max_cached_results: Overrides ``settings.max_cached_results``.
        :param total_matches: The engine's count of all matches, when it saw more rows than it
            passed on; defaults to the rows received.
        :param archive_ids: The archives the search covered, so a re-run sees the same data.
        :param presorted: The batches are already latest first (skips the sort).
        :param clock: Monotonic clock for ``created_at`` and ``last_accessed``.
        :return: The compressed, pageable result.
        :raise ValueError: If a batch has another schema or a size is not positive.
        """
        settings = settings or Settings()
        page_size = page_size if page_size is not None else settings.page_size
        cap = max_cached_results if max_cached_results is not None else settings.max_cached_results
        if page_size < 1 or cap < 1:
            msg = f"page_size and max_cached_results must be positive, got {page_size}, {cap}"
            raise ValueError(msg)
        batch_list = list(batches)
        schema = batch_list[0].schema if batch_list else RESULT_SCHEMA
        for batch in batch_list:
            if not batch.schema.equals(schema):
                msg = f"batch schema {batch.schema} does not match {schema}"
                raise ValueError(msg)
        if not (schema.equals(RESULT_SCHEMA) or schema.equals(VERBATIM_SCHEMA)):
            msg = f"unsupported result schema: {schema}"
            raise ValueError(msg)
        table = pa.Table.from_batches(batch_list, schema=schema)
        del batch_list
        received = table.num_rows
        if not presorted:
            table = _sort_latest_first(table)
        table = table.slice(0, cap)
        matches = max(total_matches if total_matches is not None else received, received)
        return cls._build(
            table,
            settings=settings,
            page_size=page_size,
            num_total_matches=matches,
            query=query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            archive_ids=tuple(archive_ids),
            clock=clock,
        )

    @classmethod
    def from_items(
        cls,
        items: Sequence[str | dict[str, Any]],
        *,
        query: str = "",
        begin_ms: int | None = None,
        end_ms: int | None = None,
        settings: Settings | None = None,
        page_size: int | None = None,
        max_cached_results: int | None = None,
        clock: Clock = time.monotonic,
    ) -> QueryResult:
        """
        Builds a cached result from the seed API's items.

        Strings are formatted items, kept verbatim in the given order. Dicts are events with
        ``timestamp`` (epoch ms or ``None``) and ``message`` (and optionally ``archive_id``,
        ``log_event_index``); they are ordered latest first.

        :param items: All strings or all dicts.
        :param query: The query that produced them.
        :param begin_ms: Lower time bound, if any.
        :param end_ms: Upper time bound, if any.
        :param settings: Settings; defaults when omitted.
        :param page_size: Overrides ``settings.page_size``.
        :param max_cached_results: Overrides ``settings.max_cached_results``; the first
            (latest) items are kept.
        :param clock: Monotonic clock.
        :return: The compressed, pageable result.
        :raise TypeError: If items mix kinds or a timestamp is not an int.
        """
        table = _rows_from_items(items)
        return cls.from_batches(
            table.to_batches(),
            query=query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            settings=settings,
            page_size=page_size,
            max_cached_results=max_cached_results,
            total_matches=len(items),
            presorted=True,
            clock=clock,
        )

    @classmethod
    def _build(
        cls,
        table: pa.Table,
        *,
        settings: Settings,
        page_size: int,
        num_total_matches: int,
        query: str,
        begin_ms: int | None,
        end_ms: int | None,
        archive_ids: tuple[str, ...],
        clock: Clock,
    ) -> QueryResult:
        chunk_rows = settings.pages_per_chunk * page_size
        stored, archive_names = encode_table(table, chunk_rows)
        encoded = [
            stored.slice(start, chunk_rows).to_batches()[0]
            for start in range(0, stored.num_rows, chunk_rows)
        ]
        stored_schema = stored.schema
        del stored
        dictionary = _train_dictionary(encoded, settings.zstd_dictionary_bytes, page_size)
        compressor = (
            zstandard.ZstdCompressor(
                level=settings.zstd_level, dict_data=zstandard.ZstdCompressionDict(dictionary)
            )
            if dictionary
            else zstandard.ZstdCompressor(level=settings.zstd_level)
        )
        # python-zstandard returns bytes sized for the worst case (~28 KB for a 5 KB chunk,
        # seen with tracemalloc); copying each into an exact-size object makes the held
        # memory equal to compressed_bytes.
        chunks = [memoryview(compressor.compress(batch.serialize())).tobytes() for batch in encoded]
        del encoded
        return cls(
            schema=table.schema,
            stored_schema=stored_schema,
            chunks=chunks,
            archive_names=archive_names,
            dictionary=dictionary,
            num_items=table.num_rows,
            num_total_matches=num_total_matches,
            page_size=page_size,
            chunk_rows=chunk_rows,
            query=query,
            begin_ms=begin_ms,
            end_ms=end_ms,
            archive_ids=archive_ids,
            link_template=settings.link_template,
            decoded_capacity=settings.decoded_chunk_cache_size,
            clock=clock,
        )

    # --- facts ---------------------------------------------------------------------------------

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
        raw = self._decompressor.decompress(self._chunks[chunk_index])
        batch = pa.ipc.read_record_batch(pa.py_buffer(raw), self._stored_schema)
        chunk = decode_chunk(batch, single_archive=len(self._archive_names) <= 1)
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
        messages = chunk.messages[start:stop]
        if chunk.iso is None or chunk.indexes is None:
            return messages
        links = self._link_parts
        codes = (
            chunk.archive_codes[start:stop]
            if chunk.archive_codes is not None
            else [0] * len(messages)
        )
        index_nulls = chunk.index_nulls
        # This loop is the whole warm-page cost: one f-string per item, link pieces
        # precomputed per archive, ISO text from Arrow with the 'T' and 'Z' put in here.
        out = [
            f"timestamp: {iso[:10]}T{iso[11:]}Z, message: {message}, link: "
            f"{links[code][0]}{index}{links[code][1]}"
            if iso is not None
            else f"timestamp: N/A, message: {message}, link: "
            f"{links[code][0]}{index}{links[code][1]}"
            for iso, message, code, index in zip(
                chunk.iso[start:stop], messages, codes, chunk.indexes[start:stop], strict=True
            )
        ]
        if index_nulls is not None or not self._archive_names or not all(self._archive_names):
            out = self._patch_missing_links(out, chunk, start, stop)
        return out

    def _patch_missing_links(
        self, items: list[str], chunk: DecodedChunk, start: int, stop: int
    ) -> list[str]:
        """Rewrites the link of rows without an archive id or event index to ``N/A``."""
        names = self._archive_names
        codes = chunk.archive_codes
        nulls = chunk.index_nulls
        patched = []
        for row, item in zip(range(start, stop), items, strict=True):
            code = codes[row] if codes is not None else 0
            missing = (not names or not names[code]) or (nulls is not None and nulls[row])
            patched.append(item[: item.rindex(", link: ")] + ", link: N/A" if missing else item)
        return patched

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


def _train_dictionary(
    encoded: list[pa.RecordBatch], max_bytes: int, page_size: int
) -> bytes | None:
    """
    Trains a zstd dictionary on page-sized slices of the stored batches, or returns None.

    Samples are serialized slices of the stored form, so the dictionary learns the IPC
    framing and the column layout as well as the text; trained on raw messages instead, it
    made 100-row chunks 8% larger than no dictionary at all.
    """
    rows = sum(b.num_rows for b in encoded)
    if max_bytes <= 0 or rows < _MIN_ROWS_FOR_DICTIONARY:
        return None
    slices = [(b, start) for b in encoded for start in range(0, b.num_rows, page_size)]
    step = max(len(slices) // _DICTIONARY_SAMPLES, 1)
    samples = [b.slice(start, page_size).serialize().to_pybytes() for b, start in slices[::step]]
    estimated_total = sum(len(x) for x in samples) * step
    size = min(max_bytes, estimated_total // _DICTIONARY_SHARE)
    if size < _MIN_DICTIONARY_BYTES:
        return None
    try:
        trained = zstandard.train_dictionary(size, samples)
    except zstandard.ZstdError:
        # Too few distinct samples to learn from: plain zstd is the right answer then.
        return None
    data: bytes = trained.as_bytes()
    return data
