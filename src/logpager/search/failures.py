"""How a ``clp-s`` search fails: its exit status and stderr read as the errors callers see.

``clp-s`` reports every problem on stderr as log lines (``TIME [error] message``) and exits
1, so a failure is told apart by what those lines say: a query that cannot match anything, a
query that does not parse, missing archives, or anything else (a crash).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from logpager.errors import (
    BackendCrashedError,
    NoArchivesError,
    QuerySyntaxError,
    SearchTimeoutError,
)
from logpager.search.datadir import ingest_hint, list_archive_ids
from logpager.search.kql import quote_query, syntax_hint

__all__ = [
    "no_archives_error",
    "raise_for_failure",
    "signal_name",
    "stderr_message",
    "timeout_error",
]

_LOG_PREFIX = re.compile(r"^\S+ \[(?:error|warning|info|debug)\] ", re.MULTILINE)


def stderr_message(raw: bytes) -> str:
    """
    :param raw: What ``clp-s`` wrote to stderr (or its tail).
    :return: Its error lines (or, without any, its non-empty lines) without their log prefix,
        joined with ``"; "``; ``"no message"`` if there is none.
    """
    text = raw.decode("utf-8", errors="replace")
    errors = [line for line in text.splitlines() if "[error]" in line]
    lines = errors or [line for line in text.splitlines() if line.strip()]
    cleaned = [_LOG_PREFIX.sub("", line).strip() for line in lines]
    return "; ".join(line for line in cleaned if line) or "no message"


def timeout_error(timeout_seconds: float) -> SearchTimeoutError:
    """
    :param timeout_seconds: The timeout that ran out.
    :return: The error of a search (or a link's decompression) stopped at its timeout.
    """
    return SearchTimeoutError(
        f"The search ran past {timeout_seconds:g} s and was stopped. Narrow the query "
        "or the time range (begin/end) and try again."
    )


def no_archives_error(data_dir: Path) -> NoArchivesError:
    """
    :param data_dir: The data directory searched.
    :return: The error of a search with nothing to search, with a hint on how to ingest.
    """
    where = (
        f"The data directory {data_dir} does not exist."
        if not data_dir.exists()
        else f"The data directory {data_dir} holds no archives."
    )
    return NoArchivesError(f"{where} {ingest_hint(data_dir)}")


def raise_for_failure(returncode: int, err: bytes, query: str, data_dir: Path) -> None:
    """
    Reads a search's non-zero exit as the error it stands for.

    Returns only when ``clp-s`` found that the query can match nothing (e.g. ``ts > abc``):
    the reference reports that as no results, so the caller reports no hits.

    :param returncode: ``clp-s``'s exit status (negative: killed by that signal).
    :param err: The tail of its stderr.
    :param query: The query searched.
    :param data_dir: The data directory searched.
    :raise QuerySyntaxError: If the query does not parse.
    :raise NoArchivesError: If the archives went away.
    :raise BackendCrashedError: On any other failure.
    """
    message = stderr_message(err)
    if returncode < 0:
        msg = (
            f"clp-s was killed by signal {signal_name(returncode)} during the search; "
            "nothing was cached."
        )
        raise BackendCrashedError(msg)
    if returncode == 1:
        if "is logically false" in message:
            # e.g. `ts > abc`: nothing can match; the reference reports it as no results.
            return
        if any(k in message for k in ("Parser error", "Lexer error", "No query specified")):
            msg = f"Invalid KQL query {quote_query(query)}: {message}.{syntax_hint(query)}"
            raise QuerySyntaxError(msg)
        if "archive" in message.lower() and not list_archive_ids(data_dir):
            raise no_archives_error(data_dir)
    msg = f"clp-s failed (exit status {returncode}): {message}; nothing was cached."
    raise BackendCrashedError(msg)


def signal_name(returncode: int) -> str:
    """
    :param returncode: A negative exit status (the child was killed by a signal).
    :return: The signal's name (``SIGABRT``), or its number when it has none.
    """
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return str(-returncode)
