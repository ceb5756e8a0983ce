"""The Redis session store: Redis memory per result, page latency, two replicas under load.

Run (about two minutes, plus the replicas: ~30 s of searches and
``LOGPAGER_BENCH_REPLICA_SECONDS`` of paging)::

    .venv/bin/pytest benchmarks/bench_store.py --benchmark-only -s
    .venv/bin/pytest benchmarks/bench_store.py --benchmark-only -s -m "not slow"  # no replicas

Every Redis is a real ``redis-server`` on a free port (:mod:`harness.redis`); every server a
real ``logpager serve --transport http`` process (:mod:`harness.serve_proc`), called over raw
HTTP on kept-alive connections (:mod:`harness.mcp_http`) so the client is not what is timed.

1. ``test_redis_bytes_per_1000_events``: ``INFO memory`` ``used_memory`` growth while a
   :class:`~logpager.sessions.SessionManager` with a Redis store caches a result (the real
   write path: chunks, meta record, handle, session), against the same result's formatted
   lines ``RPUSH``-ed as one Redis list (the design a user would otherwise pick, paged with
   ``LRANGE``), in the same Redis, in alternating rounds. Real loghub samples (ingested,
   searched ``*``) and ``harness.rows.make_events`` rows (``LOGPAGER_BENCH_STORE_EVENTS``,
   default 100,000). Target: at most 1/10.
2. ``test_page_over_http``: ``get_nth_page`` at random pages of a 100,000-event result
   (``LOGPAGER_BENCH_SERVER_EVENTS``), on a server with ``--store redis://`` and one with the
   memory store, each row's timed calls interleaved with calls to the other server (timed by
   hand), ``LOGPAGER_BENCH_STORE_ROUNDS`` (default 1,500) a row; each store's median, IQR and
   standard deviation pool its calls of both rows. Target: ratio of medians <= 1.3.
3. ``test_two_replicas`` (``slow``): two servers sharing one Redis, 20 concurrent clients
   (``LOGPAGER_BENCH_REPLICA_CLIENTS``) for ``LOGPAGER_BENCH_REPLICA_SECONDS`` (default 60),
   each searching once and then paging random pages on alternate replicas: pages per second,
   p50 and p99 latency, errors (must be 0), and the CPU seconds the servers, Redis and the
   clients used while paging. Its pytest-benchmark row is the whole run, searches included;
   the figures printed are of the paging window alone.

Each figure is printed with the load average: the host is shared, and its load moves
latencies far more than the store does.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pytest
import redis

from benchmarks._bench_common import make_synthetic, median
from harness.mcp_http import McpHttpClient
from harness.redis import RedisServer, redis_available
from harness.rows import make_events
from harness.serve_proc import serve_http
from logpager.cache import QueryResult
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.sessions import SessionManager
from logpager.settings import Settings
from logpager.store import SessionStore, open_store
from tests.support.loghub import LOGHUB

pytestmark = pytest.mark.skipif(redis_available() is not None, reason=str(redis_available()))

STORE_EVENTS = int(os.environ.get("LOGPAGER_BENCH_STORE_EVENTS", "100000"))
SERVER_EVENTS = int(os.environ.get("LOGPAGER_BENCH_SERVER_EVENTS", "100000"))
ROUNDS = int(os.environ.get("LOGPAGER_BENCH_STORE_ROUNDS", "1500"))
WARMUP_ROUNDS = max(ROUNDS // 10, 1)
MEMORY_ROUNDS = int(os.environ.get("LOGPAGER_BENCH_STORE_MEMORY_ROUNDS", "3"))
REPLICA_CLIENTS = int(os.environ.get("LOGPAGER_BENCH_REPLICA_CLIENTS", "20"))
REPLICA_SECONDS = float(os.environ.get("LOGPAGER_BENCH_REPLICA_SECONDS", "60"))
MEMORY_TARGET = 1 / 10
LATENCY_TARGET = 1.3
# A user's list would expire with the query TTL as logpager's keys do; same TTL, same cost.
TTL_SECONDS = 3600
# RPUSH in commands of this many lines: one command of a whole result would grow the
# connection's query buffer to the result's size.
PUSH_LINES = 1000
PAGE_TOOL = "get_nth_page"


# --- 1. Redis memory per 1,000 cached events ------------------------------------------------------


def _loghub_logs() -> list[Path]:
    return sorted(LOGHUB.glob("*.log"))


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("bench-store-redis")).start()
    try:
        yield server
    finally:
        server.stop()


def _search_all(log: Path, root: Path) -> list[pa.RecordBatch]:
    data_dir = root / log.stem
    settings = Settings(data_dir=data_dir, max_cached_results=10**7)
    ingest([log], data_dir=data_dir, settings=settings, default_year=2020, progress=None)
    return list(ClpSBackend(settings).search(QuerySpec("*")).batches)


def _rows(dataset: str, root: Path) -> list[pa.RecordBatch]:
    if dataset == "make_events":
        return [make_events(STORE_EVENTS)]
    return _search_all(LOGHUB / f"{dataset}.log", root)


def _settled_memory(server: RedisServer) -> int:
    # INFO's own client and any just-closed connection are freed by the time two readings
    # agree; a reading between them would count a client buffer as data.
    last = server.used_memory()
    for _ in range(20):
        time.sleep(0.05)
        now = server.used_memory()
        if now == last:
            return now
        last = now
    return last


def _store_keys(server: RedisServer) -> set[bytes]:
    client = redis.Redis.from_url(server.url)
    try:
        return set(client.scan_iter("lp:*"))
    finally:
        client.close()


def _key_breakdown(server: RedisServer, before: set[bytes]) -> dict[str, tuple[int, int]]:
    """
    :param server: The Redis.
    :param before: The store's keys before a result was written.
    :return: Each kind of key written since (``chunks``, ``meta``, ``h``, ``s``, ``p``) with
        Redis's ``MEMORY USAGE`` and the bytes of its values: where a result's bytes go.
    """
    client = redis.Redis.from_url(server.url)
    kinds: dict[str, tuple[int, int]] = {}
    try:
        for key in _store_keys(server) - before:
            name = key.decode()
            kind = name.rsplit(":", 1)[-1] if name.startswith("lp:{") else name.split(":")[1]
            usage = int(client.memory_usage(key, samples=0) or 0)
            if client.type(key) == b"hash":
                values = sum(int(client.hstrlen(key, f)) for f in client.hkeys(key))
            else:
                values = int(client.strlen(key))
            old = kinds.get(kind, (0, 0))
            kinds[kind] = (old[0] + usage, old[1] + values)
    finally:
        client.close()
    return kinds


class _MemoryRounds:
    """Alternating rounds of one result written both ways into one Redis, each measured."""

    def __init__(self, server: RedisServer, batches: list[pa.RecordBatch]) -> None:
        self.server = server
        self.batches = batches
        self.settings = Settings(
            store_url=server.url, max_cached_results=10**7, require_instructions=False
        )
        self.ours: list[int] = []
        self.lists: list[int] = []
        self.lines: list[str] = []
        self.result: QueryResult | None = None
        self._before = 0
        self._session = ""
        self._store: SessionStore | None = None
        self._manager: SessionManager | None = None
        self._keys_before: set[bytes] = set()
        self.breakdown: dict[str, tuple[int, int]] = {}
        """The first round's keys by kind: (Redis's ``MEMORY USAGE``, value bytes)."""

    def start_ours(self) -> tuple[tuple[str], dict[str, Any]]:
        """Untimed: finishes the last round, writes the list design, reads memory."""
        self.finish_ours()
        if self.lines:
            self.write_list()
        if not self.lines:
            self._keys_before = _store_keys(self.server)
        self._before = _settled_memory(self.server)
        return (f"bench-session-{uuid.uuid4().hex}",), {}

    def write_ours(self, session_id: str) -> None:
        """Timed: logpager's write path, through a manager and its Redis store."""
        self._store = open_store(self.server.url)
        self._manager = SessionManager(settings=self.settings, store=self._store)
        self._manager.cache_query_result(session_id, "*", self.batches)
        self._session = session_id

    def finish_ours(self) -> None:
        """Untimed: reads the growth of the last logpager write, if one is pending."""
        if self._manager is None or self._store is None:
            return
        if not self.lines:
            # The list design holds the very lines logpager serves for this result.
            _, self.result = self._manager.result(self._session)
            self.lines = list(self.result.iter_items())
        self._store.close()
        self._manager = self._store = None
        self.ours.append(_settled_memory(self.server) - self._before)
        if not self.breakdown:
            self.breakdown = _key_breakdown(self.server, self._keys_before)

    def write_list(self) -> None:
        """Untimed: writes the list design of the result's lines, measured."""
        before = _settled_memory(self.server)
        client = redis.Redis.from_url(self.server.url)
        try:
            key = f"list-design:{uuid.uuid4().hex}"
            pipe = client.pipeline(transaction=False)
            for start in range(0, len(self.lines), PUSH_LINES):
                pipe.rpush(key, *self.lines[start : start + PUSH_LINES])
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
            # The list pages as a user's would: one LRANGE a page, the page's lines.
            assert client.lrange(key, 10, 19) == [s.encode() for s in self.lines[10:20]]
        finally:
            client.close()
        self.lists.append(_settled_memory(self.server) - before)


MEMORY_DATASETS = ["make_events", *(p.stem for p in _loghub_logs())]


@pytest.mark.parametrize("dataset", MEMORY_DATASETS)
def test_redis_bytes_per_1000_events(
    benchmark: Any, dataset: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    batches = _rows(dataset, tmp_path)
    events = sum(b.num_rows for b in batches)
    rounds = _MemoryRounds(redis_server, batches)
    benchmark.pedantic(rounds.write_ours, setup=rounds.start_ours, rounds=MEMORY_ROUNDS)
    rounds.finish_ours()
    rounds.write_list()  # the last round's list, so both have MEMORY_ROUNDS figures
    assert rounds.result is not None
    assert len(rounds.lines) == events  # the same result, every event held both ways
    ours, theirs = median([float(b) for b in rounds.ours]), median([float(b) for b in rounds.lists])
    ratio = ours / theirs
    line_bytes = sum(len(line.encode()) for line in rounds.lines)
    per_1000 = 1000 / events
    benchmark.extra_info.update(
        dataset=dataset,
        events=events,
        store_bytes_per_1000=round(ours * per_1000),
        list_bytes_per_1000=round(theirs * per_1000),
        store_bytes_rounds=rounds.ours,
        list_bytes_rounds=rounds.lists,
        line_bytes_per_1000=round(line_bytes * per_1000),
        ratio=round(ratio, 4),
        store_keys_usage_and_value_bytes=rounds.breakdown,
    )
    print(
        f"\n[{dataset}] {events:,} events: Redis store {ours * per_1000:,.0f} B/1000 "
        f"(rounds {rounds.ours}), RPUSH list {theirs * per_1000:,.0f} B/1000 "
        f"(rounds {rounds.lists}; its lines alone {line_bytes * per_1000:,.0f} B/1000), "
        f"ratio 1/{1 / ratio:.1f} (target <= 1/{1 / MEMORY_TARGET:.0f}); store keys "
        f"(MEMORY USAGE, value bytes): {rounds.breakdown}"
    )


# --- 2. get_nth_page over HTTP: Redis store against the memory store ------------------------------


@pytest.fixture(scope="module")
def server_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-store-data")
    ingest([make_synthetic(root, SERVER_EVENTS)], data_dir=root / "data")
    return root / "data"


def _server_settings() -> dict[str, str]:
    return {"max_cached_results": str(SERVER_EVENTS)}


class _Paged:
    """A client holding one searched result on one server."""

    def __init__(self, url: str) -> None:
        self.client = McpHttpClient(url).open()
        first = self.client.call("search_by_kql", kql_query="*")
        assert first["num_total_items"] == SERVER_EVENTS, first
        self.handle: str = first["result_handle"]
        self.num_pages: int = first["num_total_pages"]
        self.page_size: int = first["num_items_per_page"]

    def page(self, index: int) -> dict[str, Any]:
        return self.client.call(PAGE_TOOL, page_index=index, result_handle=self.handle)


@pytest.fixture(scope="module")
def paged_pair(
    server_data: Path, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, _Paged]]:
    logs = tmp_path_factory.mktemp("bench-store-logs")
    with (
        serve_http(
            server_data,
            "--store",
            redis_server.url,
            settings=_server_settings(),
            log=logs / "redis.txt",
        ) as redis_url,
        serve_http(server_data, settings=_server_settings(), log=logs / "memory.txt") as mem_url,
    ):
        pair = {"redis": _Paged(redis_url), "memory": _Paged(mem_url)}
        # What is timed must be right: a random page is that page, in full, the same on both.
        index = random.Random(1).randrange(pair["redis"].num_pages)
        pages = [p.page(index) for p in pair.values()]
        assert pages[0]["items"] == pages[1]["items"]
        assert pages[0]["page_index"] == index
        assert len(pages[0]["items"]) == pair["redis"].page_size
        try:
            yield pair
        finally:
            for paged in pair.values():
                paged.client.close()


def _command_calls(server: RedisServer) -> dict[str, int]:
    """:return: Calls so far of each Redis command (``INFO commandstats``)."""
    calls: dict[str, int] = {}
    for line in server.cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, fields = line.removeprefix("cmdstat_").partition(":")
            calls[name] = int(fields.split(",")[0].removeprefix("calls="))
    return calls


# Every timed page of each server, both rows pooled: a row times its own server with
# pytest-benchmark and the other server's interleaved calls by hand, so each store's samples
# span the same minutes and a drift of the shared machine's load falls on both alike.
# (Comparing the two rows' own medians alone put them minutes apart: at a load average of ~6
# that gave ratios from 0.89 to 1.09 on the same build.)
_PAGE_SAMPLES: dict[str, list[float]] = {"redis": [], "memory": []}
_PAGE_ROWS: list[str] = []


def _spread(samples: list[float]) -> dict[str, float]:
    """:return: Median, interquartile range and standard deviation of ``samples``."""
    q1, q2, q3 = statistics.quantiles(samples, n=4)
    return {"median": q2, "iqr": q3 - q1, "stdev": statistics.stdev(samples)}


@pytest.mark.parametrize("store", ["redis", "memory"])
def test_page_over_http(
    benchmark: Any, paged_pair: dict[str, _Paged], redis_server: RedisServer, store: str
) -> None:
    paged = paged_pair[store]
    other_name = "memory" if store == "redis" else "redis"
    other = paged_pair[other_name]
    other_times: list[float] = []
    pick = random.Random(0 if store == "redis" else 1)

    def setup() -> tuple[tuple[int], dict[str, Any]]:
        # Not in this row's timing: one page from the other server (timed here, for the
        # pooled figures), then the index the timed call pages to.
        index = pick.randrange(other.num_pages)
        began = time.perf_counter()
        answer = other.page(index)
        other_times.append(time.perf_counter() - began)
        assert answer.get("page_index") == index, answer
        return (pick.randrange(paged.num_pages),), {}

    calls_before = _command_calls(redis_server)
    page = benchmark.pedantic(paged.page, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)
    # Both rows page the Redis-backed server once a round, timed or not.
    calls = {
        name: (count - calls_before.get(name, 0)) / (ROUNDS + WARMUP_ROUNDS)
        for name, count in _command_calls(redis_server).items()
        if count > calls_before.get(name, 0) and name != "info"
    }
    assert "Error" not in page, page
    assert len(page["items"]) == paged.page_size
    if benchmark.stats is None:  # --benchmark-disable
        return
    own = list(benchmark.stats.stats.data)
    others = other_times[WARMUP_ROUNDS:]  # setup runs for the warm-up rounds too
    _PAGE_SAMPLES[store] += own
    _PAGE_SAMPLES[other_name] += others
    _PAGE_ROWS.append(store)
    row_ratio = median(own) / median(others)
    if store == "memory":
        row_ratio = 1 / row_ratio
    benchmark.extra_info.update(
        store=store,
        median_ms=median(own) * 1e3,
        other_median_ms=median(others) * 1e3,
        row_ratio_redis_over_memory=row_ratio,
        redis_calls_per_page=calls,
        load_average=os.getloadavg(),
    )
    print(
        f"\n[{store} row] {store} median {median(own) * 1e3:.3f} ms (pytest-benchmark), "
        f"{other_name} median {median(others) * 1e3:.3f} ms (interleaved), ratio redis/memory "
        f"{row_ratio:.3f}; Redis commands per page of the Redis-backed server: {calls}"
    )
    if len(_PAGE_ROWS) == 2:
        figures = {name: _spread(samples) for name, samples in _PAGE_SAMPLES.items()}
        ratio = figures["redis"]["median"] / figures["memory"]["median"]
        benchmark.extra_info.update(ratio=ratio, pooled=figures)
        lines = [
            f"\nget_nth_page over HTTP, random pages of a {SERVER_EVENTS:,}-event result, "
            f"{len(_PAGE_SAMPLES['redis'])} calls each, interleaved:"
        ]
        for name, spread in figures.items():
            lines.append(
                f"  {name:<7} median {spread['median'] * 1e3:.3f} ms, IQR "
                f"{spread['iqr'] * 1e3:.3f} ms, stdev {spread['stdev'] * 1e3:.3f} ms"
            )
        lines.append(
            f"  ratio redis/memory {ratio:.3f} (target <= {LATENCY_TARGET}); load average "
            f"{os.getloadavg()[0]:.2f}"
        )
        print("\n".join(lines))


# --- 3. Two replicas sharing one Redis, concurrent clients ----------------------------------------


class _ReplicaClient(threading.Thread):
    """Searches once on one replica, then pages random pages on alternate replicas."""

    def __init__(self, number: int, urls: list[str], start: threading.Barrier) -> None:
        super().__init__(name=f"bench-replica-client-{number}", daemon=True)
        self.number = number
        self.urls = urls
        self.start_paging = start
        self.stop_at = 0.0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.reconnects = 0
        self.search_seconds = 0.0

    def run(self) -> None:
        clients: list[McpHttpClient] = []
        handle, num_pages, page_size = "", 0, 0
        try:
            clients = [McpHttpClient(url).open() for url in self.urls]
            began = time.perf_counter()
            first = clients[self.number % 2].call("search_by_kql", kql_query="*")
            self.search_seconds = time.perf_counter() - began
            if "Error" in first:
                self.errors.append(f"search: {first['Error']}")
            else:
                handle = first["result_handle"]
                num_pages, page_size = first["num_total_pages"], first["num_items_per_page"]
        except Exception as exc:  # every failure is counted, none ends the run unseen
            self.errors.append(f"search: {type(exc).__name__}: {exc}")
        self.start_paging.wait()
        if handle:
            self._page(clients, handle, num_pages, page_size)
        for client in clients:
            self.reconnects += client.reconnects
            client.close()

    def _page(self, clients: list[McpHttpClient], handle: str, pages: int, size: int) -> None:
        pick = random.Random(self.number)
        turn = self.number
        while time.monotonic() < self.stop_at:
            turn += 1
            index = pick.randrange(pages)
            began = time.perf_counter()
            try:
                page = clients[turn % 2].call(PAGE_TOOL, page_index=index, result_handle=handle)
            except Exception as exc:
                self.errors.append(f"page {index}: {type(exc).__name__}: {exc}")
                continue
            self.latencies.append(time.perf_counter() - began)
            if "Error" in page:
                self.errors.append(f"page {index}: {page['Error']}")
            elif page["page_index"] != index or len(page["items"]) != size:
                self.errors.append(f"page {index}: wrong page {page['page_index']}")


def _cpu_seconds() -> dict[str, float]:
    """:return: CPU seconds so far of this process and of its ``logpager serve`` and Redis
    children (what shares the machine's cores during the run)."""
    totals = {"clients": time.process_time(), "servers": 0.0, "redis": 0.0}
    for proc in psutil.Process().children(recursive=True):
        try:
            command = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except psutil.Error:
            continue
        kind = "redis" if "redis-server" in command else "servers" if " serve " in command else ""
        if kind:
            totals[kind] += times.user + times.system
    return totals


def _stored_results(server: RedisServer) -> int:
    """:return: How many results the Redis holds (their meta records)."""
    return len(server.cli("--scan", "--pattern", "lp:{*}:meta").split())


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@pytest.mark.slow
@pytest.mark.timeout(int(REPLICA_SECONDS) + 300)
def test_two_replicas(
    benchmark: Any,
    server_data: Path,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    logs = tmp_path_factory.mktemp("bench-store-replicas")
    store = ("--store", redis_server.url)
    settings = _server_settings()
    results_before = _stored_results(redis_server)
    with (
        serve_http(server_data, *store, settings=settings, log=logs / "a.txt") as url_a,
        serve_http(server_data, *store, settings=settings, log=logs / "b.txt") as url_b,
    ):
        window: dict[str, float] = {}
        cpu_at_start: dict[str, float] = {}

        def open_window() -> None:
            # Run by the barrier once every client has searched, before any of them pages.
            window["began"] = time.monotonic()
            cpu_at_start.update(_cpu_seconds())
            for client in clients:
                client.stop_at = window["began"] + REPLICA_SECONDS

        barrier = threading.Barrier(REPLICA_CLIENTS + 1, action=open_window)
        clients = [_ReplicaClient(i, [url_a, url_b], barrier) for i in range(REPLICA_CLIENTS)]

        def run() -> float:
            for client in clients:
                client.start()
            barrier.wait()
            for client in clients:
                client.join()
            return time.monotonic() - window["began"]

        seconds = benchmark.pedantic(run, rounds=1, iterations=1)
        cpu = {k: v - cpu_at_start[k] for k, v in _cpu_seconds().items()}
    results = _stored_results(redis_server) - results_before
    latencies = sorted(t for c in clients for t in c.latencies)
    errors = [e for c in clients for e in c.errors]
    searches = sorted(c.search_seconds for c in clients)
    assert latencies, errors[:10]
    pages_per_second = len(latencies) / seconds
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    benchmark.extra_info.update(
        clients=REPLICA_CLIENTS,
        seconds=round(seconds, 2),
        pages=len(latencies),
        pages_per_second=round(pages_per_second, 1),
        p50_ms=round(p50 * 1e3, 3),
        p99_ms=round(p99 * 1e3, 3),
        errors=len(errors),
        reconnects=sum(c.reconnects for c in clients),
        results_in_redis=results,
        cpu_seconds={k: round(v, 1) for k, v in cpu.items()},
        load_average=os.getloadavg(),
    )
    print(
        f"\ntwo replicas, one Redis, {REPLICA_CLIENTS} clients, {seconds:.1f} s of paging: "
        f"{len(latencies):,} pages, {pages_per_second:,.0f} pages/s, p50 {p50 * 1e3:.2f} ms, "
        f"p99 {p99 * 1e3:.2f} ms, mean {statistics.fmean(latencies) * 1e3:.2f} ms, "
        f"{len(errors)} errors, {sum(c.reconnects for c in clients)} reconnects; {results} "
        f"results written to Redis; searches (concurrent) median {median(searches):.2f} s, "
        f"max {searches[-1]:.2f} s; CPU seconds "
        f"while paging: both servers {cpu['servers']:.1f}, Redis {cpu['redis']:.1f}, clients "
        f"{cpu['clients']:.1f}; load average {os.getloadavg()[0]:.2f}"
    )
    assert not errors, errors[:10]
