"""Result handles: how they are minted, and which session owns each one."""

from __future__ import annotations

import hashlib
import hmac
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

    A handle is a bearer secret, so looking one up must not tell a caller how much of a
    guess was right: the index is keyed by the handle's SHA-256 digest (a dict lookup compares
    digests, which a guess cannot steer byte by byte), and the handle found is compared with
    the one given in constant time (``hmac.compare_digest``).

    Not locked itself: the session manager mutates it under its lock only.
    """

    def __init__(self) -> None:
        self._owners: dict[bytes, tuple[str, str]] = {}

    def add(self, handle: str, session_id: str) -> None:
        """
        :param handle: A handle that now answers.
        :param session_id: The session that owns it.
        """
        self._owners[_digest(handle)] = (handle, session_id)

    def owner(self, handle: str) -> str | None:
        """
        :param handle: A result handle, as a caller gave it.
        :return: The id of the session that owns it, or None if none does.
        """
        given = _encode(handle)
        found = self._owners.get(hashlib.sha256(given).digest())
        if found is None or not hmac.compare_digest(_encode(found[0]), given):
            return None
        return found[1]

    def forget(self, handles: Iterable[str]) -> None:
        """
        :param handles: Handles that no longer answer (absent ones are ignored).
        """
        for handle in handles:
            self._owners.pop(_digest(handle), None)

    def check(self, owned: Mapping[str, str]) -> None:
        """
        :param owned: Every handle the sessions hold, with the id of the session holding it.
        :raise AssertionError: If the index disagrees with ``owned``.
        """
        if dict(owned) != dict(self._owners.values()):
            msg = "handle index disagrees with the sessions' results"
            raise AssertionError(msg)


def _encode(handle: str) -> bytes:
    # A handle comes from a client's JSON, which may hold lone surrogates.
    return handle.encode("utf-8", "surrogatepass")


def _digest(handle: str) -> bytes:
    return hashlib.sha256(_encode(handle)).digest()
