"""The session cache's results: compressed, page-aligned chunks of Arrow-derived columns.

:class:`QueryResult` is one cached result; :class:`ResultBuilder` makes one from rows that
arrive latest first; :mod:`logpager.cache.codec` owns the chunk format.
"""

from __future__ import annotations

from logpager.cache.result import PageDict, QueryResult, ResultBuilder, validate_page_index

__all__ = ["PageDict", "QueryResult", "ResultBuilder", "validate_page_index"]
