"""One query's cached result: its rows, latest first, in zstd-compressed chunks.

The cache holds Arrow tables only while a result is built (:mod:`logpager.cache.builder`).
Each chunk is then the columns of an Arrow record batch of ``pages_per_chunk x page_size``
rows (counted from the latest row, or, for a result built while its search ran, from the
oldest of each segment: :mod:`logpager.cache.alignment`) in a compact layout of this
package's own (:mod:`logpager.cache.codec.layout`), compressed with zstd and, where it pays
for itself, a dictionary trained on the result's own chunks. The chunks are not Arrow IPC:
measured side by side on the same rows and chunk boundaries, Arrow IPC record-batch
messages, with the schema stored once and the narrowest integer types per result, took
1.09x (synthetic) to 1.53x (Apache) the bytes of this layout and ~20 us more per cold chunk;
Arrow's int32 offsets and its ~450-byte header per batch are most of the gap.

A :class:`QueryResult` holds no Python list of its results once built: it holds the
compressed chunks and the dictionary's bytes, nothing else of size (zstd contexts are shared
per thread). A page fetch decompresses only the chunk that holds the page, decodes it once
(numbers, one message string, the timestamps' text) and keeps it in a small LRU
(:mod:`logpager.cache.decoded_lru`), so any page of it is one f-string an item.
:meth:`QueryResult.record_batches` gives the rows back as Arrow record batches, to compute
over, without filling that LRU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import pyarrow as pa

from logpager.cache.alignment import ChunkAlignment, Segment
from logpager.cache.chunks import ChunkSource, HeldChunks
from logpager.cache.codec.contexts import decompress
from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.decoded import DecodedChunk, Link
from logpager.cache.decoded_lru import DecodedLRU
from logpager.cache.links import link_parts
from logpager.cache.paging import PageDict, serve_page, validate_page_index
from logpager.cache.rows import rows_from_items
from logpager.clock import Clock
from logpager.errors import InvalidPageIndexError
from logpager.query import NO_QUERY, QuerySpec
from logpager.settings import Settings

__all__ = ["QueryResult", "page_is_held"]


class _LazyItems(Sequence[str]):
    """A read-only sequence over a result's items that decodes one chunk per slice."""

    # Made for each read, never held by the result: held, it and its result referenced each
    # other, so a result let go (evicted, expired) was freed only by the garbage collector's
    # pass over its generation. A search that makes few Python objects (the in-place hit
    # decoding) triggered none: RSS grew by one result (4.2 MB) a search, 191 -> 274 MiB over
    # 30 searches that kept 4, against a flat 215 MiB once the cycle was gone.
    __slots__ = ("_result",)

    def __init__(self, result: QueryResult) -> None:
        self._result = result

    def __len__(self) -> int:
        return self._result.num_items

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        result = self._result
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            out: list[str] = []
            # A page may straddle two chunks (chunks aligned from the oldest row).
            for chunk_index, offset, take in result.alignment.spans(start, stop):
                out.extend(result._format_rows(chunk_index, offset, offset + take))
            return out
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        chunk_index, offset, _ = result.alignment.locate(index)
        return result._format_rows(chunk_index, offset, offset + 1)[0]

    def __iter__(self) -> Iterator[str]:
        result = self._result
        for chunk_index in range(result.num_chunks):
            yield from result._format_rows(
                chunk_index, 0, result.alignment.visible_rows(chunk_index, result.num_items)
            )


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
        "_dictionary",
        "_link_parts",
        "_link_template",
        "alignment",
        "chunk_rows",
        "created_at",
        "last_accessed",
        "num_items",
        "num_total_matches",
        "page_size",
        "skipped_archives",
        "spec",
        "store_key",
    )

    def __init__(
        self,
        *,
        chunks: list[bytes] | ChunkSource,
        archive_names: list[str],
        dictionary: bytes | None,
        num_items: int,
        num_total_matches: int,
        chunk_rows: int,
        spec: QuerySpec,
        link_template: str,
        decoded_capacity: int,
        clock: Clock,
        segments: Sequence[Segment] | None = None,
    ) -> None:
        """Use :meth:`from_batches` or :meth:`from_items`; this stores built chunks."""
        self._chunks: ChunkSource = HeldChunks(chunks) if isinstance(chunks, list) else chunks
        self._archive_names = archive_names
        # Only the dictionary's bytes are held: decompression contexts are shared per thread
        # (codec.contexts.decompress), as one with a digested dictionary costs ~120 KB of C
        # memory.
        self._dictionary = dictionary
        self._decoded = DecodedLRU(decoded_capacity)
        self._link_template = link_template
        self._link_parts: list[Link] = link_parts(link_template, archive_names)
        self._clock = clock
        self.num_items = num_items
        self.num_total_matches = num_total_matches
        self.spec = spec
        """What was searched: page size, cap and archives resolved to what this result holds."""
        assert spec.page_size is not None
        self.page_size: int = spec.page_size
        self.chunk_rows = chunk_rows
        self.alignment = ChunkAlignment(chunk_rows, segments)
        """Where the items lie in the chunks (:mod:`logpager.cache.alignment`): one segment
        counted from the latest row for a result built latest first, segments counted from
        their oldest rows for one built while its search ran."""
        self.skipped_archives: tuple[str, ...] = ()
        """Archives the search left out because they cannot be read; every page names them."""
        self.store_key: str | None = None
        """The session store's id for the chunks (None: this process holds them); see
        :func:`logpager.cache.stored.keep_chunks_in`."""
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

        Builds through a :class:`~logpager.cache.builder.ResultBuilder`: presorted batches
        are streamed (read once, one at a time), others gathered and sorted first.

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
            this (see :class:`~logpager.cache.builder.ResultBuilder`); ``None``: no limit.
        :param clock: Monotonic clock for ``created_at`` and ``last_accessed``.
        :return: The compressed, pageable result.
        :raise ValueError: If a batch has another schema or a size is not positive.
        """
        # The builder makes QueryResults, so it is imported here, not at the module's top.
        from logpager.cache.builder import ResultBuilder

        builder = ResultBuilder(
            spec, settings=settings, max_compressed_bytes=max_compressed_bytes, clock=clock
        )
        if presorted:
            return builder.build(batches, total_matches=total_matches)
        return builder.build_unsorted(batches, total_matches=total_matches)

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
        table = rows_from_items(items)
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
        return self._chunks.held_bytes + len(self._dictionary or b"")

    @property
    def decoded_bytes(self) -> int:
        """:return: Approximate bytes held by the decoded-chunk LRU (string payloads)."""
        return self._decoded.nbytes

    @property
    def nbytes(self) -> int:
        """:return: Everything this result holds: compressed plus decoded bytes."""
        return self.compressed_bytes + self._decoded.nbytes

    def touch(self) -> None:
        """Marks the result as used now (for TTL and LRU)."""
        self.last_accessed = self._clock()

    # --- reading ---------------------------------------------------------------------------------

    def get_page(self, page_index: object) -> PageDict:
        """
        Serves one page.

        :param page_index: 0-based page index.
        :return: The page dict: ``items``, ``num_total_pages``, ``num_total_items``,
            ``num_items_per_page``, ``has_next``, ``has_previous``, ``page_index``,
            ``num_total_matches``, ``truncated``; and ``skipped_archives`` (ids) when the
            search left out archives it could not read.
        :raise InvalidPageIndexError: If the index is not an int in range (an empty result
            has one empty page, index 0).
        """
        page = serve_page(_LazyItems(self), page_index, self.page_size, self.num_total_matches)
        if self.skipped_archives:
            # Only then: a page of a search over readable archives keeps the reference's shape.
            page["skipped_archives"] = list(self.skipped_archives)
        self.touch()
        return page

    def iter_items(self) -> Iterator[str]:
        """:return: Every item, latest first, one chunk decoded at a time."""
        return iter(_LazyItems(self))

    def record_batches(self) -> Iterator[pa.RecordBatch]:
        """
        The result's rows as Arrow columns, to compute over: one record batch a chunk.

        A chunk held by the decoded-chunk LRU is read from it, where it keeps its place; any
        other is decoded for its batch and not kept, so a pass over the whole result leaves
        the pages an agent is reading cached. Does not mark the result as used.

        :return: Batches of :data:`~logpager.schema.RESULT_SCHEMA` (the timestamp and event
            index null where a row has none, the original message), or of
            :data:`~logpager.schema.VERBATIM_SCHEMA` for verbatim items; their rows in order
            are the result's, latest first. An empty result yields none.
        """
        for chunk_index in range(self.num_chunks):
            chunk = self._decoded.peek(chunk_index)
            if chunk is None:
                chunk = self._decode(chunk_index)
            # The oldest chunk of a streamed result may hold rows past the cap, never served.
            yield chunk.record_batch(
                self._archive_names, 0, self.alignment.visible_rows(chunk_index, self.num_items)
            )

    def drop_decoded(self) -> int:
        """
        Empties the decoded-chunk LRU (cheap to rebuild).

        :return: Bytes released.
        """
        return self._decoded.clear()

    def _decode(self, chunk_index: int) -> DecodedChunk:
        return decode_chunk_bytes(decompress(self._chunks[chunk_index], self._dictionary))

    def _decoded_chunk(self, chunk_index: int) -> DecodedChunk:
        chunk = self._decoded.get(chunk_index)
        if chunk is None:
            chunk = self._decode(chunk_index)
            self._decoded.put(chunk_index, chunk)
        return chunk

    def _format_rows(self, chunk_index: int, start: int, stop: int) -> list[str]:
        """Formats rows ``start:stop`` of one chunk as the reference's item lines."""
        chunk = self._decoded_chunk(chunk_index)
        # Never past the chunk's rows: the last one may be short, and a streamed result's
        # oldest chunk of a segment too.
        return chunk.items(start, min(stop, chunk.num_rows), self._link_parts)

    def check(self) -> None:
        """
        Verifies internal accounting; raises on any inconsistency.

        :raise AssertionError: If chunk counts, row counts or byte counts disagree.
        """
        self.alignment.check(len(self._chunks), self.num_items)
        if self.num_total_matches < self.num_items:
            msg = f"matches {self.num_total_matches} < items {self.num_items}"
            raise AssertionError(msg)
        self._decoded.check()

    def __repr__(self) -> str:
        return (
            f"QueryResult(query={self.query!r}, items={self.num_items}, "
            f"matches={self.num_total_matches}, pages={self.num_pages}, "
            f"compressed_bytes={self.compressed_bytes})"
        )


def page_is_held(result: QueryResult, page_index: object) -> bool:
    """
    Whether :meth:`QueryResult.get_page` would read no chunk from outside this process: every
    chunk the page's items lie in is held here, compressed or decoded (a result whose chunks
    are in a session store holds only its decoded LRU).

    :param result: A result.
    :param page_index: The page asked for, as received.
    :return: True also for an index ``get_page`` refuses (it reads no chunk).
    """
    if isinstance(result._chunks, HeldChunks):
        return True
    try:
        index = validate_page_index(page_index, result.num_pages)
    except InvalidPageIndexError:
        return True
    start = index * result.page_size
    stop = min(start + result.page_size, result.num_items)
    return all(
        result._decoded.peek(chunk_index) is not None
        for chunk_index, _offset, _rows in result.alignment.spans(start, stop)
    )
