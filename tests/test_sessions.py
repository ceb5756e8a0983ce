"""SessionManager: the seed API, its error texts, TTLs with an injected clock, the sweep."""

from __future__ import annotations

import asyncio
import gc

import pytest

from harness.rows import make_events
from logpager.cache import QueryResult
from logpager.errors import ResultReplacedError
from logpager.query import QuerySpec
from logpager.sessions import SessionManager, TombstoneReason
from logpager.settings import Settings, SettingsError
from tests.support.clock import FakeClock
from tests.support.lock_holder import lock_held_elsewhere

NOT_FOUND = "Session not found. Please run a query first."
SESSION_EXPIRED = "Session expired. Please run a new query."
RESULT_EXPIRED = "Query results expired. Please run a new query."


@pytest.fixture
def manager(clock: FakeClock) -> SessionManager:
    return SessionManager(clock=clock)


def ready(manager: SessionManager, sid: str) -> None:
    manager.mark_instructions_retrieved(sid)


def test_seed_defaults():
    m = SessionManager()
    s = m.settings
    assert (s.page_size, s.max_cached_results, s.session_ttl_minutes, s.query_ttl_minutes) == (
        10,
        1000,
        60,
        30,
    )


def test_constructor_values_are_validated():
    with pytest.raises(ValueError, match="page_size"):
        SessionManager(page_size=0)
    with pytest.raises(ValueError, match="session_ttl_minutes"):
        SessionManager(session_ttl_minutes=-1)


def test_instructions_first(manager):
    page, total = manager.cache_query_result("s", "q", ["a"])
    assert total == 0
    assert page["Error"].startswith("Please call get_instructions() first")
    assert manager.get_nth_page("s", 0)["Error"].startswith("Please call get_instructions()")


def test_cache_and_page(manager):
    ready(manager, "s")
    items = [f"item {i}" for i in range(25)]
    first, total = manager.cache_query_result("s", "q", items)
    assert total == 3
    assert first["items"] == items[:10]
    assert first["page_index"] == 0
    assert isinstance(first["result_handle"], str)
    assert len(first["result_handle"]) >= 22  # 128+ bits, URL-safe base64
    last = manager.get_nth_page("s", 2)
    assert last["items"] == items[20:]
    assert last["has_next"] is False
    manager.check()


def test_custom_page_size(manager):
    ready(manager, "s")
    _, total = manager.cache_query_result("s", "q", [str(i) for i in range(25)], page_size=5)
    assert total == 5
    assert manager.get_nth_page("s", 4)["items"] == [str(i) for i in range(20, 25)]


def test_unknown_session(manager):
    assert manager.get_nth_page("nobody", 0) == {"Error": NOT_FOUND}


def test_session_without_result(manager):
    ready(manager, "s")
    assert manager.get_nth_page("s", 0) == {"Error": NOT_FOUND}


@pytest.mark.parametrize("bad", [-1, 3, True, 1.0, "1", None])
def test_invalid_page_index_text(manager, bad):
    ready(manager, "s")
    manager.cache_query_result("s", "q", [str(i) for i in range(30)])
    assert manager.get_nth_page("s", bad) == {"Error": "Invalid page index. Valid range: 0-2"}


def test_session_expires_after_ttl(manager, clock):
    ready(manager, "s")
    manager.cache_query_result("s", "q", ["a"])
    clock.advance(60 * 60 + 1)
    assert manager.get_nth_page("s", 0) == {"Error": SESSION_EXPIRED}
    # Once expired it stays "expired", not "not found", for the late caller.
    assert manager.get_nth_page("s", 0) == {"Error": SESSION_EXPIRED}


def test_activity_keeps_session_alive(manager, clock):
    ready(manager, "s")
    manager.cache_query_result("s", "q", [str(i) for i in range(30)])
    clock.advance(20 * 60)
    assert manager.get_nth_page("s", 1)["items"][0] == "10"
    # 40 minutes in: the result (30 min TTL) is gone but the used session (60 min) is not.
    for _ in range(4):
        clock.advance(20 * 60)
        assert manager.get_nth_page("s", 0) == {"Error": RESULT_EXPIRED}
    assert "s" in manager.sessions


def test_result_expires_after_query_ttl(manager, clock):
    ready(manager, "s")
    manager.cache_query_result("s", "q", ["a"])
    clock.advance(29 * 60)
    assert manager.get_nth_page("s", 0)["items"] == ["a"]
    clock.advance(2 * 60)
    assert manager.get_nth_page("s", 0) == {"Error": RESULT_EXPIRED}
    assert manager.get_nth_page("s", 0) == {"Error": RESULT_EXPIRED}
    manager.check()


def test_sweep_removes_expired_keeps_active(manager, clock):
    for sid in ("old", "active"):
        ready(manager, sid)
        manager.cache_query_result(sid, "q", ["a"])
    clock.advance(45 * 60)
    manager.get_or_create_session("active")
    clock.advance(20 * 60)
    assert manager.cleanup_expired_sessions() == 1
    assert set(manager.sessions) == {"active"}
    assert manager.metrics.sessions_expired == 1
    manager.check()


def test_expired_session_is_replaced_on_get_or_create(manager, clock):
    s1 = manager.get_or_create_session("s")
    clock.advance(61 * 60)
    s2 = manager.get_or_create_session("s")
    assert s1 is not s2
    assert s2.is_instructions_retrieved is False


async def test_background_sweep_runs(clock):
    m = SessionManager(settings=Settings(sweep_interval_seconds=0.01), clock=clock)
    m.get_or_create_session("s")
    clock.advance(61 * 60)
    await m.start()
    for _ in range(100):
        if not m.sessions:
            break
        await asyncio.sleep(0.01)
    await m.stop()
    assert m.sessions == {}


async def test_background_sweep_waits_for_the_lock_off_the_event_loop(clock):
    m = SessionManager(settings=Settings(sweep_interval_seconds=0.01), clock=clock)
    m.get_or_create_session("s")
    clock.advance(61 * 60)
    with lock_held_elsewhere(m):
        await m.start()
        # Sweeps fall due every 10 ms and wait for the lock in a thread; the loop runs on.
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert "s" in m.sessions
    for _ in range(100):
        if not m.sessions:
            break
        await asyncio.sleep(0.01)
    await m.stop()
    assert m.sessions == {}


def test_sessions_never_see_each_other(manager):
    for sid in ("a", "b"):
        ready(manager, sid)
    manager.cache_query_result("a", "qa", [f"a{i}" for i in range(15)])
    pb, _ = manager.cache_query_result("b", "qb", [f"b{i}" for i in range(15)])
    assert all(x.startswith("a") for x in manager.get_nth_page("a", 1)["items"])
    assert all(x.startswith("b") for x in manager.get_nth_page("b", 1)["items"])
    # b's handle means nothing in a's session.
    refused = manager.get_nth_page("a", 0, handle=pb["result_handle"])
    assert "Unknown or foreign result handle" in refused["Error"]


def test_several_results_per_session_with_cap(clock):
    m = SessionManager(settings=Settings(max_results_per_session=2), clock=clock)
    ready(m, "s")
    h = [m.cache_query_result("s", f"q{i}", [f"r{i}"])[0]["result_handle"] for i in range(3)]
    assert m.get_nth_page("s", 0)["items"] == ["r2"]
    assert m.get_nth_page("s", 0, handle=h[1])["items"] == ["r1"]
    # Pushed out by newer results, not expired: the error says so and names the limit.
    replaced = m.get_nth_page("s", 0, handle=h[0])
    assert replaced == {"Error": str(ResultReplacedError(2))}
    assert "keeps its 2 newest results (max_results_per_session)" in replaced["Error"]
    assert m.sessions["s"].tombstones[h[0]].reason is TombstoneReason.REPLACED
    m.check()


def test_record_batches_and_truncation(manager):
    ready(manager, "s")
    page, total = manager.cache_query_result("s", "q", [make_events(1500)])
    assert total == 100
    assert page["num_total_matches"] == 1500
    assert page["truncated"] is True
    assert "event 1499" in page["items"][0]


def test_evicted_result_errs_without_rerun(manager):
    ready(manager, "s")
    page, _ = manager.cache_query_result("s", "level: ERROR", ["a"])
    session = manager.sessions["s"]
    assert manager.evict_result(session, page["result_handle"]) > 0
    err = manager.get_nth_page("s", 0)["Error"]
    assert "evicted under memory pressure" in err
    assert "level: ERROR" in err


def test_an_evicted_result_is_freed_at_once_without_the_garbage_collector(manager):
    # The governor evicts to give memory back now: nothing may keep an evicted result alive
    # until a collection that a search making few Python objects never triggers.
    ready(manager, "s")
    manager.cache_query_result("s", "q", [make_events(3_000)])
    manager.get_nth_page("s", 1)
    handle, result = manager.result("s")
    held = id(result)
    del result
    gc.collect()
    gc.disable()
    try:
        assert manager.evict_result(manager.sessions["s"], handle) > 0
        alive = [o for o in gc.get_objects() if id(o) == held and isinstance(o, QueryResult)]
    finally:
        gc.enable()
    assert alive == []


def test_evicted_result_is_rerun(clock):
    calls = []

    def rerun(spec):
        calls.append(spec.query)
        return QueryResult.from_items(["again"], QuerySpec(spec.query))

    m = SessionManager(clock=clock, rerun=rerun)
    ready(m, "s")
    page, _ = m.cache_query_result("s", "q", ["a"])
    m.evict_result(m.sessions["s"], page["result_handle"])
    assert m.get_nth_page("s", 0)["items"] == ["again"]
    assert calls == ["q"]
    assert m.metrics.reruns == 1
    m.check()


def test_handle_resolves_to_session(manager):
    ready(manager, "s")
    page, _ = manager.cache_query_result("s", "q", ["a"])
    assert manager.session_for_handle(page["result_handle"]) == "s"
    assert manager.session_for_handle("forged") is None


def test_settings_error_type_is_value_error():
    assert issubclass(SettingsError, ValueError)
