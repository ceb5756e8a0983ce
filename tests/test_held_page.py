"""Whether a page is served without waiting (``sessions/held_page.py``): the lock free now,
and no session store or re-run on the way. Each answer is checked against what paging then
does: a page said ready is served without the store's being asked or a re-run."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from harness.rows import make_events
from logpager.cache import QueryResult
from logpager.errors import PageError
from logpager.query import QuerySpec
from logpager.sessions import SessionManager, new_handle
from logpager.settings import Settings
from logpager.store import MemoryStore
from tests.support.clock import FakeClock
from tests.support.lock_holder import lock_held_elsewhere

EVENTS = 3_000  # 300 pages of 10, in chunks of several pages


class CountingStore(MemoryStore):
    """The memory store, counting every call made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if callable(attribute) and not name.startswith("_"):
            counts = super().__getattribute__("__dict__")
            counts["calls"] = counts.get("calls", 0) + 1
        return attribute


def cache(manager: SessionManager, session_id: str = "s1") -> str:
    """:return: The handle of a new result of :data:`EVENTS` events in ``session_id``."""
    spec = QuerySpec("*", max_results=10**6, page_size=10)
    result = QueryResult.from_batches([make_events(EVENTS)], spec, clock=manager.now)
    first, _ = manager.cache_query_result(session_id, "*", result)
    handle: str = first["result_handle"]
    return handle


def ready(manager: SessionManager, session_id: str, handle: str | None, index: object) -> bool:
    with manager.lock_if_free() as free:
        assert free
        return manager.page_ready(session_id, handle, index)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(clock: FakeClock) -> SessionManager:
    reruns: list[QuerySpec] = []

    def rerun(spec: QuerySpec) -> QueryResult:
        reruns.append(spec)
        return QueryResult.from_batches([make_events(EVENTS)], spec, clock=clock)

    return SessionManager(
        settings=Settings(require_instructions=False, page_size=10), clock=clock, rerun=rerun
    )


def test_the_lock_is_taken_only_when_free(manager: SessionManager) -> None:
    with manager.lock_if_free() as free:
        assert free
    with lock_held_elsewhere(manager), manager.lock_if_free() as free:
        assert not free
    with manager.lock_if_free() as free:
        assert free
        # Reentrant: the manager's own methods take it again while it is held.
        assert manager.get_or_create_session("s2").session_id == "s2"
    with manager.lock_if_free() as free:
        assert free  # released on leaving


def test_a_held_result_is_ready_and_so_is_every_error_from_held_state(
    manager: SessionManager, clock: FakeClock
) -> None:
    handle = cache(manager)
    for index in (0, 5, 299, 300, -1, "3", True):
        assert ready(manager, "s1", handle, index)
        assert ready(manager, "s1", None, index)
    assert ready(manager, "s1", new_handle(), 0)  # unknown handle
    assert ready(manager, "nobody", None, 0)  # no session
    assert ready(manager, "nobody", handle, 0)  # no store to adopt from
    clock.advance(manager.settings.query_ttl_seconds + 1)
    assert ready(manager, "s1", handle, 0)  # expired result: dropped here
    with pytest.raises(PageError, match="expired"):
        manager.page("s1", 0, handle)


def test_an_evicted_result_is_not_ready(manager: SessionManager) -> None:
    handle = cache(manager)
    ((session, _, _),) = list(manager.iter_results_lru())
    manager.evict_result(session, handle)
    assert not ready(manager, "s1", handle, 3)
    assert not ready(manager, "s1", None, 3)
    manager.page("s1", 3, handle)  # re-run
    assert manager.metrics.reruns == 1
    assert ready(manager, "s1", handle, 3)


def test_with_a_store_only_held_chunks_and_handles_are_ready(clock: FakeClock) -> None:
    store = CountingStore()
    settings = Settings(require_instructions=False, page_size=10)
    one = SessionManager(settings=settings, clock=clock, store=store)
    handle = cache(one)
    # Written through: the chunks are in the store, this process holds none decoded yet.
    assert not ready(one, "s1", handle, 40)
    calls = store.calls
    one.page("s1", 40, handle)
    assert store.calls > calls  # the chunk was read from the store
    calls = store.calls
    for index in (40, 41, 300, -1):  # the same chunk decoded here, or an error
        assert ready(one, "s1", handle, index)
        with contextlib.suppress(PageError):
            one.page("s1", index, handle)
    assert store.calls == calls  # nothing asked of the store
    assert not ready(one, "s1", handle, 200)  # another chunk: in the store
    # Touching the handle in the store falls due again after a share of the session TTL.
    clock.advance(settings.session_ttl_seconds * 0.2)
    assert not ready(one, "s1", handle, 40)
    # Another process: the handle is adopted from the store, then its chunk read from it.
    other = SessionManager(settings=settings, clock=clock, store=store)
    assert not other.handle_held_here(handle)
    assert not ready(other, "s1", handle, 40)
    assert other.session_for_handle(handle) == "s1"
    assert other.handle_held_here(handle)
    assert not ready(other, "s1", handle, 40)
    other.page("s1", 40, handle)
    assert ready(other, "s1", handle, 40)
