"""Paging a result the memory governor evicted: re-running it from its tombstone."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.errors import (
    DerivedResultEvictedError,
    LogpagerError,
    RerunFailedError,
    ResultEvictedError,
    ResultExpiredError,
    ResultReplacedError,
    SessionExpiredError,
)
from logpager.query import QuerySpec
from logpager.sessions.registry import SessionRegistry
from logpager.sessions.state import SessionState
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings

__all__ = ["Rerunner", "check_revivable", "revive"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

Rerunner = Callable[[QuerySpec], QueryResult]
"""Rebuilds a dropped result from its tombstone's spec (same query, same archives, same
cap); see :func:`logpager.search.rerun.make_rerunner`."""


def check_revivable(tombstone: Tombstone, rerun: Rerunner | None, settings: Settings) -> Rerunner:
    """
    :param tombstone: What remains of the result being paged.
    :param rerun: The manager's re-runner, if it has one.
    :param settings: ``evicted_result_policy`` (``"rerun"`` or ``"error"``) and
        ``max_results_per_session`` (named when a result was replaced).
    :return: The re-runner to revive the result with.
    :raise ResultExpiredError: If the result outlived ``query_ttl_minutes``.
    :raise ResultReplacedError: If newer results of its session pushed it out.
    :raise ResultEvictedError: If it was evicted but is not to be re-run.
    """
    if tombstone.reason is TombstoneReason.EXPIRED:
        raise ResultExpiredError
    if tombstone.reason is TombstoneReason.REPLACED:
        raise ResultReplacedError(settings.max_results_per_session)
    if tombstone.spec.derived_from is not None:
        # Its query describes a filter, not a search: the engine cannot make it again.
        raise DerivedResultEvictedError(tombstone.spec.derived_from)
    if rerun is None or settings.evicted_result_policy == "error":
        raise ResultEvictedError(tombstone.query)
    return rerun


def revive(
    registry: SessionRegistry,
    lock: threading.RLock,
    session: SessionState,
    tombstone: Tombstone,
    rerun: Rerunner,
    use: Callable[[SessionState, str], _T],
    clock: Clock,
) -> tuple[_T, bool]:
    """
    Re-runs an evicted result (unlocked), puts it back under its handle and uses it (serves a
    page, or hands it out for analysis).

    Call it without holding ``lock``: the re-run takes as long as a search, and other sessions
    must not wait for it. The result is put back under ``lock``, after checking again that
    the session still lives and that no other caller revived the result meanwhile.

    :param registry: The manager's sessions.
    :param lock: The manager's lock, which guards ``registry``.
    :param session: The session that owns the tombstone.
    :param tombstone: What remains of the result, checked by :func:`check_revivable`.
    :param rerun: The re-runner :func:`check_revivable` returned.
    :param use: What to do with the live result, under ``lock`` (e.g. serve a page).
    :param clock: The manager's clock (for the re-run's log line).
    :return: What ``use`` returned, and whether this call put the result back (False when
        another caller had revived it first).
    :raise RerunFailedError: If the re-run fails; the tombstone stays for another try.
    :raise SessionExpiredError: If the session expired or was evicted while the query ran.
    :raise PageError: If the page index is invalid.
    """
    handle = tombstone.handle
    started = clock()
    try:
        result = rerun(tombstone.spec)
    except LogpagerError as exc:
        raise RerunFailedError(tombstone.query, str(exc)) from exc
    with lock:
        if handle in session.results:
            # Another caller revived it meanwhile; use theirs, drop this copy.
            return use(session, handle), False
        if registry.sessions.get(session.session_id) is not session:
            # The session expired or was evicted while the query ran.
            raise SessionExpiredError
        registry.reinstate(session, handle, result)
        used = use(session, handle)
    logger.info(
        "re-ran evicted query %r: %d items in %.3f s",
        tombstone.query,
        result.num_items,
        clock() - started,
    )
    return used, True
