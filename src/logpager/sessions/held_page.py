"""Whether a page can be served without waiting: the session manager's lock free now, and
nothing on the way to the page needing the session store or a re-run.

The server answers such a page on its event loop rather than in a worker thread (see
:mod:`logpager.server.page_on_loop`). The questions here mirror, step by step, what
:meth:`SessionManager.page <logpager.sessions.SessionManager.page>` does
(:class:`~logpager.sessions.use.ResultUse`), and answer False wherever that path could
reach the store (adopting a handle, reading back an evicted result, a chunk that is not
held here, the rate-limited touch of a handle, marking an expired result in the store) or
re-run a result. Every one of them is asked with the lock held, so that nothing changes
between the question and the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from logpager.cache.result import page_is_held
from logpager.clock import Clock

if TYPE_CHECKING:
    from logpager.sessions.registry import SessionRegistry

__all__ = ["HeldPages"]


class HeldPages:
    """The session manager's questions about serving a page without waiting."""

    _lock: threading.RLock
    _registry: SessionRegistry
    _clock: Clock
    require_instructions: bool

    @contextmanager
    def lock_if_free(self) -> Iterator[bool]:
        """
        Takes the manager's lock if no other thread holds it, without waiting.

        :return: A context that yields whether the lock is held by this thread now (it is
            released on leaving); the manager's own methods take it again freely (it is
            reentrant).
        """
        got = self._lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._lock.release()

    @property
    def has_store(self) -> bool:
        """:return: Whether sessions and results are shared through a session store."""
        return self._registry.link is not None

    def handle_held_here(self, handle: str) -> bool:
        """
        :param handle: A handle a caller passed.
        :return: Whether a session of this process holds it (its owner is found without
            asking the store).
        """
        return self._registry.handles.owner(handle) is not None

    def principal_instructed_here(self, principal: str) -> bool:
        """
        :param principal: An authenticated principal.
        :return: Whether this process knows it called ``get_instructions()`` (else the
            instructions rule asks the store, when there is one).
        """
        return self._registry.principals.is_instructed(principal)

    def page_ready(self, session_id: str, handle: str | None, page_index: object) -> bool:
        """
        Whether ``page(session_id, page_index, handle)`` answers, with a page or an error,
        from what this process holds. Ask with the lock held (:meth:`lock_if_free`).

        :param session_id: The session to page in.
        :param handle: The handle to page (None: the session's newest).
        :param page_index: The page asked for, as received.
        :return: False if the page could need the session store or a re-run.
        """
        registry = self._registry
        link = registry.link
        now = self._clock()
        session = registry.sessions.get(session_id)
        if session is None:
            # Not found or expired here; with a handle, the store is asked for it.
            return handle is None or link is None
        if session.is_expired(now, registry.session_ttl):
            return True
        if self.require_instructions and not session.is_instructions_retrieved:
            return True
        handle = handle if handle is not None else session.latest_handle
        if handle is None:
            return True
        result = session.results.get(handle)
        if result is None:
            # A tombstone is read back from the store or re-run; an unknown handle errs.
            return handle not in session.tombstones
        if now - result.created_at > registry.query_ttl:
            # Dropped as expired, which a store is told of.
            return link is None
        if link is not None and link.touch_due(handle):
            return False
        return page_is_held(result, page_index)
