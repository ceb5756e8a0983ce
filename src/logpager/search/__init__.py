"""Search: the :class:`SearchBackend` protocol, the embedded ``clp-s`` engine, and the path
from a query to a cached result."""

from __future__ import annotations

from logpager.search.backend import LinkedEvent, SearchBackend, SearchOutcome
from logpager.search.clp_s import ClpSBackend
from logpager.search.datadir import (
    archives_dir,
    find_clp_s,
    ingest_hint,
    list_archive_ids,
    staging_dir,
)
from logpager.search.kql import validate_query
from logpager.search.links import parse_link

__all__ = [
    "ClpSBackend",
    "LinkedEvent",
    "SearchBackend",
    "SearchOutcome",
    "archives_dir",
    "find_clp_s",
    "ingest_hint",
    "list_archive_ids",
    "parse_link",
    "staging_dir",
    "validate_query",
]
