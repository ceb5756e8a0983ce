"""How far a running search has got, readable from the event loop while it runs.

The search runs in a worker thread; the counter is an int the reader adds to once per read
of ``clp-s``'s pipe (never per hit), and the event loop only reads it. The progress object
reaches the worker through a context variable set by the awaiting task, so the
:class:`~logpager.search.backend.SearchBackend` protocol needs no new argument.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

__all__ = ["CURRENT_PROGRESS", "SearchProgress"]


@dataclass
class SearchProgress:
    """
    Counters of one search, written by its worker thread, read by anyone.

    :ivar hits: Hits decoded so far (all of them, kept or not).
    """

    hits: int = 0


CURRENT_PROGRESS: contextvars.ContextVar[SearchProgress | None] = contextvars.ContextVar(
    "logpager_search_progress", default=None
)
"""The progress the awaiting task wants a search it starts to report into (``None``: none)."""
