"""The memory governor: LRU order, watermarks, pressure signals, truncation, re-runs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.rows import make_events
from logpager.cache import QueryResult
from logpager.memory.governor import Budget, MemoryGovernor
from logpager.memory.probe import MemoryReading
from logpager.query import QuerySpec
from logpager.sessions import SessionManager
from logpager.settings import Settings
from tests.support.clock import FakeClock

GIB = 1 << 30


@dataclass
class FakeReader:
    """Pressure signals set by the test; counts how often they were read."""

    rss_bytes: int = 100 << 20
    total_bytes: int = 8 * GIB
    available_bytes: int = 4 * GIB
    reads: int = 0

    def read(self) -> MemoryReading:
        self.reads += 1
        return MemoryReading(self.rss_bytes, self.total_bytes, self.available_bytes)


def _result(clock: FakeClock, n: int = 2_000, *, start_ms: int = 1_700_000_000_000) -> QueryResult:
    return QueryResult.from_batches(
        [make_events(n, start_ms=start_ms)],
        QuerySpec(f"q{start_ms}"),
        settings=Settings(max_cached_results=100_000),
        clock=clock,
    )


@pytest.fixture
def reader() -> FakeReader:
    return FakeReader()


def _setup(
    clock: FakeClock, reader: FakeReader, **overrides: object
) -> tuple[SessionManager, MemoryGovernor]:
    settings = Settings(
        require_instructions=False,
        max_cached_results=100_000,
        probe_interval_seconds=1.0,
        # Only compressed bytes count unless a test turns the decoded LRU on: sizes stay exact.
        decoded_chunk_cache_size=overrides.pop("decoded_chunk_cache_size", 0),
        **overrides,  # type: ignore[arg-type]
    )
    manager = SessionManager(settings=settings, clock=clock)
    governor = MemoryGovernor(manager, reader=reader, clock=clock)
    return manager, governor


def _fill(manager: SessionManager, clock: FakeClock, sessions: int) -> list[tuple[str, str]]:
    """Caches one result per session, one second apart; returns (session, handle) oldest first."""
    out = []
    for i in range(sessions):
        clock.advance(1)
        page, _ = manager.cache_query_result(
            f"s{i}", f"q{i}", [make_events(2_000, start_ms=1_700_000_000_000 + i)]
        )
        out.append((f"s{i}", page["result_handle"]))
    return out


def test_budget_from_fraction_and_bytes() -> None:
    by_fraction = Budget.from_settings(Settings(memory_budget_fraction=0.25), 8 * GIB)
    assert by_fraction.budget_bytes == 2 * GIB
    assert by_fraction.high_bytes == int(2 * GIB * 0.9)
    assert by_fraction.low_bytes == int(2 * GIB * 0.7)
    by_bytes = Budget.from_settings(
        Settings(memory_budget_bytes=1000, rss_limit_bytes=900), 8 * GIB
    )
    assert (by_bytes.budget_bytes, by_bytes.high_bytes, by_bytes.low_bytes) == (1000, 900, 700)
    assert by_bytes.rss_target_bytes == 700
    with pytest.raises(ValueError, match="memory_budget"):
        Budget.from_settings(Settings(memory_budget_fraction=None), GIB)


def test_no_eviction_below_high_watermark(clock: FakeClock, reader: FakeReader) -> None:
    one = _result(clock).compressed_bytes
    manager, governor = _setup(clock, reader, memory_budget_bytes=one * 21 // 2)
    _fill(manager, clock, 8)
    assert governor.metrics.results_evicted == 0
    assert manager.metrics.results_evicted == 0
    assert sum(len(s.results) for s in manager.sessions.values()) == 8


def test_evicts_least_recently_used_down_to_low_watermark(
    clock: FakeClock, reader: FakeReader
) -> None:
    one = _result(clock).compressed_bytes
    manager, governor = _setup(clock, reader, memory_budget_bytes=one * 21 // 2)
    handles = _fill(manager, clock, 9)
    # Session 0 pages again: now it is the most recently used and must survive.
    clock.advance(1)
    manager.get_nth_page("s0", 1)
    clock.advance(1)
    manager.cache_query_result("s9", "q9", [make_events(2_000, start_ms=1_800_000_000_000)])
    alive = [s for s, _ in handles if manager.sessions[s].results]
    evicted = [s for s, _ in handles if not manager.sessions[s].results]
    # 10 results passed the high mark (9 of 10); eviction went down to the low mark (7).
    assert governor.metrics.results_evicted == 3
    assert evicted == ["s1", "s2", "s3"]
    assert "s0" in alive
    assert manager.total_bytes() <= governor.budget.low_bytes
    assert governor.metrics.bytes_freed == manager.metrics.bytes_freed > 0
    manager.check()


def test_hysteresis_no_thrash(clock: FakeClock, reader: FakeReader) -> None:
    one = _result(clock).compressed_bytes
    manager, governor = _setup(clock, reader, memory_budget_bytes=one * 21 // 2)
    _fill(manager, clock, 10)
    first = governor.metrics.results_evicted
    assert first > 0
    # Two more results fit between the low and the high watermark: no eviction for them.
    for i in range(2):
        clock.advance(1)
        manager.cache_query_result(f"t{i}", "q", [make_events(2_000, start_ms=1_900_000 + i)])
    assert governor.metrics.results_evicted == first
    assert governor.metrics.pressure_events == 1


def test_decoded_chunks_dropped_before_results(clock: FakeClock, reader: FakeReader) -> None:
    manager = SessionManager(
        settings=Settings(require_instructions=False, decoded_chunk_cache_size=4), clock=clock
    )
    handles = _fill(manager, clock, 6)
    for session, handle in handles:
        for page in range(0, 200, 10):
            manager.get_nth_page(session, page, handle)
    decoded = sum(r.decoded_bytes for _, _, r in manager.iter_results_lru())
    compressed = sum(r.compressed_bytes for _, _, r in manager.iter_results_lru())
    assert decoded > 0
    # The decoded chunks alone push the cache past the high mark; dropping them is enough.
    budget = int((compressed + decoded // 2) / 0.9)
    governor = MemoryGovernor(
        manager,
        manager.settings.model_copy(update={"memory_budget_bytes": budget, "low_watermark": 0.9}),
        reader=reader,
        clock=clock,
    )
    assert governor.enforce(probe=True) == decoded
    assert all(r.decoded_bytes == 0 for _, _, r in manager.iter_results_lru())
    assert governor.metrics.results_evicted == 0
    assert governor.metrics.decoded_bytes_dropped == decoded
    assert manager.total_bytes() == compressed


def test_rss_pressure_evicts_but_keeps_the_result_in_use(
    clock: FakeClock, reader: FakeReader
) -> None:
    manager, governor = _setup(
        clock, reader, memory_budget_bytes=1 << 30, rss_limit_bytes=200 << 20
    )
    handles = _fill(manager, clock, 5)
    assert governor.metrics.results_evicted == 0
    reader.rss_bytes = 10 * GIB  # far more than the cache could ever free
    clock.advance(5)
    manager.get_nth_page("s2", 1)
    live = [s for s, _ in handles if manager.sessions[s].results]
    assert live == ["s2"]
    assert governor.metrics.results_evicted == 4
    # Still under pressure: the result in use keeps serving, nothing thrashes.
    for page in range(2, 20):
        clock.advance(5)
        assert "Error" not in manager.get_nth_page("s2", page)
    assert manager.metrics.reruns == 0


@pytest.mark.parametrize("page_out", [True, False])
def test_rss_pressure_pages_library_pages_out_at_most_once_an_interval(
    clock: FakeClock, reader: FakeReader, page_out: bool
) -> None:
    _, governor = _setup(
        clock,
        reader,
        memory_budget_bytes=1 << 30,
        rss_limit_bytes=200 << 20,
        page_out_library_pages=page_out,
        library_page_out_interval_seconds=5.0,
    )
    per_check = [governor.metrics.library_page_outs]
    reader.rss_bytes = 300 << 20
    for step in (1.0, 1.0, 3.5, 1.0):  # checks at 1, 2, 5.5 and 6.5 s: out at 1 and 6.5
        clock.advance(step)
        governor.enforce(probe=True)
        per_check.append(governor.metrics.library_page_outs)
    reader.rss_bytes = 100 << 20  # pressure gone: nothing more, however long it waits
    clock.advance(60)
    governor.enforce(probe=True)
    per_check.append(governor.metrics.library_page_outs)
    assert per_check == ([0, 1, 1, 1, 2, 2] if page_out else [0] * 6)


def test_host_available_floor_is_pressure(clock: FakeClock, reader: FakeReader) -> None:
    manager, governor = _setup(
        clock, reader, memory_budget_bytes=1 << 30, min_available_bytes=512 << 20
    )
    _fill(manager, clock, 4)
    reader.available_bytes = 100 << 20
    clock.advance(5)
    governor.maybe_enforce()
    assert governor.metrics.pressure_events == 1
    assert governor.metrics.results_evicted == 3


def test_psutil_read_at_bounded_rate(clock: FakeClock, reader: FakeReader) -> None:
    manager, _governor = _setup(clock, reader, memory_budget_bytes=1 << 30)
    ((session, handle),) = _fill(manager, clock, 1)
    reads = reader.reads
    for page in range(100):
        manager.get_nth_page(session, page % 200, handle)
    assert reader.reads == reads  # the clock did not move: no new reading
    clock.advance(1.0)
    manager.get_nth_page(session, 0, handle)
    assert reader.reads == reads + 1


def test_disabled_governor_never_evicts(clock: FakeClock, reader: FakeReader) -> None:
    manager, governor = _setup(clock, reader, memory_budget_bytes=1, governor_enabled=False)
    _fill(manager, clock, 5)
    reader.rss_bytes = 100 * GIB
    clock.advance(10)
    assert governor.enforce(probe=True) == 0
    assert governor.max_result_bytes() is None
    assert manager.metrics.results_evicted == 0


def test_result_over_budget_is_truncated_not_fatal(clock: FakeClock, reader: FakeReader) -> None:
    small = _result(clock).compressed_bytes
    manager, governor = _setup(clock, reader, memory_budget_bytes=small * 4)
    _fill(manager, clock, 2)
    limit = governor.max_result_bytes()
    assert limit is not None
    big = QueryResult.from_batches(
        [make_events(50_000)],
        QuerySpec("big"),
        settings=manager.settings,
        max_compressed_bytes=limit,
        clock=clock,
    )
    assert big.truncated
    assert big.num_total_matches == 50_000
    assert 0 < big.num_items < 50_000
    assert big.compressed_bytes <= limit
    page, _ = manager.cache_query_result("s-big", "big", big)
    assert page["truncated"] is True
    assert page["num_total_matches"] == 50_000
    # The truncated result keeps the latest events, in order.
    assert '"message":"event 49999"' in page["items"][0]
    assert '"message":"event 49990"' in page["items"][9]
    # Adding it evicted older results, not the new one.
    assert manager.sessions["s-big"].results
    assert manager.total_bytes() <= governor.budget.low_bytes
    manager.check()


class _CountingRerun:
    def __init__(self, clock: FakeClock, settings: Settings) -> None:
        self.calls: list[QuerySpec] = []
        self.clock = clock
        self.settings = settings

    def __call__(self, spec: QuerySpec) -> QueryResult:
        self.calls.append(spec)
        start = int(spec.query.removeprefix("q"))
        return QueryResult.from_batches(
            [make_events(2_000, start_ms=start)], spec, settings=self.settings, clock=self.clock
        )


def test_evicted_result_is_rerun_transparently(clock: FakeClock, reader: FakeReader) -> None:
    one = _result(clock).compressed_bytes
    manager, governor = _setup(clock, reader, memory_budget_bytes=one * 9 // 2)
    rerun = _CountingRerun(clock, manager.settings)
    manager.rerun = rerun
    manager.cache_query_result("a", "q1700000000000", [make_events(2_000)])
    before = [manager.get_nth_page("a", i)["items"] for i in range(0, 200, 37)]
    _fill(manager, clock, 6)
    assert "a" in manager.sessions
    assert not manager.sessions["a"].results
    after = [manager.get_nth_page("a", i)["items"] for i in range(0, 200, 37)]
    assert after == before
    assert len(rerun.calls) == 1
    assert manager.metrics.reruns == 1
    snapshot = governor.snapshot()
    assert snapshot["sessions"]["reruns"] == 1
    assert snapshot["governor"]["results_evicted"] >= 1


def test_evicted_result_error_policy(clock: FakeClock, reader: FakeReader) -> None:
    one = _result(clock).compressed_bytes
    manager, _ = _setup(clock, reader, memory_budget_bytes=one * 4, evicted_result_policy="error")
    manager.rerun = _CountingRerun(clock, manager.settings)
    manager.cache_query_result("a", "level: ERROR", [make_events(2_000)])
    _fill(manager, clock, 6)
    error = manager.get_nth_page("a", 0)["Error"]
    assert "evicted under memory pressure" in error
    assert "level: ERROR" in error


def test_failed_rerun_is_a_clear_error_and_retryable(clock: FakeClock, reader: FakeReader) -> None:
    from logpager.errors import BackendCrashedError

    one = _result(clock).compressed_bytes
    manager, _ = _setup(clock, reader, memory_budget_bytes=one * 9 // 2)
    good = _CountingRerun(clock, manager.settings)
    calls = {"n": 0}

    def flaky(spec: QuerySpec) -> QueryResult:
        calls["n"] += 1
        if calls["n"] == 1:
            raise BackendCrashedError("clp-s was killed by signal 9")
        return good(spec)

    manager.rerun = flaky
    manager.cache_query_result("a", "q1700000000000", [make_events(2_000)])
    _fill(manager, clock, 6)
    error = manager.get_nth_page("a", 3)["Error"]
    assert "re-running the query" in error
    assert "signal 9" in error
    assert manager.get_nth_page("a", 3)["page_index"] == 3
    # Everyone else kept serving meanwhile.
    assert "Error" not in manager.get_nth_page("s5", 0)


def test_metrics_track_peak(clock: FakeClock, reader: FakeReader) -> None:
    manager, governor = _setup(clock, reader, memory_budget_bytes=1 << 30)
    _fill(manager, clock, 3)
    assert governor.metrics.peak_cache_bytes == manager.total_bytes()
    assert governor.metrics.peak_cache_items == 6_000
