"""One conformance suite for every session store: in-process memory, a real Redis, and a
real 3-node Redis Cluster."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from harness.redis import RedisCluster, RedisServer
from logpager.errors import SettingsError, StoreUnavailableError
from logpager.query import QuerySpec
from logpager.store import (
    HandleRecord,
    MemoryStore,
    PrincipalRecord,
    RedisStore,
    SessionRecord,
    SessionStore,
    open_store,
    redact,
)
from tests.support.clock import FakeClock

KINDS = ["memory", "redis", "cluster"]


@dataclass
class Subject:
    """A store under test, and how to let time pass for it."""

    store: SessionStore
    age: Callable[[float], None]


@pytest.fixture(params=KINDS)
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    kind = request.param
    if kind == "memory":
        wall = FakeClock(1_000_000.0)
        yield Subject(MemoryStore(wall), wall.advance)
        return
    if kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        store = open_store(server.url)
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        store = open_store(cluster.url)
    # Redis keeps its own time: TTLs in these tests are fractions of a second.
    yield Subject(store, time.sleep)
    store.close()


def spec() -> QuerySpec:
    return QuerySpec("message: *error*", 5, 9, ("a1", "a2"), 100, 10)


def test_a_result_reads_back_chunk_by_chunk(subject: Subject) -> None:
    store = subject.store
    chunks = [bytes([i]) * (100 + i) for i in range(7)]
    store.put_result("r1", b"meta-record", chunks, 60)
    assert store.result_meta("r1") == (b"meta-record", 7)
    assert [store.chunk("r1", i) for i in range(7)] == chunks
    assert store.chunk("r1", 7) is None
    assert store.result_meta("nosuch") is None
    assert store.chunk("nosuch", 0) is None
    store.drop_result("r1")
    assert store.result_meta("r1") is None
    assert store.chunk("r1", 0) is None


def test_a_result_written_again_replaces_every_chunk(subject: Subject) -> None:
    store = subject.store
    store.put_result("r", b"m1", [b"a", b"b", b"c"], 60)
    store.put_result("r", b"m2", [b"x"], 60)
    assert store.result_meta("r") == (b"m2", 1)
    assert store.chunk("r", 1) is None


def test_results_and_records_expire_with_their_ttl(subject: Subject) -> None:
    store = subject.store
    record = HandleRecord("s", None, "r", spec(), 1.5)
    store.put_result("r", b"m", [b"c"], 0.3)
    store.put_handle("h", record, 0.3)
    store.put_session(SessionRecord("s"), 0.3)
    store.put_principal("p", PrincipalRecord("h", True), 0.3)
    assert store.handle("h") == record
    subject.age(0.5)
    assert store.result_meta("r") is None
    assert store.chunk("r", 0) is None
    assert store.handle("h") is None
    assert store.session("s") is None
    assert store.principal("p") is None


def test_touch_keeps_a_handle_and_its_session(subject: Subject) -> None:
    store = subject.store
    store.put_handle("h", HandleRecord("s", "alice", "r", spec(), 2.0), 0.6)
    store.put_session(SessionRecord("s", "alice", True, "h"), 0.6)
    subject.age(0.3)
    store.touch("h", "s", 5)
    subject.age(0.5)
    assert store.handle("h") == HandleRecord("s", "alice", "r", spec(), 2.0)
    assert store.session("s") == SessionRecord("s", "alice", True, "h")


def test_records_round_trip_and_unknown_ones_are_none(subject: Subject) -> None:
    store = subject.store
    dropped = HandleRecord("s:1", "bob", "rid", QuerySpec("*", derived_from="x"), 3.25, "expired")
    store.put_handle("h1", dropped, 60)
    store.put_session(SessionRecord("s:1", "bob", False, None), 60)
    store.put_principal("bob", PrincipalRecord(None, False), 60)
    assert store.handle("h1") == dropped
    assert store.session("s:1") == SessionRecord("s:1", "bob", False, None)
    assert store.principal("bob") == PrincipalRecord(None, False)
    # Names a caller might send, odd characters included, reach only their own record.
    for name in ("h2", "", "{h1}", "lp:h:h1", "h1\n"):
        assert store.handle(name) is None
    assert store.session("s:2") is None
    assert store.principal("alice") is None


def test_the_store_answers_ping_and_names_itself(subject: Subject) -> None:
    subject.store.ping()
    assert subject.store.address.split("://")[0] in {"memory", "redis", "redis+cluster"}


# --- Redis only: what a server process sees of a real Redis --------------------------------


def test_a_half_written_result_is_not_a_result(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url)
    # A writer killed after its chunks and before the meta record leaves only the chunks.
    redis_server.cli("HSET", "lp:{half}:chunks", "0", "x", "1", "y")
    assert store.result_meta("half") is None


def test_a_stopped_redis_is_named_and_a_restarted_one_serves_again(
    redis_server: RedisServer,
) -> None:
    store = open_store(redis_server.url, timeout_seconds=1)
    store.put_session(SessionRecord("s"), 60)
    redis_server.stop()
    began = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=f"store {redis_server.url} is unavailable"):
        store.session("s")
    assert time.monotonic() - began < 5
    redis_server.start()
    # The data went with the process (no persistence here); the store works again at once.
    assert store.session("s") is None
    store.put_session(SessionRecord("s"), 60)
    assert store.session("s") == SessionRecord("s")


def test_a_full_redis_without_eviction_is_a_clear_error(redis_server: RedisServer) -> None:
    redis_server.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
    redis_server.cli("CONFIG", "SET", "maxmemory", "1mb")
    store = open_store(redis_server.url)
    def fill() -> None:
        for i in range(100):
            store.put_result(f"r{i}", b"m", [b"x" * 100_000], 60)

    with pytest.raises(StoreUnavailableError, match="full: maxmemory"):
        fill()


def test_a_result_sits_on_one_cluster_slot_and_results_spread(
    redis_cluster: RedisCluster,
) -> None:
    store = open_store(redis_cluster.url)
    before = redis_cluster.keys_per_node()
    for i in range(30):
        store.put_result(f"spread{i}", b"m", [b"c"], 60)
    node = redis_cluster.nodes[0]
    slots = {node.cli("CLUSTER", "KEYSLOT", key).strip() for key in RedisStore.result_keys("x")}
    assert len(slots) == 1
    grown = [after - was for after, was in zip(redis_cluster.keys_per_node(), before, strict=True)]
    assert sum(grown) == 60
    assert all(g > 0 for g in grown)
    for i in range(30):
        assert store.result_meta(f"spread{i}") == (b"m", 1)


def test_store_urls_are_checked_and_passwords_never_shown() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    assert isinstance(open_store("redis://127.0.0.1:1/0"), RedisStore)
    with pytest.raises(SettingsError, match="redis://HOST:PORT/DB"):
        open_store("postgres://db/1")
    with pytest.raises(SettingsError, match="names no host"):
        open_store("redis://")
    assert redact("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert "s3cret" not in open_store("redis://:s3cret@127.0.0.1:1/0").address
