"""The hits of a running search, from decoded Arrow blocks to the streaming build or sorted runs.

Each read's hits arrive as one Arrow block (:mod:`logpager.search.hit_decoder`). While they
come in time order they go on to the streaming build as they are
(:mod:`logpager.search.in_order`); otherwise they are cut into blocks of
``settings.search_block_rows``, each sorted and compressed into a run
(:mod:`logpager.search.runs`) while ``clp-s`` is still searching: it runs in its own
process, so that work overlaps the search.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from logpager.cache.streaming import StreamingBuild
from logpager.search.child import Rows
from logpager.search.hit_decoder import HitDecoder, rows_as_block
from logpager.search.in_order import InOrderHits
from logpager.search.merge import MergedBatches
from logpager.search.ranking import hits_as_results
from logpager.search.runs import SortedRuns
from logpager.settings import Settings

__all__ = ["HitCollector"]


class HitCollector:
    """
    Hands the hits decoded from ``clp-s``'s stream (:meth:`decoder`) to the streaming build
    as they come, or, once they do not stream, in blocks of ``search_block_rows`` to the
    sorted runs.

    Rows are ranked by timestamp descending (a missing timestamp, 0 from clp-s, ranks last),
    then archive id and event index descending, so ties order the same on every run; the
    runs keep the best ``cap`` and count all of them.

    :param cap: Rows to keep (the latest).
    :param settings: Source of ``search_block_rows``, ``search_read_bytes`` (a quarter of it
        is decoded at a time at least), ``search_batch_rows``,
        ``dictionary_training_rows``, ``run_piece_bytes``, ``run_zstd_level``,
        ``max_sorted_runs`` and ``merge_max_stretches``.
    :param on_sample: Called once with the first ``dictionary_training_rows`` hits as result
        rows, latest first, while the search runs (see
        :meth:`~logpager.search.clp_s.ClpSBackend.search`).
    :param stream: A streaming build that takes the hits while they arrive oldest first
        (:mod:`logpager.search.in_order`); it starts over here. Once a block arrives out of
        order, it hands back what it took to the runs and the runs take every later block.
    """

    def __init__(
        self,
        cap: int,
        settings: Settings,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        stream: StreamingBuild | None = None,
    ) -> None:
        self.block_rows = settings.search_block_rows
        self.read_bytes = settings.search_read_bytes
        self.batch_rows = settings.search_batch_rows
        self.on_sample = on_sample
        self.sample_rows = settings.dictionary_training_rows
        self._sample: list[pa.RecordBatch] = []
        self.total = 0
        self.pending: list[pa.RecordBatch] = []
        """Hits not yet stored, in blocks as decoded."""
        self._pending_rows = 0
        self.runs = SortedRuns(
            cap,
            piece_bytes=settings.run_piece_bytes,
            zstd_level=settings.run_zstd_level,
            max_runs=settings.max_sorted_runs,
            merge_rows=settings.search_batch_rows,
            max_stretches=settings.merge_max_stretches,
        )
        self._stream = stream
        self._max_segments = settings.streaming_max_segments
        self.in_order: InOrderHits | None = None
        """The hits' way to the streaming build, while they arrive in order (else None)."""
        self._restart_stream()

    @property
    def streamed(self) -> bool:
        """:return: Whether every hit went to the streaming build (the runs hold none)."""
        return self.in_order is not None

    @property
    def archive_ids(self) -> set[str]:
        """
        :return: Every archive whose hits went to the sorted runs (a streamed hit's archive
            is one of those searched, which the outcome names anyway).
        """
        return set(self.runs.archive_names)

    def decoder(self) -> HitDecoder:
        """:return: A decoder of ``clp-s``'s stream that hands its hits to :meth:`add_block`."""
        # A quarter of the pipe (search_read_bytes) at least: alone, the in-place decoding's
        # CPU per hit was ~1.25x at 256 KiB of its 1 MiB figure and 2.4x at 64 KiB. In whole
        # searches the gathering did not show: 1.27x bare clp-s at 0, 1.29x at 128 and 256
        # KiB, 1.33x at 512 KiB (quiet host, 7 alternating rounds, CPU 0.61-0.63 s alike).
        return HitDecoder(self.add_block, self.read_bytes // 4)

    def add(self, rows: Rows) -> None:
        """
        Takes in decoded hits; stores a block each time ``block_rows`` are pending.

        :param rows: Hits as ``clp-s`` reports them (see :data:`~logpager.search.child.Rows`).
        """
        if rows:
            self.add_block(rows_as_block(rows))

    def add_block(self, block: pa.RecordBatch) -> None:
        """
        Takes in decoded hits; stores a block each time ``block_rows`` are pending (while
        the hits stream, each read's hits as they are).

        :param block: Hits as :class:`~logpager.search.hit_decoder.HitDecoder` makes them.
        """
        if self.in_order is not None and not self.pending:
            # The streaming build takes hits however many come at a time: cutting a read's
            # hits into blocks of block_rows would copy those that straddle two reads and
            # double the calls per hit (sorted runs want them cut, see search_block_rows).
            self.total += block.num_rows
            self._store(block)
            if self.on_sample is not None:
                self._take_sample(block)
            return
        self.pending.append(block)
        self._pending_rows += block.num_rows
        while self._pending_rows >= self.block_rows:
            # Blocks of block_rows exactly, however much one read brought.
            block = self._flush(self.block_rows)
            if self.on_sample is not None and block is not None:
                self._take_sample(block)

    def _take_sample(self, block: pa.RecordBatch) -> None:
        """Hands out the first ``sample_rows`` hits once they are in, while clp-s still runs."""
        self._sample.append(block)
        if sum(b.num_rows for b in self._sample) < self.sample_rows:
            return
        assert self.on_sample is not None
        on_sample, self.on_sample = self.on_sample, None
        blocks, self._sample = self._sample, []
        # A dictionary trained on a few hundred rows was rejected as not paying for itself,
        # which is why the sample spans blocks rather than being the first one. The blocks
        # are let go (and not joined first) before on_sample encodes the sorted copy: the
        # sample's copies added up to ~10 MB at once for 8,192 hits, now ~5 MB.
        sample = hits_as_results(pa.Table.from_batches(blocks))
        del blocks
        on_sample(sample)

    def clear(self) -> None:
        """Forgets every hit (a query that cannot match reports none)."""
        self.pending = []
        self._pending_rows = 0
        self._sample = []
        self.runs.clear()
        self.total = 0
        self._restart_stream()

    def _restart_stream(self) -> None:
        """Empties the streaming build (if any) and feeds the next hits to it."""
        if self._stream is not None:
            self._stream.clear()
            self.in_order = InOrderHits(self._stream, self._max_segments)

    def _flush(self, limit: int | None = None) -> pa.RecordBatch | None:
        """Makes a block of the first ``limit`` pending hits (None: all) and stores it."""
        rows = self._pending_rows if limit is None else min(limit, self._pending_rows)
        if not rows:
            return None
        if len(self.pending) == 1 and self.pending[0].num_rows == rows:
            block, self.pending = self.pending[0], []
        else:
            table = pa.Table.from_batches(self.pending)
            rest = table.slice(rows)
            block = table.slice(0, rows).combine_chunks().to_batches()[0]
            self.pending = rest.to_batches() if rest.num_rows else []
        self._pending_rows -= rows
        self.total += rows
        self._store(block)
        return block

    def _store(self, block: pa.RecordBatch) -> None:
        """Streams a block while the hits arrive in order, else sorts it into the runs."""
        if self.in_order is not None:
            rest = self.in_order.offer(block)
            if rest is None:
                return
            # Out of order: what was streamed becomes one run (its blocks rank in order).
            for given in self.in_order.give_back():
                self.runs.add(given)
            self.in_order = None
            block = rest
        self.runs.add(block)

    def finish(self) -> MergedBatches:
        """
        Ends the search: stores the last pending rows and hands the kept ones over.

        :return: The best ``cap`` hits, latest first, in batches of ``search_batch_rows``;
            none when they all went to the streaming build (:attr:`streamed`).
        """
        # A sample still short of sample_rows is of no use once the search is over: the
        # result's builder trains on its own first rows then.
        self._sample = []
        self._flush()
        return self.runs.finish(self.batch_rows)
