"""Reuse of identical searches, the caller's query history, and cutting long items.

Real clp-s archives of the loghub samples; the MCP tools through FastMCP's in-memory client
(both protocol eras) and, for principals, a real HTTP server with a tokens file.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from harness.rows import make_events
from harness.servers import http_server
from logpager.cache import QueryResult
from logpager.errors import UnknownHandleError
from logpager.ingest import ingest
from logpager.memory.governor import Budget, MemoryGovernor
from logpager.memory.probe import MemoryReading
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.server import INSTRUCTIONS, create_server
from logpager.server.tools_results import NO_CALLER_IDENTITY
from logpager.sessions import SessionManager, TombstoneReason, new_handle
from logpager.sessions.query_key import ReuseKey, normalize_query
from logpager.settings import Settings
from tests.support.clock import FakeClock
from tests.support.loghub import LOGHUB

MODES = ["auto", "legacy"]
QUERY = "message: *error*"  # 947 hits in the samples
UNKNOWN = {"Error": str(UnknownHandleError())}


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


async def ready(client: Client[Any]) -> None:
    assert await call(client, "get_instructions") == INSTRUCTIONS


async def all_items(client: Client[Any], first: dict[str, Any]) -> list[str]:
    handle = first["result_handle"]
    items: list[str] = []
    for i in range(first["num_total_pages"]):
        page = await call(client, "get_nth_page", page_index=i, result_handle=handle)
        items += page["items"]
    return items


def without(page: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in page.items() if k not in keys}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(loghub_archives: Path) -> Settings:
    return Settings(data_dir=loghub_archives)


@pytest.fixture
def manager(settings: Settings) -> SessionManager:
    return SessionManager(settings=settings)


@pytest.fixture
async def client(settings: Settings, manager: SessionManager, mode: str) -> AsyncIterator[Any]:
    async with Client(create_server(settings, manager=manager), mode=mode) as c:
        await ready(c)
        yield c


# --- the canonical query -------------------------------------------------------------------


def test_canonical_query_folds_values_not_keys_and_keeps_quoted_whitespace() -> None:
    assert normalize_query("  Level:   ERROR  AND msg: *Hi*  ", ignore_case=True) == (
        "Level: error and msg: *hi*"
    )
    # Whitespace and case inside quotes: whitespace kept, case folded (a value).
    assert normalize_query('msg: "Hello  World"', ignore_case=True) == 'msg: "hello  world"'
    assert normalize_query('msg: "Hello  World"', ignore_case=False) == 'msg: "Hello  World"'
    # A key keeps its case before ":" and comparisons, with or without spaces around.
    assert normalize_query("Code >= 5 OR Name :X", ignore_case=True) == "Code >= 5 or Name :x"
    assert normalize_query("a.B: (X or Y)", ignore_case=True) == "a.B: (x or y)"
    # Escaped letters and non-ASCII letters are left as they are.
    assert normalize_query(r"m: \N É", ignore_case=True) == r"m: \N É"


def test_engine_agrees_keys_are_case_sensitive_and_values_are_not(settings: Settings) -> None:
    """What the canonical form relies on, measured on the real engine."""
    backend = ClpSBackend(settings)

    def matches(query: str) -> int:
        return backend.search(QuerySpec(query, max_results=1)).total_matches

    base = matches(QUERY)
    assert base == 947
    assert matches("message:    *ERROR*") == base  # same canonical form
    assert normalize_query("message:    *ERROR*", ignore_case=True) == QUERY
    assert matches("Message: *error*") == 0  # a key's case matters
    assert normalize_query("Message: *error*", ignore_case=True) != QUERY


# --- reuse at the session manager ------------------------------------------------------------


def _search(settings: Settings, query: str = QUERY) -> QueryResult:
    result, _ = search_and_cache(ClpSBackend(settings), QuerySpec(query), settings=settings)
    return result


def _wanted(manager: SessionManager, settings: Settings, query: str = QUERY) -> ReuseKey:
    return ReuseKey.of(
        QuerySpec(query, max_results=manager.max_cached_results),
        ClpSBackend(settings).list_archives(),
        ignore_case=True,
        max_results=manager.max_cached_results,
        page_size=manager.page_size,
    )


def test_reuse_shares_one_result_counted_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"require_instructions": False})
    manager = SessionManager(settings=settings)
    result = _search(settings)
    first = manager.cache_search_result("a", result, manager.search_key(result, ignore_case=True))
    assert "reused" not in first
    held = manager.total_bytes()
    assert held == result.nbytes

    variant = _wanted(manager, settings, "message:  *ERROR*")
    page = manager.reuse_result("b", variant, principal=None)
    assert page is not None
    assert page["reused"] is True
    assert page["result_handle"] != first["result_handle"]
    assert without(page, "reused", "result_handle") == without(first, "result_handle")
    assert manager.sessions["b"].results[page["result_handle"]] is result
    assert manager.total_bytes() == held
    assert manager.total_items() == result.num_items
    assert (manager.metrics.reuse_hits, manager.metrics.reuse_misses) == (1, 0)
    assert manager.metrics.results_cached == 1
    manager.check()

    # Another query, time range or cap is a miss.
    key_case = _wanted(manager, settings, "Message: *error*")
    assert manager.reuse_result("c", key_case, principal=None) is None
    other = _wanted(manager, settings)
    for changed in (
        ReuseKey(other.query, 1, other.end_ms, other.archive_ids, other.max_results, 10),
        ReuseKey(other.query, None, None, other.archive_ids, 5, 10),
        ReuseKey(other.query, None, None, other.archive_ids[:-1], other.max_results, 10),
    ):
        assert manager.reuse_result("c", changed, principal=None) is None
    assert manager.metrics.reuse_misses == 4


def test_reuse_never_crosses_principals(settings: Settings) -> None:
    settings = settings.model_copy(update={"require_instructions": False})
    manager = SessionManager(settings=settings)
    result = _search(settings)
    manager.get_or_create_session("alice-1", principal="alice")
    manager.cache_search_result("alice-1", result, manager.search_key(result, ignore_case=True))
    wanted = _wanted(manager, settings)
    assert manager.reuse_result("bob-1", wanted, principal="bob") is None
    assert manager.reuse_result("anon", wanted, principal=None) is None
    page = manager.reuse_result("alice-2", wanted, principal="alice")
    assert page is not None
    assert page["reused"] is True
    assert manager.sessions["alice-2"].principal == "alice"
    assert (manager.metrics.reuse_hits, manager.metrics.reuse_misses) == (1, 2)
    manager.check()


def test_expired_or_derived_results_are_not_reused(clock: FakeClock) -> None:
    settings = Settings(require_instructions=False, max_cached_results=100_000)
    manager = SessionManager(settings=settings, clock=clock)
    spec = QuerySpec("q", archive_ids=("a1",))
    result = QueryResult.from_batches([make_events(500)], spec, settings=settings, clock=clock)
    key = manager.search_key(result, ignore_case=True)
    manager.cache_search_result("s", result, key)
    # The seed API's results (and derived ones) are not offered for reuse.
    manager.cache_query_result("t", "q", [make_events(500)], archive_ids=("a1",))
    assert manager.reuse_result("u", key, principal=None) is not None
    clock.advance(settings.query_ttl_minutes * 60 + 1)
    assert manager.reuse_result("v", key, principal=None) is None


# --- eviction of a shared result ---------------------------------------------------------------


class _Reader:
    def __init__(self) -> None:
        self.rss_bytes = 100 << 20

    def read(self) -> MemoryReading:
        return MemoryReading(self.rss_bytes, 8 << 30, 4 << 30)


def _shared(clock: FakeClock, **overrides: Any) -> tuple[SessionManager, QueryResult, list[str]]:
    settings = Settings(
        require_instructions=False,
        max_cached_results=100_000,
        decoded_chunk_cache_size=0,
        probe_interval_seconds=1.0,
        **overrides,
    )
    manager = SessionManager(settings=settings, clock=clock)
    spec = QuerySpec("shared", archive_ids=("a1",))
    result = QueryResult.from_batches([make_events(3_000)], spec, settings=settings, clock=clock)
    key = manager.search_key(result, ignore_case=True)
    handles = [manager.cache_search_result("s0", result, key)["result_handle"]]
    for sid in ("s1", "s2"):
        page = manager.reuse_result(sid, key, principal=None)
        assert page is not None
        handles.append(page["result_handle"])
    return manager, result, handles


def test_evicting_a_shared_result_drops_it_everywhere_once(clock: FakeClock) -> None:
    manager, result, handles = _shared(clock)
    held = result.nbytes
    assert manager.total_bytes() == held
    assert len(list(manager.iter_results_lru())) == 1
    assert manager.evict_result(manager.sessions["s1"], handles[1]) == held
    assert manager.total_bytes() == 0
    for sid, handle in zip(("s0", "s1", "s2"), handles, strict=True):
        session = manager.sessions[sid]
        assert handle not in session.results
        assert session.tombstones[handle].reason is TombstoneReason.EVICTED
    assert manager.metrics.results_evicted == 1
    assert manager.metrics.bytes_freed == held
    manager.check()


def test_governor_counts_a_shared_result_once_and_evicts_it_everywhere(clock: FakeClock) -> None:
    manager, shared, handles = _shared(clock, memory_budget_bytes=10 << 20)
    governor = MemoryGovernor(manager, reader=_Reader(), clock=clock)
    one = shared.nbytes
    # Three handles to one result: the cache holds its bytes once, under the budget.
    assert governor.enforce(probe=True) == 0
    assert governor.metrics.cache_bytes == one
    # A budget that fits one result but not two: the shared one (least recently used) goes.
    governor.budget = Budget(
        budget_bytes=int(one * 1.5),
        high_bytes=int(one * 1.4),
        low_bytes=int(one * 1.2),
        rss_limit_bytes=None,
        rss_target_bytes=None,
        min_available_bytes=0,
    )
    clock.advance(1)
    page, _ = manager.cache_query_result("s3", "other", [make_events(3_000, start_ms=1)])
    assert governor.metrics.results_evicted == 1
    assert governor.metrics.bytes_freed == one
    assert manager.total_bytes() == manager.sessions["s3"].results[page["result_handle"]].nbytes
    for sid, handle in zip(("s0", "s1", "s2"), handles, strict=True):
        assert manager.sessions[sid].tombstones[handle].reason is TombstoneReason.EVICTED
    manager.check()


# --- reuse through the MCP tools ---------------------------------------------------------------


async def test_reused_search_pages_like_a_fresh_one(client: Any, manager: SessionManager) -> None:
    fresh = await call(client, "search_by_kql", kql_query=QUERY)
    assert "reused" not in fresh
    held = manager.total_bytes()
    again = await call(client, "search_by_kql", kql_query="  message:   *ERROR*  ")
    assert again["reused"] is True
    # No new bytes: the new handle holds the same result, counted once.
    assert manager.total_bytes() == held
    assert again["result_handle"] != fresh["result_handle"]
    assert without(again, "reused", "result_handle") == without(fresh, "result_handle")
    assert await all_items(client, again) == await all_items(client, fresh)
    assert (manager.metrics.reuse_hits, manager.metrics.reuse_misses) == (1, 1)
    # A key in another case, or a time range, is another search.
    other = await call(client, "search_by_kql", kql_query="Message: *error*")
    assert "reused" not in other
    assert other["num_total_matches"] == 0
    ranged = await call(
        client,
        "search_by_kql_with_timestamp_range",
        kql_query=QUERY,
        begin_timestamp="2000-01-01T00:00:00.000Z",
        end_timestamp="2100-01-01T00:00:00.000Z",
    )
    assert "reused" not in ranged
    manager.check()


async def test_not_reused_after_an_ingest_adds_an_archive(
    loghub_archives: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(loghub_archives, data)
    settings = Settings(data_dir=data)
    manager = SessionManager(settings=settings)
    async with Client(create_server(settings, manager=manager), mode="legacy") as c:
        await ready(c)
        before = await call(c, "search_by_kql", kql_query=QUERY)
        assert (await call(c, "search_by_kql", kql_query=QUERY))["reused"] is True
        ingest([LOGHUB / "Apache_2k.log"], data_dir=data, default_year=2021)
        after = await call(c, "search_by_kql", kql_query=QUERY)
        assert "reused" not in after
        assert after["num_total_matches"] > before["num_total_matches"]
        # The new result is the one reused from now on.
        again = await call(c, "search_by_kql", kql_query=QUERY)
        assert again["reused"] is True
        assert again["num_total_matches"] == after["num_total_matches"]
    manager.check()


ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef01"


async def test_reuse_and_history_stay_within_a_principal(
    loghub_archives: Path, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice {ALICE}\nbob {BOB}\n")

    async with http_server(loghub_archives, "--auth-tokens-file", str(tokens)) as url:

        async def once(token: str, mode: str, tool: str, **args: Any) -> Any:
            async with Client(url, mode=mode, auth=token) as c:
                return (await c.call_tool(tool, args)).data

        await once(ALICE, "legacy", "get_instructions")
        await once(BOB, "auto", "get_instructions")
        mine = await once(ALICE, "auto", "search_by_kql", kql_query=QUERY)
        assert "reused" not in mine
        theirs = await once(BOB, "legacy", "search_by_kql", kql_query=QUERY)
        assert "reused" not in theirs
        again = await once(ALICE, "legacy", "search_by_kql", kql_query=QUERY)
        assert again["reused"] is True
        # Each principal's history: its own results, from all its connections.
        for mode in MODES:
            alice = await once(ALICE, mode, "list_results")
            assert {e["result_handle"] for e in alice["results"]} == {
                mine["result_handle"],
                again["result_handle"],
            }
            assert [e["reused"] for e in alice["results"]] == [True, False]
            bob = await once(BOB, mode, "list_results")
            assert [e["result_handle"] for e in bob["results"]] == [theirs["result_handle"]]
            assert await once(
                BOB, mode, "list_results", result_handle=mine["result_handle"]
            ) == UNKNOWN


# --- list_results -----------------------------------------------------------------------------


async def test_list_results_shows_live_and_dropped_with_reasons(
    settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"max_results_per_session": 2})
    manager = SessionManager(settings=settings, clock=clock)
    async with Client(create_server(settings, manager=manager), mode="legacy") as c:
        await ready(c)
        pages = []
        for query in ("*PacketResponder*", "message: *sshd*", QUERY):
            clock.advance(10)
            pages.append(await call(c, "search_by_kql", kql_query=query))
        replaced, evicted, kept = (p["result_handle"] for p in pages)
        clock.advance(5)
        listing = await call(c, "list_results")
        assert [e["result_handle"] for e in listing["results"]] == [kept, evicted]
        newest = listing["results"][0]
        assert newest == {
            "result_handle": kept,
            "query": QUERY,
            "begin_timestamp": None,
            "end_timestamp": None,
            "age_seconds": 5.0,
            "reused": False,
            "num_items": 947,
            "num_total_matches": 947,
            "truncated": False,
        }
        assert listing["dropped"] == [
            {
                "result_handle": replaced,
                "query": "*PacketResponder*",
                "begin_timestamp": None,
                "end_timestamp": None,
                "age_seconds": 25.0,
                "reused": False,
                "reason": "replaced",
                "next": "run the search again",
            }
        ]
        session = next(s for s in manager.sessions.values() if evicted in s.results)
        manager.evict_result(session, evicted)
        ranged = await call(
            c,
            "search_by_kql_with_timestamp_range",
            kql_query=QUERY,
            begin_timestamp="2000-01-01T00:00:00.000Z",
            end_timestamp="2100-01-01T00:00:00.000Z",
        )
        listing = await call(c, "list_results")
        assert [e["result_handle"] for e in listing["results"]] == [ranged["result_handle"], kept]
        assert listing["results"][0]["begin_timestamp"] == "2000-01-01T00:00:00.000Z"
        assert listing["results"][0]["end_timestamp"] == "2100-01-01T00:00:00.000Z"
        assert [(e["result_handle"], e["reason"]) for e in listing["dropped"]] == [
            (evicted, "evicted"),
            (replaced, "replaced"),
        ]
        # Past its lifetime, a live result is listed as expired.
        clock.advance(settings.query_ttl_minutes * 60)
        listing = await call(c, "list_results")
        reasons = {e["result_handle"]: e["reason"] for e in listing["dropped"]}
        assert reasons[kept] == "expired"
        assert (listing["num_results"], listing["num_dropped"]) == (1, 3)
    manager.check()


async def test_list_results_on_a_stateless_connection_needs_a_handle(
    settings: Settings, manager: SessionManager
) -> None:
    async with Client(create_server(settings, manager=manager)) as c:  # stateless, no auth
        await ready(c)
        assert await call(c, "list_results") == {"Error": NO_CALLER_IDENTITY}
        first = await call(c, "search_by_kql", kql_query=QUERY)
        handle = first["result_handle"]
        second = await call(c, "search_by_kql", kql_query="*sshd*", result_handle=handle)
        listing = await call(c, "list_results", result_handle=handle)
        assert [e["result_handle"] for e in listing["results"]] == [
            second["result_handle"],
            handle,
        ]
        assert await call(c, "list_results", result_handle=new_handle()) == UNKNOWN
        assert await call(c, "list_results", result_handle="") == UNKNOWN


# --- max_item_chars ----------------------------------------------------------------------------


async def test_max_item_chars_cuts_and_marks(client: Any) -> None:
    first = await call(client, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    whole = await call(client, "get_nth_page", page_index=3, result_handle=handle)
    assert "num_items_cut" not in whole
    same = await call(
        client, "get_nth_page", page_index=3, result_handle=handle, max_item_chars=None
    )
    assert same == whole
    cap = 60
    cut = await call(
        client, "get_nth_page", page_index=3, result_handle=handle, max_item_chars=cap
    )
    assert without(cut, "items", "num_items_cut") == without(whole, "items")
    long_items = [item for item in whole["items"] if len(item) > cap]
    assert long_items  # the samples' items run past 60 characters
    assert cut["num_items_cut"] == len(long_items)
    for original, item in zip(whole["items"], cut["items"], strict=True):
        if len(original) <= cap:
            assert item == original
        else:
            assert item == f"{original[:cap]}… [+{len(original) - cap} chars]"
    roomy = await call(
        client, "get_nth_page", page_index=3, result_handle=handle, max_item_chars=100_000
    )
    assert roomy == {**whole, "num_items_cut": 0}


@pytest.mark.parametrize("bad", [19, 0, -5, "60", 60.0, True, [60], {"n": 60}])
async def test_bad_max_item_chars_is_named(client: Any, bad: object) -> None:
    first = await call(client, "search_by_kql", kql_query=QUERY)
    page = await call(
        client,
        "get_nth_page",
        page_index=0,
        result_handle=first["result_handle"],
        max_item_chars=bad,
    )
    assert set(page) == {"Error"}
    assert page["Error"].startswith("Invalid max_item_chars: expected an integer >= 20")
    assert repr(bad) in page["Error"]
