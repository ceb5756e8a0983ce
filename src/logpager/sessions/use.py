"""Using a result through its handle: held here, read back from the session store, or
re-run from its tombstone; the session manager's paging and analysis go through it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from logpager.clock import Clock
from logpager.errors import (
    ChunkLostError,
    InstructionsRequiredError,
    ResultExpiredError,
    SessionNotFoundError,
    UnknownHandleError,
)
from logpager.sessions.revival import Rerunner, check_revivable, revive
from logpager.sessions.state import SessionState
from logpager.sessions.tombstones import Tombstone, TombstoneReason
from logpager.settings import Settings

if TYPE_CHECKING:
    from logpager.sessions.registry import SessionRegistry

__all__ = ["ResultUse"]

_T = TypeVar("_T")


class ResultUse:
    """The session manager's one way to a result from a session and a handle."""

    _lock: threading.RLock
    _registry: SessionRegistry
    _clock: Clock
    settings: Settings
    rerun: Rerunner | None
    require_instructions: bool
    on_paged: Callable[[], None] | None

    def _notify_cached(self) -> None:
        raise NotImplementedError

    def _use(
        self, session_id: str, handle: str | None, use: Callable[[SessionState, str], _T]
    ) -> _T:
        with self._lock:
            session = self._live(session_id, handle)
            if self.require_instructions and not session.is_instructions_retrieved:
                raise InstructionsRequiredError
            handle = handle if handle is not None else session.latest_handle
            if handle is None:
                raise SessionNotFoundError
            tombstone, held = self._use_held(session, handle, use)
            if tombstone is not None:
                rerun = check_revivable(tombstone, self.rerun, self.settings)
        if tombstone is None:
            used = cast(_T, held)
        else:
            # The re-run takes as long as a search: other sessions must not wait for it.
            used, revived = revive(
                self._registry, self._lock, session, tombstone, rerun, use, self._clock
            )
            if revived:
                self._notify_cached()
        if self.on_paged is not None:
            self.on_paged()
        return used

    def _live(self, session_id: str, handle: str | None) -> SessionState:
        """The live session, taken in from the session store if another process made it."""
        registry = self._registry
        try:
            return registry.live(session_id, self._clock())
        except SessionNotFoundError:
            if handle is None or registry.adopt(handle, self._clock()) != session_id:
                raise
            return registry.live(session_id, self._clock())

    def _use_held(
        self, session: SessionState, handle: str, use: Callable[[SessionState, str], _T]
    ) -> tuple[Tombstone | None, _T | None]:
        """Uses a held result, else returns the tombstone to re-run (under the lock)."""
        registry = self._registry
        result = session.results.get(handle)
        if result is None:
            tombstone = session.tombstones.get(handle)
            if tombstone is None:
                raise UnknownHandleError
            if not registry.restore_evicted(session, tombstone):
                return tombstone, None
        elif self._clock() - result.created_at > registry.query_ttl:
            registry.drop_result(session, handle, TombstoneReason.EXPIRED)
            raise ResultExpiredError
        try:
            used = use(session, handle)
        except ChunkLostError:
            # The store lost the result (evicted under its maxmemory): re-run it as if the
            # governor had evicted it here.
            registry.drop_result(session, handle, TombstoneReason.EVICTED)
            return session.tombstones[handle], None
        if registry.link is not None:
            registry.link.touch(handle, session.session_id)
        return None, used

