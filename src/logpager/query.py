"""What a search asks for, as one value: the query, its time range, archives, cap and page size.

A :class:`QuerySpec` travels unchanged from the tool call to the search backend, the
pipeline, the result builder, the cached :class:`~logpager.cache.QueryResult` and, once the
result is dropped, its tombstone. A re-run searches with the tombstone's spec, whose
``archive_ids`` were pinned to the archives the first search covered and whose cap is the
number of rows it kept: that a re-run sees the same data is visible in the types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["NO_QUERY", "QuerySpec"]


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """
    One search request.

    :param query: The KQL query.
    :param begin_ms: Earliest timestamp (epoch ms, inclusive), if any.
    :param end_ms: Latest timestamp (epoch ms, inclusive), if any.
    :param archive_ids: Search only these archives; ``None``: every archive present when
        the search starts.
    :param max_results: Rows to keep, the latest first; ``None``: the ``max_cached_results``
        setting.
    :param page_size: Items per page of the cached result; ``None``: the ``page_size``
        setting.
    :param derived_from: For a result made from another cached result rather than by a
        search (``filter_result``): the source's handle. Such a spec is never sent to the
        engine; an evicted derived result is made again from its source, not re-run.
    :raise ValueError: If ``max_results`` or ``page_size`` is given and not positive.
    """

    query: str
    begin_ms: int | None = None
    end_ms: int | None = None
    archive_ids: tuple[str, ...] | None = None
    max_results: int | None = None
    page_size: int | None = None
    derived_from: str | None = None

    def __post_init__(self) -> None:
        if self.archive_ids is not None and not isinstance(self.archive_ids, tuple):
            # Callers may hand any sequence; the spec stays hashable and immutable.
            object.__setattr__(self, "archive_ids", tuple(self.archive_ids))
        for name in ("max_results", "page_size"):
            value = getattr(self, name)
            if value is None:
                continue
            if type(value) is not int:
                msg = f"{name} must be an integer, got {value!r}"
                raise ValueError(msg)
            if value < 1:
                msg = f"{name} must be positive, got {value}"
                raise ValueError(msg)

    def with_archives(self, archive_ids: Iterable[str]) -> QuerySpec:
        """
        :param archive_ids: The archives a search covered.
        :return: This spec pinned to exactly those archives (what a re-run must search).
        """
        return dataclasses.replace(self, archive_ids=tuple(archive_ids))

    def with_cap(self, max_results: int) -> QuerySpec:
        """
        :param max_results: Rows to keep.
        :return: This spec with that cap.
        :raise ValueError: If ``max_results`` is not positive.
        """
        return dataclasses.replace(self, max_results=max_results)

    def to_dict(self) -> dict[str, Any]:
        """:return: The spec as plain values (lists for tuples), for a session store."""
        fields = dataclasses.asdict(self)
        if self.archive_ids is not None:
            fields["archive_ids"] = list(self.archive_ids)
        return fields

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> QuerySpec:
        """
        :param fields: What :meth:`to_dict` gave.
        :return: The same spec.
        :raise TypeError: If a field is unknown or missing.
        :raise ValueError: If a cap or page size is not a positive integer.
        """
        return cls(**fields)


NO_QUERY = QuerySpec("")
"""The spec of rows that no search produced (the seed API's items, tests)."""
