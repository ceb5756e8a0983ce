"""Exceptions raised by logpager.

Hierarchy::

    LogpagerError                  base of everything logpager raises on purpose
    +-- SettingsError              a bad profile or setting value (also a ValueError)
    +-- PageError                  a page cannot be served; ``str()`` is the agent-facing text
    |   +-- InvalidPageIndexError  "Invalid page index. Valid range: 0-N"
    |   +-- SessionNotFoundError   "Session not found. Please run a query first."
    |   +-- SessionExpiredError    "Session expired. Please run a new query."
    |   +-- ResultExpiredError     "Query results expired. Please run a new query."
    |   +-- ResultEvictedError     evicted under memory pressure and re-runs are off
    |   +-- RerunFailedError       evicted, and re-running its query to serve the page failed
    |   +-- InstructionsRequiredError  get_instructions() was not called first
    |   +-- UnknownHandleError     a result handle that this session does not own
    +-- SearchError                a search could not run or did not finish
    |   +-- QuerySyntaxError       the KQL query does not parse (carries the parser's text)
    |   +-- NoArchivesError        the data directory holds no archives yet
    |   +-- SearchTimeoutError     the search ran past ``search_timeout_seconds``
    |   +-- BackendCrashedError    the engine exited abnormally; nothing was cached
    |   +-- InvalidTimestampError  a begin/end timestamp is not ISO 8601 UTC
    +-- IngestError                a file cannot be ingested (names the file and line)
    +-- ServerStartupError         the server cannot start (no archives, address taken)

``tests/test_errors.py`` checks this drawing against the classes.
"""

from __future__ import annotations

__all__ = [
    "INSTRUCTIONS_REQUIRED_TEXT",
    "BackendCrashedError",
    "IngestError",
    "InstructionsRequiredError",
    "InvalidPageIndexError",
    "InvalidTimestampError",
    "LogpagerError",
    "NoArchivesError",
    "PageError",
    "QuerySyntaxError",
    "RerunFailedError",
    "ResultEvictedError",
    "ResultExpiredError",
    "SearchError",
    "SearchTimeoutError",
    "ServerStartupError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "SettingsError",
    "UnknownHandleError",
]

INSTRUCTIONS_REQUIRED_TEXT = (
    "Please call get_instructions() first to understand how to use this MCP server."
)


class LogpagerError(Exception):
    """Base class of the errors logpager raises on purpose."""


class SettingsError(LogpagerError, ValueError):
    """A profile or an environment variable holds a value that cannot be used."""


class PageError(LogpagerError):
    """A page cannot be served; the message is what the agent is told."""


class InvalidPageIndexError(PageError):
    """The page index is not an integer in ``0..num_total_pages-1``."""

    def __init__(self, num_total_pages: int) -> None:
        self.num_total_pages = num_total_pages
        upper = max(num_total_pages - 1, 0)
        super().__init__(f"Invalid page index. Valid range: 0-{upper}")


class SessionNotFoundError(PageError):
    """No session, or no result in it, to page through."""

    def __init__(self) -> None:
        super().__init__("Session not found. Please run a query first.")


class SessionExpiredError(PageError):
    """The session outlived ``session_ttl_minutes``."""

    def __init__(self) -> None:
        super().__init__("Session expired. Please run a new query.")


class ResultExpiredError(PageError):
    """The result outlived ``query_ttl_minutes``."""

    def __init__(self) -> None:
        super().__init__("Query results expired. Please run a new query.")


class ResultEvictedError(PageError):
    """The result was evicted under memory pressure and re-running it is turned off."""

    def __init__(self, query: str) -> None:
        self.query = query
        super().__init__(
            "Query results were evicted under memory pressure. Please run the query again "
            f"(search_by_kql with kql_query={query!r})."
        )


class RerunFailedError(PageError):
    """An evicted result's query was re-run to serve a page, and the re-run failed."""

    def __init__(self, query: str, reason: str) -> None:
        self.query = query
        super().__init__(
            "Query results were evicted under memory pressure and re-running the query "
            f"{query!r} failed: {reason.rstrip('.')}. Please run a new query."
        )


class InstructionsRequiredError(PageError):
    """``get_instructions()`` has not been called in this session."""

    def __init__(self) -> None:
        super().__init__(INSTRUCTIONS_REQUIRED_TEXT)


class UnknownHandleError(PageError):
    """A result handle that does not exist, or belongs to someone else."""

    def __init__(self) -> None:
        super().__init__(
            "Unknown or foreign result handle. Use the handle returned by your own search, "
            "or run a new query."
        )


class SearchError(LogpagerError):
    """A search could not run or did not finish; nothing was cached."""


class QuerySyntaxError(SearchError):
    """The KQL query does not parse; the message includes the parser's words."""


class NoArchivesError(SearchError):
    """The data directory holds no archives."""


class SearchTimeoutError(SearchError):
    """The search ran past its time limit and was stopped."""


class BackendCrashedError(SearchError):
    """The search engine exited abnormally mid-stream."""


class InvalidTimestampError(SearchError):
    """A begin or end timestamp is not ISO 8601 UTC with a trailing ``Z``."""


class IngestError(LogpagerError):
    """A file cannot be ingested; the message names the file (and line when known)."""


class ServerStartupError(LogpagerError):
    """The server cannot start: nothing to search, or the HTTP address cannot be bound."""
