"""Session managers sharing one session store: what one process caches, another serves.

Each test runs on the in-process memory store, a real Redis and a real 3-node Redis Cluster;
"processes" are session managers that share nothing but the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.redis import RedisServer
from harness.rows import make_events
from logpager.cache import QueryResult
from logpager.cache.stored import held_chunks
from logpager.errors import ChunkLostError, ResultExpiredError
from logpager.query import QuerySpec
from logpager.sessions import SessionManager
from logpager.settings import Settings
from logpager.store import MemoryStore, SessionStore, open_store
from tests.support.clock import FakeClock

KINDS = ["memory", "redis", "cluster"]
EVENTS = 3_000


@pytest.fixture(params=KINDS)
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[[], SessionStore]]:
    """Opens a new connection to one shared store (a new process's view of it)."""
    kind = request.param
    if kind == "memory":
        shared = MemoryStore()
        yield lambda: shared
        return
    if kind == "redis":
        url = request.getfixturevalue("redis_server").url
    else:
        url = request.getfixturevalue("redis_cluster").url
    opened: list[SessionStore] = []

    def new() -> SessionStore:
        opened.append(open_store(url))
        return opened[-1]

    yield new
    for store in opened:
        store.close()


def build(spec: QuerySpec, clock: Callable[[], float] = time.monotonic) -> QueryResult:
    """The engine's stand-in for a re-run: the same rows, built again."""
    return QueryResult.from_batches([make_events(EVENTS)], spec, clock=clock)


class Replicas:
    """Session managers sharing a store, each with its own clock."""

    def __init__(self, connect: Callable[[], SessionStore], **settings: Any) -> None:
        self.connect = connect
        self.settings = Settings(require_instructions=False, page_size=10, **settings)
        self.reruns: list[QuerySpec] = []

    def process(self, clock: FakeClock | None = None) -> SessionManager:
        def rerun(spec: QuerySpec) -> QueryResult:
            self.reruns.append(spec)
            return build(spec)

        return SessionManager(
            settings=self.settings,
            store=self.connect(),
            rerun=rerun,
            clock=clock if clock is not None else time.monotonic,
        )


def cache(manager: SessionManager, session_id: str = "s1") -> tuple[str, list[dict[str, Any]]]:
    """Caches the events as a search's result; returns its handle and every page."""
    result = build(QuerySpec("*", max_results=10**6, page_size=10), manager.now)
    first, pages = manager.cache_query_result(session_id, "*", result)
    handle = first["result_handle"]
    return handle, [manager.page(session_id, i, handle) for i in range(pages)]


def items(pages: list[dict[str, Any]]) -> list[str]:
    return [item for page in pages for item in page["items"]]


def test_a_result_cached_by_one_process_is_paged_by_another(connect: Any) -> None:
    replicas = Replicas(connect)
    a, b = replicas.process(), replicas.process()
    handle, pages = cache(a)
    owner = b.session_for_handle(handle)
    assert owner == "s1"
    for index in (0, 7, len(pages) - 1, 123):
        assert b.page(owner, index, handle) == pages[index]
    # The handle-less default of the session is the same result on the other process.
    assert b.page(owner, 3)["items"] == pages[3]["items"]
    # Each process keeps only decoded chunks: the compressed bytes live in the store.
    held_a, held_b = a.sessions["s1"].results[handle], b.sessions["s1"].results[handle]
    assert held_a.compressed_bytes == held_b.compressed_bytes
    assert held_a.store_key == held_b.store_key is not None
    assert held_chunks(held_a) == held_chunks(held_b)
    assert held_a._chunks.held_bytes == held_b._chunks.held_bytes == 0
    a.check()
    b.check()


def test_a_result_outlives_the_process_that_built_it(connect: Any) -> None:
    replicas = Replicas(connect)
    a = replicas.process()
    handle, pages = cache(a)
    del a  # the process is gone; a new one starts with nothing of its own
    restarted = replicas.process()
    owner = restarted.session_for_handle(handle)
    assert owner is not None
    assert items([restarted.page(owner, i, handle) for i in range(len(pages))]) == items(pages)
    assert replicas.reruns == []


def test_principals_latest_result_and_instructions_hold_across_processes(connect: Any) -> None:
    replicas = Replicas(connect)
    a, b = replicas.process(), replicas.process()
    a.mark_instructions_retrieved("conn-a", principal="alice")
    assert b.is_principal_instructed("alice")
    assert not b.is_principal_instructed("bob")
    a.get_or_create_session("conn-a", principal="alice")
    handle, pages = cache(a, "conn-a")
    assert b.latest_handle_for("alice") == handle
    assert b.session_for_handle(handle, principal="bob") is None
    assert b.session_for_handle(handle) is None  # auth off is not alice either
    owner = b.session_for_handle(handle, principal="alice")
    assert owner == "conn-a"
    assert b.page(owner, 2, handle) == pages[2]


def test_a_result_the_store_lost_is_re_run_with_the_same_pages(connect: Any) -> None:
    replicas = Replicas(connect)
    a, b = replicas.process(), replicas.process()
    handle, pages = cache(a)
    owner = b.session_for_handle(handle)
    assert owner is not None
    # The store evicts it (maxmemory, or its chunks lost): both processes re-run it.
    result = a.sessions["s1"].results[handle]
    assert result.store_key is not None
    a.store.drop_result(result.store_key)  # type: ignore[union-attr]
    b.sessions[owner].results[handle].drop_decoded()
    assert b.page(owner, 5, handle) == pages[5]
    assert len(replicas.reruns) == 1
    assert replicas.reruns[0].max_results == EVENTS
    # The re-run result went back to the store: a third process reads it without a re-run.
    c = replicas.process()
    owner_c = c.session_for_handle(handle)
    assert owner_c is not None
    assert c.page(owner_c, 299, handle) == pages[299]
    assert len(replicas.reruns) == 1


def test_a_result_this_process_evicted_comes_back_from_the_store(connect: Any) -> None:
    replicas = Replicas(connect)
    a = replicas.process()
    handle, pages = cache(a)
    session = a.sessions["s1"]
    assert a.evict_result(session, handle) > 0
    assert handle in session.tombstones
    assert a.page("s1", 42, handle) == pages[42]
    assert replicas.reruns == []
    assert handle in session.results


def test_an_expired_result_is_expired_on_every_process(connect: Any) -> None:
    replicas = Replicas(connect)
    clock = FakeClock()
    a = replicas.process(clock)
    handle, _ = cache(a)
    clock.advance(31 * 60)
    a.cleanup_expired_sessions()
    b = replicas.process()
    owner = b.session_for_handle(handle)
    assert owner is not None
    with pytest.raises(ResultExpiredError):
        b.page(owner, 0, handle)


def test_an_unknown_handle_is_unknown_everywhere(connect: Any) -> None:
    replicas = Replicas(connect)
    a, b = replicas.process(), replicas.process()
    cache(a)
    assert b.session_for_handle("x" * 32) is None
    assert b.sessions == {}


# --- a real Redis's faults ------------------------------------------------------------------


def test_redis_down_is_an_error_naming_it_and_its_return_is_recovered(
    redis_server: RedisServer,
) -> None:
    replicas = Replicas(lambda: open_store(redis_server.url, timeout_seconds=1))
    a, b = replicas.process(), replicas.process()
    handle, _ = cache(a)
    redis_server.stop()
    # Known here, held in the decoded LRU: served; anything needing the store: a clear error.
    answer = b.get_nth_page("s1", 0, handle)
    assert answer == {"Error": answer["Error"]}
    assert f"session store {redis_server.url} is unavailable" in answer["Error"]
    refused = a.cache_query_result("s2", "*", build(QuerySpec("*", page_size=10)))
    assert "is unavailable" in refused[0]["Error"]
    assert "s2" not in a.sessions or not a.sessions["s2"].results
    redis_server.start()
    # Its data went with it (no persistence): the handle's record is gone, a new search works.
    handle2, pages2 = cache(a, "s3")
    owner = b.session_for_handle(handle2)
    assert owner == "s3"
    assert b.page(owner, 1, handle2) == pages2[1]
    a.check()
    b.check()


def test_results_redis_evicts_at_maxmemory_are_re_run(redis_server: RedisServer) -> None:
    # What is checked is eviction, not latency: on a loaded host one call past maxmemory (Redis
    # evicting as it writes) once took longer than the default two seconds.
    replicas = Replicas(lambda: open_store(redis_server.url, timeout_seconds=20))
    a = replicas.process()
    handles = [cache(a, "s0")]
    # The first write also grows Redis's own buffers: a result's size is the second's.
    before = redis_server.used_memory()
    handles.append(cache(a, "s1"))
    one = redis_server.used_memory() - before
    # Room for about four results: twenty cannot all stay.
    redis_server.cli("CONFIG", "SET", "maxmemory", str(redis_server.used_memory() + 3 * one))
    handles += [cache(a, f"s{i}") for i in range(2, 20)]
    b = replicas.process()
    served = 0
    for handle, pages in handles:
        # volatile-ttl evicts the shortest TTLs, results', first; but Redis samples keys, so
        # now and then a handle record goes too, and that handle is then unknown.
        owner = b.session_for_handle(handle)
        if owner is None:
            continue
        assert b.page(owner, 17, handle) == pages[17]
        served += 1
    assert served >= 15, f"only {served} of 20 handles kept their records"
    assert replicas.reruns, "room for four results cannot hold twenty: some were evicted"


def test_a_handle_whose_result_was_never_finished_is_not_served(
    redis_server: RedisServer,
) -> None:
    replicas = Replicas(lambda: open_store(redis_server.url))
    a = replicas.process()
    handle, pages = cache(a)
    result = a.sessions["s1"].results[handle]
    assert result.store_key is not None
    # As if the writer died between the chunks and the meta record.
    redis_server.cli("DEL", f"lp:{{{result.store_key}}}:meta")
    b = replicas.process()
    owner = b.session_for_handle(handle)
    assert owner is not None
    assert b.page(owner, 3, handle) == pages[3]
    assert len(replicas.reruns) == 1


def test_analysis_of_a_result_the_store_lost_stops_with_a_clear_error(connect: Any) -> None:
    replicas = Replicas(connect)
    a = replicas.process()
    handle, _ = cache(a)
    _, result = a.result("s1", handle)
    assert result.store_key is not None
    a.store.drop_result(result.store_key)  # type: ignore[union-attr]
    result.drop_decoded()
    with pytest.raises(ChunkLostError, match="Page it again to re-run"):
        list(result.record_batches())
    # Paging it re-runs it; analysis then works on the re-run result.
    assert a.page("s1", 0, handle)["items"]
    _, again = a.result("s1", handle)
    assert sum(b.num_rows for b in again.record_batches()) == EVENTS
