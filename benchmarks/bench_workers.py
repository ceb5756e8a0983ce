"""Pages under load: the HTTP stack (h11 and asyncio, or httptools and uvloop) and
``serve --workers 2`` sharing Redis.

Eight real ``logpager serve --transport http`` processes over the same archives, up at once:

- ``standard``: one process, ``http_stack=standard`` (asyncio's loop, pure-Python h11);
- ``fast``: one process, ``http_stack=auto`` (uvloop, httptools), pages answered on the event
  loop when they need no waiting (``page_on_event_loop``, the default);
- ``fast_threads``: ``fast`` with every page in a worker thread (``page_on_event_loop=false``);
- ``fast_json``: ``fast`` answering plain JSON (``json_response``), no event streams;
- ``fast_redis``: ``fast`` with ``--store redis://``, one process (what the store costs);
- ``fast_redis_threads``: ``fast_redis`` with every page in a worker thread;
- ``workers2``: ``fast`` with ``--store redis://`` and ``--workers 2``;
- ``workers2_json``: ``workers2`` answering plain JSON (``json_response``), no event streams.

Each caches one result of ``LOGPAGER_BENCH_WORKERS_EVENTS`` (100,000) synthetic events; then
``harness.load`` runs stateless raw-HTTP clients (MCP 2026-07-28, kept-alive connections,
two load processes) paging it at random, for ``LOGPAGER_BENCH_WORKERS_SECONDS`` (5 s) a
window, at 8 and 16 clients (``LOGPAGER_BENCH_WORKERS_CLIENTS``), the servers' windows
alternating within each of ``LOGPAGER_BENCH_WORKERS_ROUNDS`` (3) rounds. The load clients
run on the same two cores as the servers and Redis: their CPU is printed too.

Figures per server and client count: pages/s (median of the rounds, and min-max), p50 and
p99 latency (pooled calls of all rounds), CPU per page of the server's process tree, of Redis,
and of the clients, and the ratio to ``standard`` (to the first server when
``LOGPAGER_BENCH_WORKERS_SERVERS``, a comma-separated list of names, runs only some). Targets
(issue 16): >= 800 pages/s with ``workers2`` at 16 clients; p99 <= 30 ms with ``fast`` at 8
clients.

Run (about 3 minutes at the defaults; a quick look: ``LOGPAGER_BENCH_WORKERS_SECONDS=2
LOGPAGER_BENCH_WORKERS_ROUNDS=1``)::

    .venv/bin/pytest benchmarks/bench_workers.py --benchmark-only -s
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest

from benchmarks._bench_common import make_synthetic
from harness.load import run_load
from harness.mcp_http import McpHttpClient
from harness.redis import RedisServer, redis_available
from harness.serve_proc import serve_http
from logpager.ingest import ingest

pytestmark = pytest.mark.skipif(redis_available() is not None, reason=str(redis_available()))

EVENTS = int(os.environ.get("LOGPAGER_BENCH_WORKERS_EVENTS", "100000"))
SECONDS = float(os.environ.get("LOGPAGER_BENCH_WORKERS_SECONDS", "5"))
ROUNDS = int(os.environ.get("LOGPAGER_BENCH_WORKERS_ROUNDS", "3"))
CLIENTS = [int(c) for c in os.environ.get("LOGPAGER_BENCH_WORKERS_CLIENTS", "8,16").split(",")]
PAGE_SIZE = 10
THROUGHPUT_TARGET = 800.0
P99_TARGET_MS = 30.0

# name: (settings as LOGPAGER_* variables, uses Redis)
SERVERS: dict[str, tuple[dict[str, str], bool]] = {
    "standard": ({"http_stack": "standard"}, False),
    "fast": ({"http_stack": "auto"}, False),
    "fast_threads": ({"http_stack": "auto", "page_on_event_loop": "false"}, False),
    "fast_json": ({"http_stack": "auto", "json_response": "true"}, False),
    "fast_redis": ({"http_stack": "auto"}, True),
    "fast_redis_threads": ({"http_stack": "auto", "page_on_event_loop": "false"}, True),
    "workers2": ({"http_stack": "auto", "workers": "2"}, True),
    "workers2_json": ({"http_stack": "auto", "workers": "2", "json_response": "true"}, True),
}

_CHOSEN = os.environ.get("LOGPAGER_BENCH_WORKERS_SERVERS")
if _CHOSEN:
    SERVERS = {name: SERVERS[name] for name in _CHOSEN.split(",")}


@dataclass
class Server:
    """A running server under test and its cached result."""

    url: str
    handle: str
    pid: int
    windows: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    latencies: dict[int, list[float]] = field(default_factory=dict)


def _cpu(pid: int) -> float:
    """:return: CPU seconds (user + system) of a process and its children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _is_serve(proc: psutil.Process) -> bool:
    command: list[str] = proc.cmdline()
    return command[1:4] == ["-m", "logpager.cli", "serve"]


def _server_pid(port: int) -> int:
    """:return: The pid of the ``logpager serve`` listening on ``port`` (with workers, the
    supervisor, whose children are the workers)."""
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
            proc = psutil.Process(conn.pid)
            parent = proc.parent()
            pid: int = parent.pid if parent is not None and _is_serve(parent) else proc.pid
            return pid
    msg = f"no process listens on port {port}"
    raise RuntimeError(msg)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Server], int]]:
    root = tmp_path_factory.mktemp("bench-workers")
    data = root / "data"
    ingest([make_synthetic(root, EVENTS)], data_dir=data)
    redis_server = RedisServer(root / "redis").start()
    servers: dict[str, Server] = {}
    try:
        with ExitStack() as stack:
            for name, (settings, redis) in SERVERS.items():
                args = ("--store", redis_server.url) if redis else ()
                url = stack.enter_context(
                    serve_http(
                        data,
                        *args,
                        settings={**settings, "max_cached_results": str(EVENTS)},
                        log=root / f"{name}.log",
                    )
                )
                first = (
                    McpHttpClient(url, stateless=True).open().call("search_by_kql", kql_query="*")
                )
                assert first["num_total_items"] == EVENTS, first
                port = int(url.split(":")[2].split("/")[0])
                servers[name] = Server(url, first["result_handle"], _server_pid(port))
            assert redis_server.process is not None
            yield servers, redis_server.process.pid
            for name in servers:
                log = (root / f"{name}.log").read_text()
                assert "HTTP stack:" in log, log[-2000:]
    finally:
        redis_server.stop()


def _window(server: Server, redis_pid: int, clients: int, seed: int) -> None:
    before = (_cpu(server.pid), _cpu(redis_pid))
    load = run_load(server.url, server.handle, EVENTS // PAGE_SIZE, clients, SECONDS, seed=seed)
    server_cpu, redis_cpu = _cpu(server.pid) - before[0], _cpu(redis_pid) - before[1]
    assert load.errors == 0, f"{load.errors} errors of {len(load.latencies)} calls"
    pages = len(load.latencies)
    server.windows.setdefault(clients, []).append(
        {
            "pages_per_s": pages / load.seconds,
            # Redis and the load processes run all the time; the servers not under load idle.
            "server_ms_per_page": server_cpu / pages * 1e3,
            "redis_ms_per_page": redis_cpu / pages * 1e3,
            "client_ms_per_page": load.client_cpu / pages * 1e3,
        }
    )
    server.latencies.setdefault(clients, []).extend(load.latencies)


def _figures(server: Server, clients: int) -> dict[str, float]:
    windows = server.windows[clients]
    rates = [w["pages_per_s"] for w in windows]
    cuts = statistics.quantiles(server.latencies[clients], n=100)
    return {
        "pages_per_s": statistics.median(rates),
        "pages_per_s_min": min(rates),
        "pages_per_s_max": max(rates),
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
        "server_ms_per_page": statistics.median(w["server_ms_per_page"] for w in windows),
        "redis_ms_per_page": statistics.median(w["redis_ms_per_page"] for w in windows),
        "client_ms_per_page": statistics.median(w["client_ms_per_page"] for w in windows),
    }


@pytest.mark.timeout(1800)
def test_pages_per_second_by_stack_and_workers(
    benchmark: Any, setup: tuple[dict[str, Server], int]
) -> None:
    servers, redis_pid = setup
    seed = [0]

    def one_round() -> None:
        for clients in CLIENTS:
            for server in servers.values():
                seed[0] += 1
                _window(server, redis_pid, clients, seed[0])

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    figures = {
        clients: {name: _figures(server, clients) for name, server in servers.items()}
        for clients in CLIENTS
    }
    benchmark.extra_info.update(figures=figures, load_average=os.getloadavg())
    print(
        f"\nrandom pages of {EVENTS:,} events; {ROUNDS} rounds of {SECONDS:.0f} s windows, "
        f"servers alternating; load clients on the same 2 cores; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    for clients, rows in figures.items():
        base = rows["standard" if "standard" in rows else next(iter(rows))]["pages_per_s"]
        print(f"  {clients} clients:")
        for name, row in rows.items():
            print(
                f"    {name:<11} {row['pages_per_s']:5.0f} pages/s "
                f"({row['pages_per_s_min']:.0f}-{row['pages_per_s_max']:.0f}, "
                f"x{row['pages_per_s'] / base:.2f}), p50 {row['p50_ms']:5.1f} ms, "
                f"p99 {row['p99_ms']:5.1f} ms; CPU/page: server {row['server_ms_per_page']:.2f}"
                f" ms, redis {row['redis_ms_per_page']:.2f} ms, "
                f"clients {row['client_ms_per_page']:.2f} ms"
            )
    if 16 in figures and "workers2" in figures[16]:
        print(
            f"  target: workers2 at 16 clients >= {THROUGHPUT_TARGET:.0f} pages/s: "
            f"{figures[16]['workers2']['pages_per_s']:.0f}"
        )
    if 8 in figures and "fast" in figures[8]:
        print(
            f"  target: fast at 8 clients p99 <= {P99_TARGET_MS:.0f} ms: "
            f"{figures[8]['fast']['p99_ms']:.1f}"
        )
