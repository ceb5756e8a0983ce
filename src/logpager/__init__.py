"""logpager: search logs with KQL and page through very large results on small hosts."""

from __future__ import annotations

from logpager.cache import QueryResult
from logpager.errors import (
    BackendCrashedError,
    IngestError,
    InstructionsRequiredError,
    InvalidPageIndexError,
    InvalidTimestampError,
    LogpagerError,
    NoArchivesError,
    PageError,
    QuerySyntaxError,
    ResultEvictedError,
    ResultExpiredError,
    SearchError,
    SearchTimeoutError,
    SessionExpiredError,
    SessionNotFoundError,
    UnknownHandleError,
)
from logpager.schema import RESULT_SCHEMA
from logpager.sessions import SessionManager, SessionState, Tombstone
from logpager.settings import Settings, SettingsError, load_settings

__version__ = "0.1.0"

__all__ = [
    "RESULT_SCHEMA",
    "BackendCrashedError",
    "IngestError",
    "InstructionsRequiredError",
    "InvalidPageIndexError",
    "InvalidTimestampError",
    "LogpagerError",
    "NoArchivesError",
    "PageError",
    "QueryResult",
    "QuerySyntaxError",
    "ResultEvictedError",
    "ResultExpiredError",
    "SearchError",
    "SearchTimeoutError",
    "SessionExpiredError",
    "SessionManager",
    "SessionNotFoundError",
    "SessionState",
    "Settings",
    "SettingsError",
    "Tombstone",
    "UnknownHandleError",
    "__version__",
    "load_settings",
]
