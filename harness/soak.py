"""A memory soak of the real server: many sessions caching large results, then random paging.

Shared by the soak test (tests/test_governor_soak.py) and the governor benchmark
(benchmarks/bench_governor.py). The server runs as its own process (``logpager serve
--transport http``) and is driven over streamable HTTP by a real FastMCP client; its RSS is
sampled with psutil from this process every 100 ms.

Before the server starts, this process pages its own library pages out. The kernel cannot
drop a page that another process also maps, so a server beside a test runner that has
imported (and exercised) the same libraries keeps their cold pages: measured at idle, the
edge server held 139 MiB beside such a process against 93 MiB alone. A server in its own
container has no such neighbour; with the runner paged out it measured the same 93 MiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from fastmcp import Client

from harness.ports import free_port, wait_for_port
from logpager.ingest import ingest
from logpager.memory.allocators import page_out_library_pages
from logpager.memory.probe import spawned_children
from logpager.settings import load_settings
from logpager.synthetic import DEFAULT_SPAN_MS, DEFAULT_START_MS, write_events
from logpager.timeutil import format_epoch_ms

SOAK_EVENTS = 300_000
WINDOW_EVENTS = 100_000
WINDOW_STEP = 1_000
SAMPLE_SECONDS = 0.1


@dataclass
class SoakData:
    """An ingested data directory and the timestamps of its events (ascending)."""

    data_dir: Path
    timestamps: list[int]

    def window(self, session: int) -> tuple[int, int]:
        """:return: The first and last timestamp of session ``session``'s 100,000 events."""
        first = session * WINDOW_STEP
        return self.timestamps[first], self.timestamps[first + WINDOW_EVENTS - 1]

    def expected_page(self, session: int, page: int, page_size: int = 10) -> list[int]:
        """:return: Timestamps of a page of a session's result (latest first)."""
        last = session * WINDOW_STEP + WINDOW_EVENTS - 1
        top = last - page * page_size
        bottom = max(top - page_size, session * WINDOW_STEP - 1)
        return [self.timestamps[i] for i in range(top, bottom, -1)]


def make_soak_data(root: Path, events: int = SOAK_EVENTS) -> SoakData:
    """
    Writes and ingests ``events`` synthetic events whose timestamps are all distinct, so a
    time window selects an exact number of them.
    """
    source = root / "soak.jsonl"
    write_events(source, events, seed=11)
    data_dir = root / "data"
    # Ingested as an edge host would (`logpager ingest --profile edge`): its archive size.
    ingest([source], data_dir=data_dir, settings=load_settings("edge"))
    step = DEFAULT_SPAN_MS / events
    timestamps = [DEFAULT_START_MS + int(i * step) for i in range(events)]
    if len(set(timestamps)) != events:
        msg = "soak timestamps must be distinct"
        raise AssertionError(msg)
    return SoakData(data_dir, timestamps)


@dataclass
class SoakReport:
    """What a soak run saw."""

    limit_bytes: int
    peak_rss_bytes: int = 0
    peak_tree_rss_bytes: int = 0
    """The server's RSS plus its clp-s children's, sampled together (what a cgroup counts)."""
    max_children: int = 0
    """The most child processes (clp-s searches) the server had at one sample."""
    baseline_rss_bytes: int = 0
    samples: int = 0
    sessions_cached: int = 0
    pages_served: int = 0
    exceeded_after_sessions: int | None = None
    errors: list[str] = field(default_factory=list)
    wrong_pages: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    log_tail: str = ""

    @property
    def exceeded(self) -> bool:
        """:return: Whether the server's RSS ever went above the limit."""
        return self.peak_rss_bytes > self.limit_bytes


class _Sampler(threading.Thread):
    def __init__(self, pid: int, report: SoakReport) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.report = report
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            try:
                rss = int(self.process.memory_info().rss)
            except psutil.Error:
                return
            children = _children(self.process)
            tree = rss + sum(_rss(child) for child in children)
            self.report.max_children = max(self.report.max_children, len(children))
            self.report.samples += 1
            self.report.peak_rss_bytes = max(self.report.peak_rss_bytes, rss)
            self.report.peak_tree_rss_bytes = max(self.report.peak_tree_rss_bytes, tree)


def _children(process: psutil.Process) -> list[psutil.Process]:
    # Children that run their own program (clp-s): a fork not yet exec'd shares the server's
    # memory, and a cgroup counts that memory once.
    return spawned_children(process)


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def _iso(ms: int) -> str:
    return format_epoch_ms(ms)


_ITEM_TS = re.compile(r"^timestamp: (\S+), ")


def _page_timestamps(page: dict[str, Any]) -> list[str]:
    out = []
    for item in page["items"]:
        match = _ITEM_TS.match(item)
        out.append(match.group(1) if match else "?")
    return out


async def run_soak(
    data: SoakData,
    *,
    profile: str = "edge",
    governor: bool = True,
    sessions: int = 200,
    pages: int = 400,
    stop_when_exceeded: bool = False,
    seed: int = 5,
    clients: int = 1,
) -> SoakReport:
    """
    Runs the soak against a fresh server process.

    :param data: The ingested data (see :func:`make_soak_data`).
    :param profile: The server's settings profile; its ``rss_limit_bytes`` is not the limit
        checked here: the limit is 256 MiB, the memory the edge profile is made for.
    :param governor: Run with the memory governor on (off: TTLs only).
    :param sessions: Sessions, each caching one 100,000-event result.
    :param pages: Random page requests after all sessions cached their result.
    :param stop_when_exceeded: Stop as soon as RSS passes the limit (for the run that must).
    :param seed: Seed of the random paging.
    :param clients: Clients searching (then paging) at the same time, each over its own
        connection; the sessions and pages are shared out among them.
    :return: The report.
    """
    report = SoakReport(limit_bytes=256 * 1024 * 1024)
    port = free_port()
    env = {**os.environ, "LOGPAGER_GOVERNOR_ENABLED": "true" if governor else "false"}
    logpager = str(Path(sys.executable).with_name("logpager"))
    argv = [logpager, "serve", "--profile", profile, "--transport", "http", "--port", str(port)]
    argv += ["--data-dir", str(data.data_dir)]
    # The server's RSS as a container alone would count it (see the module's docstring): the
    # 8-client soak's tree peaked at 237 MiB beside this process unpaged, 224 MiB after the
    # page-out, and 225 MiB with this process running from another venv (nothing shared).
    page_out_library_pages()
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_chunks: list[bytes] = []
    stderr = proc.stderr
    assert stderr is not None
    drain = threading.Thread(
        target=lambda: stderr_chunks.extend(iter(lambda: stderr.read(65536), b"")), daemon=True
    )
    drain.start()
    sampler = _Sampler(proc.pid, report)
    try:
        await wait_for_port(port, lambda: proc.poll() is None)
        report.baseline_rss_bytes = int(psutil.Process(proc.pid).memory_info().rss)
        sampler.start()
        rng = random.Random(seed)
        handles: list[str] = [""] * sessions
        url = f"http://127.0.0.1:{port}/mcp"
        # Each client searches its share of the sessions, all clients at once; then pages.
        await asyncio.gather(
            *(
                _client_searches(
                    url, data, report, handles, range(k, sessions, clients), stop_when_exceeded
                )
                for k in range(clients)
            )
        )
        if not (stop_when_exceeded and report.exceeded):
            requests = [_pick_page(rng, handles) for _ in range(pages)]
            await asyncio.gather(
                *(
                    _client_pages(url, data, report, handles, requests[k::clients])
                    for k in range(clients)
                )
            )
    finally:
        sampler.done.set()
        if sampler.is_alive():
            sampler.join()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drain.join(timeout=10)
        report.seconds = time.monotonic() - started
    text = b"".join(stderr_chunks).decode(errors="replace")
    report.log_tail = text[-4000:]
    for line in text.splitlines():
        if "memory metrics: " in line:
            with contextlib.suppress(ValueError):
                report.metrics = json.loads(line.split("memory metrics: ", 1)[1])
    return report


async def _call(client: Client[Any], tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args, raise_on_error=False)
    if result.is_error:
        return {"Error": f"tool error: {result.content}"}
    if result.structured_content is not None:
        return dict(result.structured_content)
    page: dict[str, Any] = json.loads(getattr(result.content[0], "text", "{}"))
    return page


async def _client_searches(
    url: str,
    data: SoakData,
    report: SoakReport,
    handles: list[str],
    sessions: range,
    stop_when_exceeded: bool,
) -> None:
    """One client's searches: a 100,000-event window each, its handle kept."""
    async with Client(url, timeout=300) as client:
        for i in sessions:
            if stop_when_exceeded and report.exceeded:
                return
            begin, end = data.window(i)
            page = await _call(
                client,
                "search_by_kql_with_timestamp_range",
                kql_query="*",
                begin_timestamp=_iso(begin),
                end_timestamp=_iso(end),
            )
            if "Error" in page:
                report.errors.append(f"search {i}: {page['Error']}")
                continue
            report.sessions_cached += 1
            if page["num_total_items"] != WINDOW_EVENTS:
                report.wrong_pages.append(f"session {i}: {page['num_total_items']} items")
            handles[i] = page["result_handle"]
            if report.exceeded and report.exceeded_after_sessions is None:
                report.exceeded_after_sessions = report.sessions_cached


def _pick_page(rng: random.Random, handles: list[str]) -> tuple[int, int]:
    """Half the requests go to the ten newest sessions, half anywhere."""
    recent = max(len(handles) - 10, 0)
    i = rng.randrange(recent, len(handles)) if rng.random() < 0.5 else rng.randrange(len(handles))
    return i, rng.randrange(WINDOW_EVENTS // 10)


async def _client_pages(
    url: str,
    data: SoakData,
    report: SoakReport,
    handles: list[str],
    requests: list[tuple[int, int]],
) -> None:
    """One client's page requests, each checked against the source's timestamps."""
    async with Client(url, timeout=300) as client:
        for i, index in requests:
            if not handles[i]:
                continue
            page = await _call(client, "get_nth_page", page_index=index, result_handle=handles[i])
            if "Error" in page:
                report.errors.append(f"page {index} of session {i}: {page['Error']}")
                continue
            report.pages_served += 1
            want = [_iso(ms) for ms in data.expected_page(i, index)]
            if _page_timestamps(page) != want:
                report.wrong_pages.append(f"page {index} of session {i}")
