"""A light load of stateless MCP clients paging at random, spread over a few processes.

Clients are threads of :class:`~harness.mcp_http.McpHttpClient` (``stateless=True``, one
kept-alive connection each), split over ``processes`` child processes so that the clients'
own CPU (a JSON parse of every page) is not serialized behind one GIL, where waiting for
the lock would be timed as the server's latency. Every process starts paging at the same
wall-clock instant and stops after the same span.

Run one load process by hand (prints its figures as JSON)::

    python -m harness.load URL HANDLE PAGES THREADS SECONDS START_AT SEED
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from harness.mcp_http import McpHttpClient

__all__ = ["LoadResult", "run_load"]

# Time the load processes get to import and connect before the common start.
_START_DELAY = 1.5


@dataclass
class LoadResult:
    """
    What a load window measured.

    :param latencies: Every call's latency, in seconds.
    :param errors: Calls answered with an error (an ``{"Error"}`` page or an HTTP error).
    :param seconds: The paging span.
    :param client_cpu: CPU seconds the load processes spent in the span (user + system).
    """

    latencies: list[float]
    errors: int
    seconds: float
    client_cpu: float


def run_load(
    url: str,
    handle: str,
    pages: int,
    clients: int,
    seconds: float,
    *,
    processes: int = 2,
    seed: int = 0,
) -> LoadResult:
    """
    Pages ``handle`` at random with ``clients`` stateless clients for ``seconds``.

    :param url: The MCP endpoint.
    :param handle: A result handle.
    :param pages: Its page count (indexes are drawn from ``range(pages)``).
    :param clients: Concurrent clients (threads, spread over the processes).
    :param seconds: The paging span.
    :param processes: Load processes.
    :param seed: Seeds the page draws.
    :return: The calls' latencies and errors, and the clients' CPU.
    :raise RuntimeError: If a load process fails.
    """
    start_at = time.time() + _START_DELAY
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    procs = []
    for i, threads in enumerate(shares):
        if not threads:
            continue
        command = [
            sys.executable, "-m", "harness.load", url, handle, str(pages), str(threads),
            str(seconds), repr(start_at), str(seed * 1000 + i),
        ]  # fmt: skip
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE))
    result = LoadResult([], 0, seconds, 0.0)
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            msg = f"a load process failed with status {proc.returncode}"
            raise RuntimeError(msg)
        figures = json.loads(out)
        result.latencies += figures["latencies"]
        result.errors += figures["errors"]
        result.client_cpu += figures["cpu"]
    return result


def _main(argv: list[str]) -> None:
    url, handle, pages, threads, seconds, start_at, seed = argv
    clients = [McpHttpClient(url, stateless=True).open() for _ in range(int(threads))]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = float(start_at) + float(seconds)

    def run(client: McpHttpClient, seed: int) -> None:
        pick = random.Random(seed)
        mine: list[float] = []
        bad = 0
        time.sleep(max(float(start_at) - time.time(), 0))
        while time.time() < stop_at:
            began = time.perf_counter()
            try:
                page = client.call(
                    "get_nth_page", page_index=pick.randrange(int(pages)), result_handle=handle
                )
            except Exception:
                page = {"Error": "call failed"}
            mine.append(time.perf_counter() - began)
            bad += "Error" in page
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    workers = [
        threading.Thread(target=run, args=(c, int(seed) * 100 + i)) for i, c in enumerate(clients)
    ]
    for worker in workers:
        worker.start()
    time.sleep(max(float(start_at) - time.time(), 0))
    cpu_before = sum(os.times()[:2])
    for worker in workers:
        worker.join()
    cpu = sum(os.times()[:2]) - cpu_before
    for client in clients:
        client.close()
    json.dump({"latencies": latencies, "errors": errors[0], "cpu": cpu}, sys.stdout)


if __name__ == "__main__":
    _main(sys.argv[1:])
