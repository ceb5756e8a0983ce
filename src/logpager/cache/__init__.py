"""The session cache's results: compressed chunks of Arrow-derived columns, whole rows each.

:class:`QueryResult` (:mod:`~logpager.cache.result`) is one cached result, served a page at
a time (:mod:`~logpager.cache.paging`) from chunks it decodes into a small LRU
(:mod:`~logpager.cache.decoded_lru`), with links pre-rendered per archive
(:mod:`~logpager.cache.links`). :class:`ResultBuilder` (:mod:`~logpager.cache.builder`)
makes one from rows that arrive latest first (:mod:`~logpager.cache.rows`), compressing
chunks in worker threads (:mod:`~logpager.cache.compressor`) with a dictionary trained on
the result (:mod:`~logpager.cache.dictionary`); :mod:`logpager.cache.codec` owns the chunk
format.
"""

from __future__ import annotations

from logpager.cache.builder import ResultBuilder
from logpager.cache.paging import PageDict, validate_page_index
from logpager.cache.result import QueryResult

__all__ = ["PageDict", "QueryResult", "ResultBuilder", "validate_page_index"]
