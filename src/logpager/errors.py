"""Exceptions raised by logpager.

Hierarchy::

    LogpagerError                  base of everything logpager raises on purpose
    +-- SettingsError              a bad profile or setting value (also a ValueError)
    +-- PageError                  a page cannot be served; ``str()`` is the agent-facing text
    |   +-- InvalidPageIndexError  "Invalid page index. Valid range: 0-N"
    |   +-- SessionNotFoundError   "Session not found. Please run a query first."
    |   +-- SessionExpiredError    "Session expired. Please run a new query."
    |   +-- ResultExpiredError     "Query results expired. Please run a new query."
    |   +-- ResultReplacedError    newer results of its session replaced it (names the limit)
    |   +-- ResultEvictedError     evicted under memory pressure and re-runs are off
    |   +-- DerivedResultEvictedError  a filter_result result was evicted (names its source)
    |   +-- RerunFailedError       evicted, and re-running its query to serve the page failed
    |   +-- InstructionsRequiredError  get_instructions() was not called first
    |   +-- UnknownHandleError     a result handle that is unknown, or not the caller's
    |   +-- NoResultError          nothing to page without a handle (names ``result_handle``)
    |   +-- StoreUnavailableError  the session store cannot be reached (names the store)
    |   +-- ChunkLostError         the session store lost a result's chunk (evicted it)
    +-- SearchError                a search could not run or did not finish
    |   +-- QuerySyntaxError       the KQL query does not parse (carries the parser's text)
    |   +-- NoArchivesError        the data directory holds no archives yet
    |   +-- SearchTimeoutError     the search ran past ``search_timeout_seconds``
    |   +-- BackendCrashedError    the engine exited abnormally; nothing was cached
    |   +-- InvalidTimestampError  a begin/end timestamp is not ISO 8601 UTC
    +-- InvalidArgumentError       a tool argument that cannot be used (names the parameter)
    +-- IngestError                a file cannot be ingested (names the file and line)
    +-- ServerStartupError         the server cannot start (no archives, address taken)
    +-- WorkerFailedError          a worker of serve --workers N ended on its own

``tests/test_errors.py`` checks this drawing against the classes.
"""

from __future__ import annotations

__all__ = [
    "INSTRUCTIONS_REQUIRED_TEXT",
    "BackendCrashedError",
    "ChunkLostError",
    "DerivedResultEvictedError",
    "IngestError",
    "InstructionsRequiredError",
    "InvalidArgumentError",
    "InvalidPageIndexError",
    "InvalidTimestampError",
    "LogpagerError",
    "NoArchivesError",
    "NoResultError",
    "PageError",
    "QuerySyntaxError",
    "RerunFailedError",
    "ResultEvictedError",
    "ResultExpiredError",
    "ResultReplacedError",
    "SearchError",
    "SearchTimeoutError",
    "ServerStartupError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "SettingsError",
    "StoreUnavailableError",
    "UnknownHandleError",
    "WorkerFailedError",
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


class DerivedResultEvictedError(PageError):
    """A result made by filter_result was evicted; it is made from its source, not re-run."""

    def __init__(self, source_handle: str) -> None:
        self.source_handle = source_handle
        super().__init__(
            "Query results were evicted under memory pressure. This result was made by "
            "filter_result from another result: call filter_result again with "
            f"result_handle={source_handle!r} (or run the search again if that is gone too)."
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
    """
    A result handle that does not exist, or belongs to another principal.

    Both get the same text, so that a handle's owner is never revealed to someone else.
    """

    def __init__(self) -> None:
        super().__init__(
            "Unknown or foreign result handle: it may have expired, been dropped, belong to "
            "another user, or the server may have restarted. Run the query again "
            "(search_by_kql) and pass the result_handle it returns."
        )


class ResultReplacedError(PageError):
    """The result was dropped because newer results of its session passed the limit."""

    def __init__(self, max_results_per_session: int) -> None:
        self.max_results_per_session = max_results_per_session
        super().__init__(
            f"Query results were replaced: a session keeps its {max_results_per_session} "
            "newest results (max_results_per_session) and newer searches pushed this one "
            "out. Please run the query again."
        )


class NoResultError(PageError):
    """``get_nth_page`` without a handle, and nothing this caller can page by default."""

    def __init__(self) -> None:
        super().__init__(
            "No result to page on this connection: it has run no search (a client that opens "
            "a new connection per call, or a stateless MCP 2026-07-28 connection). Pass "
            "result_handle=<the result_handle returned by search_by_kql> to get_nth_page."
        )


class StoreUnavailableError(PageError):
    """
    The session store (e.g. Redis) did not answer; nothing was written half-way.

    :param store: The store's address, without any password.
    :param reason: What failed, in a few words.
    """

    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.headline = f"The session store {store} is unavailable ({reason.rstrip('.')})"
        """What is wrong, without the advice (what ``GET /health`` says)."""
        super().__init__(
            f"{self.headline}. The server keeps running; retry when the store is back, or ask "
            "its operator."
        )


class ChunkLostError(PageError):
    """
    A chunk a result was built with is no longer in the session store (Redis evicted it under
    ``maxmemory``); paging the result re-runs it, work in progress on it stops with this.

    :param index: The chunk that is gone.
    """

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(
            "The session store no longer holds this result (it was evicted to free memory). "
            "Page it again to re-run its query, or run a new query."
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


class WorkerFailedError(LogpagerError):
    """A worker process of ``serve --workers N`` ended without being asked to; the others
    were stopped."""


class InvalidArgumentError(LogpagerError):
    """
    A tool argument that cannot be used; the message names the parameter and what to pass.

    :param parameter: The parameter's name, as the tool declares it.
    :param problem: What is wrong and what would be right.
    """

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        super().__init__(f"Invalid {parameter}: {problem}")
