"""Result handles: how they are minted, and which session owns each one."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

__all__ = ["HANDLE_BYTES", "HandleIndex", "new_handle"]

HANDLE_BYTES = 24
"""Random bytes in a result handle (192 bits; the floor for a capability is 128)."""


def new_handle() -> str:
    """:return: A fresh, random, URL-safe result handle (never derived from client input)."""
    return secrets.token_urlsafe(HANDLE_BYTES)


class HandleIndex:
    """
    Which session owns each handle that still answers (a live result or a tombstone).

    Not locked itself: the session manager mutates it under its lock only.
    """

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}

    def add(self, handle: str, session_id: str) -> None:
        """
        :param handle: A handle that now answers.
        :param session_id: The session that owns it.
        """
        self._owners[handle] = session_id

    def owner(self, handle: str) -> str | None:
        """
        :param handle: A result handle.
        :return: The id of the session that owns it, or None if none does.
        """
        return self._owners.get(handle)

    def forget(self, handles: Iterable[str]) -> None:
        """
        :param handles: Handles that no longer answer (absent ones are ignored).
        """
        for handle in handles:
            self._owners.pop(handle, None)

    def check(self, owned: Mapping[str, str]) -> None:
        """
        :param owned: Every handle the sessions hold, with the id of the session holding it.
        :raise AssertionError: If the index disagrees with ``owned``.
        """
        if dict(owned) != self._owners:
            msg = "handle index disagrees with the sessions' results"
            raise AssertionError(msg)
