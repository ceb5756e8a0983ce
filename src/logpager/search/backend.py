"""What every search backend provides: the protocol and the result it hands to the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pyarrow as pa

from logpager.cache.streaming import StreamingBuild
from logpager.query import QuerySpec
from logpager.schema import RESULT_SCHEMA

__all__ = ["DrainableBatches", "LinkedEvent", "SearchBackend", "SearchOutcome"]


@runtime_checkable
class DrainableBatches(Protocol):
    """Batches built on demand that can also be handed over once, freeing their source."""

    @property
    def num_rows(self) -> int:
        """:return: Rows in all batches (without building them)."""
        ...

    def drain(self) -> Iterator[pa.RecordBatch]:
        """
        :return: The batches in order, each one's source freed once it is built; the batches
            cannot be read again afterwards.
        """
        ...


@dataclass(frozen=True)
class SearchOutcome:
    """
    A finished search: the kept hits latest first, and the count of all hits.

    ``batches`` is a sequence of record batches with :data:`~logpager.schema.RESULT_SCHEMA`,
    ordered latest first (timestamp descending, events without one last) and holding at most
    the cap of rows. It may build each batch when it is read, so iterate it once rather than
    keeping a list of it, and drop the outcome once the cache holds it. To build a result,
    read it with ``iter_batches(release=True)``: what each batch is built from is then freed
    as it is read, so the source and the result are not both held whole.

    :param batches: The kept hits, latest first.
    :param total_matches: Every hit the engine reported, kept or not.
    :param archive_ids: The archives the search covered (to re-run it on the same data).
    :param elapsed_seconds: Wall-clock time of the search.
    :param skipped_archives: Archives left out because they cannot be read (corrupt,
        truncated, unreadable); empty when none were.
    :param streamed: The kept hits went to the search's streaming build, not to ``batches``
        (which are then empty: ``num_rows`` and ``truncated`` speak of the batches only).
    """

    batches: Sequence[pa.RecordBatch]
    total_matches: int
    archive_ids: tuple[str, ...]
    elapsed_seconds: float = 0.0
    schema: pa.Schema = field(default=RESULT_SCHEMA, repr=False)
    skipped_archives: tuple[str, ...] = ()
    streamed: bool = False

    @property
    def num_rows(self) -> int:
        """:return: Rows kept (at most the cap)."""
        if isinstance(self.batches, DrainableBatches):
            return self.batches.num_rows
        return sum(batch.num_rows for batch in self.batches)

    @property
    def truncated(self) -> bool:
        """:return: Whether hits were dropped by the cap."""
        return self.total_matches > self.num_rows

    def iter_batches(self, *, release: bool = False) -> Iterator[pa.RecordBatch]:
        """
        :param release: Hand the rows over: batches built on demand free their source as
            they are read, and the outcome's batches cannot be read again afterwards.
        :return: The batches one at a time, latest first.
        :raise RuntimeError: If the batches were handed over already.
        """
        if release and isinstance(self.batches, DrainableBatches):
            return self.batches.drain()
        return iter(self.batches)

    def to_table(self) -> pa.Table:
        """:return: All kept rows as one table (materialises every batch)."""
        return pa.Table.from_batches(list(self.batches), schema=self.schema)


@dataclass(frozen=True)
class LinkedEvent:
    """
    The event a link points to, with optional neighbours in log order.

    :param archive_id: The archive that holds it.
    :param log_event_index: Its position in the archive.
    :param message: The original event text.
    :param before: Up to ``context`` earlier events, oldest first.
    :param after: Up to ``context`` later events, in log order.
    """

    archive_id: str
    log_event_index: int
    message: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@runtime_checkable
class SearchBackend(Protocol):
    """A search engine over ingested logs that answers KQL queries."""

    def search(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        stream: StreamingBuild | None = None,
    ) -> SearchOutcome:
        """
        Runs a query to completion.

        :param spec: The query, its time range (epoch ms, both ends inclusive), the archives
            to search (``None``: all) and the rows to keep (``None``: the backend's setting).
        :param on_sample: Called at most once while the search runs, with some of the first
            hits as result rows, latest first (a sample to prepare the result's compression
            on); a backend may never call it.
        :param stream: A streaming build that may take the hits while they arrive oldest
            first. When the outcome says ``streamed``, it took every kept hit and the
            outcome's batches are empty (build the result with its ``finish``); otherwise
            the batches hold them.
        :return: The finished search.
        :raise SearchError: Or a subclass, when the search cannot run or finish.
        """
        ...

    async def search_async(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        stream: StreamingBuild | None = None,
    ) -> SearchOutcome:
        """
        :func:`search` without blocking the event loop; cancelling it stops the engine.

        :param spec: The query, its time range (epoch ms, both ends inclusive), the archives
            to search (``None``: all) and the rows to keep (``None``: the backend's setting).
        :param on_sample: Called at most once while the search runs, with some of the first
            hits as result rows, latest first (a sample to prepare the result's compression
            on); a backend may never call it.
        :param stream: As :meth:`search`.
        :return: The finished search.
        :raise SearchError: Or a subclass, when the search cannot run or finish.
        """
        ...

    def list_archives(self) -> list[str]:
        """:return: The ids of the archives that a search covers now."""
        ...

    def resolve_link(
        self, archive_id: str, log_event_index: int, *, context: int = 0
    ) -> LinkedEvent:
        """
        :param archive_id: The link's archive.
        :param log_event_index: The link's event index.
        :param context: Neighbouring events to include on each side.
        :return: The event the link points to.
        :raise LookupError: If the archive or the event does not exist.
        """
        ...
