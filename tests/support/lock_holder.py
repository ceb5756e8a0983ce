"""The session manager's lock held by another thread, for tests of what never waits on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from logpager.sessions import SessionManager

__all__ = ["lock_held_elsewhere"]

_WAIT_SECONDS = 30


@contextmanager
def lock_held_elsewhere(manager: SessionManager) -> Iterator[None]:
    """
    Holds ``manager``'s lock in another thread for the block, taken before the block starts
    and released when it ends.

    :param manager: The session manager.
    :raise AssertionError: If the other thread did not get the lock (it was not free).
    """
    held, release = threading.Event(), threading.Event()
    got: list[bool] = []

    def hold() -> None:
        with manager.lock_if_free() as free:
            got.append(free)
            held.set()
            release.wait(_WAIT_SECONDS)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        if not held.wait(_WAIT_SECONDS) or not got[0]:
            msg = "another thread could not take the session manager's lock"
            raise AssertionError(msg)
        yield
    finally:
        release.set()
        holder.join(_WAIT_SECONDS)
