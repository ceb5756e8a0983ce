"""What the server remembers of an authenticated principal across its connections, and
the session manager's methods that read it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logpager.sessions.registry import SessionRegistry
    from logpager.sessions.state import SessionState

__all__ = ["PrincipalAccess", "PrincipalIndex"]


class PrincipalIndex:
    """
    Per principal: its latest result's handle (what a handle-less page on any of its
    connections shows) and whether it has called ``get_instructions()``.

    One short entry per principal that has searched or asked for instructions; principals are
    the few identities of a tokens file or an identity provider, not one per connection.
    Not locked itself: the session manager uses it under its lock only.
    """

    def __init__(self) -> None:
        self._latest: dict[str, str] = {}
        self._instructed: set[str] = set()

    def note_result(self, principal: str, handle: str) -> None:
        """
        :param principal: The principal that searched.
        :param handle: The new result's handle, now its latest.
        """
        self._latest[principal] = handle

    def latest(self, principal: str) -> str | None:
        """
        :param principal: A principal.
        :return: The handle of its latest result, or None if it has none.
        """
        return self._latest.get(principal)

    def mark_instructed(self, principal: str) -> None:
        """:param principal: A principal that called ``get_instructions()``."""
        self._instructed.add(principal)

    def is_instructed(self, principal: str) -> bool:
        """
        :param principal: A principal.
        :return: Whether it has called ``get_instructions()`` on any connection.
        """
        return principal in self._instructed


class PrincipalAccess:
    """
    The session manager's methods about callers across connections: principals, and the
    latest result of a session. Each takes the manager's lock.
    """

    _lock: threading.RLock
    _registry: SessionRegistry
    sessions: dict[str, SessionState]

    def mark_principal_instructed(self, principal: str) -> None:
        """:param principal: A principal that called ``get_instructions()``."""
        with self._lock:
            self._registry.principals.mark_instructed(principal)
            if self._registry.link is not None:
                self._registry.link.note_instructed(None, principal)

    def is_principal_instructed(self, principal: str) -> bool:
        """
        :param principal: An authenticated principal.
        :return: Whether it has called ``get_instructions()`` on any connection.
        """
        with self._lock:
            if self._registry.principals.is_instructed(principal):
                return True
            link = self._registry.link
            if link is None:
                return False
            # Instructed on another replica (or before a restart): remembered here from now on.
            known = link.store.principal(principal)
            if known is None or not known.instructed:
                return False
            self._registry.principals.mark_instructed(principal)
            return True

    def latest_handle_for(self, principal: str) -> str | None:
        """
        :param principal: An authenticated principal.
        :return: The handle of its newest result, on whichever connection it searched.
        """
        with self._lock:
            link = self._registry.link
            if link is not None:
                # The store's is the newest of every replica's.
                known = link.store.principal(principal)
                if known is not None and known.latest_handle is not None:
                    return known.latest_handle
            return self._registry.principals.latest(principal)

    def latest_handle_of(self, session_id: str) -> str | None:
        """
        :param session_id: A session's identifier.
        :return: The handle of its newest result, or None (no such session, or no result).
        """
        with self._lock:
            session = self.sessions.get(session_id)
            return session.latest_handle if session is not None else None
