"""Result handles: how they are minted."""

from __future__ import annotations

import secrets

__all__ = ["HANDLE_BYTES", "new_handle"]

HANDLE_BYTES = 24
"""Random bytes in a result handle (192 bits; the floor for a capability is 128)."""


def new_handle() -> str:
    """:return: A fresh, random, URL-safe result handle (never derived from client input)."""
    return secrets.token_urlsafe(HANDLE_BYTES)
