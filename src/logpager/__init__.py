"""logpager: search logs with KQL and page through very large results on small hosts.

The public Python API, re-exported here from the modules that own each name (see
``ARCHITECTURE.md``); ``tests/test_public_api.py`` pins the exact set.
"""

from __future__ import annotations

from logpager.cache import QueryResult, ResultBuilder
from logpager.errors import (
    BackendCrashedError,
    ChunkLostError,
    DerivedResultEvictedError,
    IngestError,
    InstructionsRequiredError,
    InvalidArgumentError,
    InvalidPageIndexError,
    InvalidTimestampError,
    LogpagerError,
    NoArchivesError,
    NoResultError,
    PageError,
    QuerySyntaxError,
    RerunFailedError,
    ResultEvictedError,
    ResultExpiredError,
    ResultReplacedError,
    SearchError,
    SearchTimeoutError,
    ServerStartupError,
    SessionExpiredError,
    SessionNotFoundError,
    SettingsError,
    StoreUnavailableError,
    UnknownHandleError,
    WorkerFailedError,
)
from logpager.ingest import FileSummary, IngestReport, TimestampSpec, ingest
from logpager.memory.governor import MemoryGovernor
from logpager.query import QuerySpec
from logpager.schema import RESULT_SCHEMA
from logpager.search import ClpSBackend, SearchBackend, SearchOutcome
from logpager.search.pipeline import search_and_cache, search_and_cache_async
from logpager.sessions import SessionManager, SessionState, Tombstone, TombstoneReason
from logpager.settings import Settings, load_settings
from logpager.store import MemoryStore, RedisStore, SessionStore, open_store

__version__ = "0.1.0"

__all__ = [
    "RESULT_SCHEMA",
    "BackendCrashedError",
    "ChunkLostError",
    "ClpSBackend",
    "DerivedResultEvictedError",
    "FileSummary",
    "IngestError",
    "IngestReport",
    "InstructionsRequiredError",
    "InvalidArgumentError",
    "InvalidPageIndexError",
    "InvalidTimestampError",
    "LogpagerError",
    "MemoryGovernor",
    "MemoryStore",
    "NoArchivesError",
    "NoResultError",
    "PageError",
    "QueryResult",
    "QuerySpec",
    "QuerySyntaxError",
    "RedisStore",
    "RerunFailedError",
    "ResultBuilder",
    "ResultEvictedError",
    "ResultExpiredError",
    "ResultReplacedError",
    "SearchBackend",
    "SearchError",
    "SearchOutcome",
    "SearchTimeoutError",
    "ServerStartupError",
    "SessionExpiredError",
    "SessionManager",
    "SessionNotFoundError",
    "SessionState",
    "SessionStore",
    "Settings",
    "SettingsError",
    "StoreUnavailableError",
    "TimestampSpec",
    "Tombstone",
    "TombstoneReason",
    "UnknownHandleError",
    "WorkerFailedError",
    "__version__",
    "ingest",
    "load_settings",
    "open_store",
    "search_and_cache",
    "search_and_cache_async",
]
