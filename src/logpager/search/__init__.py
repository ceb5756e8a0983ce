"""Search backends: the :class:`SearchBackend` protocol and the embedded ``clp-s`` engine."""

from __future__ import annotations

from logpager.search.backend import LinkedEvent, SearchBackend, SearchOutcome
from logpager.search.clp_s import (
    ClpSBackend,
    archives_dir,
    find_clp_s,
    ingest_hint,
    list_archive_ids,
    parse_link,
    staging_dir,
    validate_query,
)

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
