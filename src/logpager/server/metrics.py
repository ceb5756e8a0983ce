"""The server's Prometheus metrics: what ``GET /metrics`` answers, in the Prometheus text format.

Most values are read at scrape time from counters the server keeps anyway (the session
manager's :class:`~logpager.sessions.metrics.SessionMetrics`, its live sessions, the
admission queue, psutil over the process tree), by one custom collector; only what has no
counter elsewhere is observed as it happens: a search's duration and its number of items
(:class:`SearchObserver`, around the engine run in ``Tools._search``).

Each server has its own :class:`~prometheus_client.CollectorRegistry`, not the library's
global one: two servers in one process (tests) do not collide, and the process metrics the
default registry adds (``process_*``, ``python_gc_*``) are not exported twice.

What a cache hit is here: a search answered from an identical search's live result (same
canonical query, bounds, cap and archives) without running the engine
(``SessionMetrics.reuse_hits``); a miss ran the engine. They carry the label
``cache="search_reuse"``. The decoded-chunk LRU of a result (``cache/decoded_lru.py``) keeps
no hit or miss counters, so it is not exported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import psutil
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from logpager.memory.probe import tree_rss_bytes
from logpager.sessions import SessionManager

__all__ = [
    "CONTENT_TYPE",
    "SESSION_BYTES_BUCKETS",
    "MetricsSource",
    "SearchObserver",
    "ServerMetrics",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format's media type."""

# Powers of 4 from 64 KiB to 1 GiB: a session holding one small result is ~100 KiB compressed,
# a governed edge server caps the whole cache well under 256 MiB.
SESSION_BYTES_BUCKETS: tuple[float, ...] = tuple(float(64 * 1024 * 4**i) for i in range(8))
# A result holds at most max_cached_results items (default 100,000; profiles differ).
_ITEM_BUCKETS: tuple[float, ...] = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
# clp-s answers a selective query over the loghub samples in well under a second; a 16 KB
# wildcard query took ~68 s here (issue 12), hence the long tail.
_SECONDS_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _Admission(Protocol):
    @property
    def queued(self) -> int: ...


class MetricsSource(Protocol):
    """What the collector reads: the tools' manager and their search admission."""

    manager: SessionManager
    pages_answered: int
    pages_on_event_loop: int

    @property
    def admission(self) -> _Admission: ...


class SearchObserver:
    """Observes each engine run: its duration and the number of items its result holds."""

    def __init__(self) -> None:
        # Not registered anywhere: the server's collector yields their samples.
        self.seconds = Histogram(
            "logpager_search_seconds",
            "Time the search engine took per search (reused results excluded).",
            buckets=_SECONDS_BUCKETS,
            registry=None,
        )
        self.items = Histogram(
            "logpager_result_items",
            "Items held by each search's result (reused results excluded).",
            buckets=_ITEM_BUCKETS,
            registry=None,
        )

    @contextmanager
    def timed(self) -> Iterator[Callable[[int], None]]:
        """
        Times the block as one search; a search that raises is timed too.

        :return: A context manager yielding a function to call with the result's item count.
        """
        began = time.perf_counter()
        try:
            yield self.items.observe
        finally:
            self.seconds.observe(time.perf_counter() - began)


def _histogram(
    name: str, documentation: str, values: Sequence[float], buckets: Sequence[float]
) -> HistogramMetricFamily:
    counts = [(str(b), float(sum(1 for v in values if v <= b))) for b in buckets]
    counts.append(("+Inf", float(len(values))))
    return HistogramMetricFamily(name, documentation, buckets=counts, sum_value=sum(values))


class _Collector(Collector):
    """Reads the server's counters at scrape time."""

    def __init__(self, tools: MetricsSource, observer: SearchObserver) -> None:
        self._tools = tools
        self._observer = observer

    def collect(self) -> Iterable[Metric]:
        manager = self._tools.manager
        counters = manager.metrics
        sessions = _session_bytes(manager)
        yield GaugeMetricFamily(
            "logpager_sessions_active", "Sessions alive now.", value=len(sessions)
        )
        yield _histogram(
            "logpager_session_cache_bytes",
            "Bytes of cached results per live session, at scrape time (compressed chunks "
            "plus decoded ones).",
            sessions,
            SESSION_BYTES_BUCKETS,
        )
        for name, value, what in (
            ("hits", counters.reuse_hits, "answered from an identical search's live result"),
            ("misses", counters.reuse_misses, "that found no live result to reuse"),
        ):
            family = CounterMetricFamily(
                f"logpager_cache_{name}", f"Searches {what}.", labels=["cache"]
            )
            family.add_metric(["search_reuse"], value)
            yield family
        yield CounterMetricFamily(
            "logpager_sessions_expired",
            "Sessions dropped after their idle time-to-live.",
            value=counters.sessions_expired,
        )
        yield CounterMetricFamily(
            "logpager_evictions",
            "Results dropped under memory pressure (a tombstone re-runs them).",
            value=counters.results_evicted,
        )
        yield CounterMetricFamily(
            "logpager_reruns", "Evicted results re-run on demand.", value=counters.reruns
        )
        yield GaugeMetricFamily(
            "logpager_searches_queued",
            "Searches waiting for a free search slot.",
            value=self._tools.admission.queued,
        )
        # With `serve --workers N` every worker answers /metrics for itself: the pid tells
        # which one a scrape reached, and the page count what it served.
        process = GaugeMetricFamily(
            "logpager_server_process",
            "The server process this scrape reached (1, labelled with its pid).",
            labels=["pid"],
        )
        process.add_metric([str(os.getpid())], 1)
        yield process
        yield CounterMetricFamily(
            "logpager_page_calls",
            "get_nth_page calls this process answered (errors included).",
            value=self._tools.pages_answered,
        )
        yield CounterMetricFamily(
            "logpager_page_calls_on_event_loop",
            "Of those, the ones answered on the event loop, without a worker thread.",
            value=self._tools.pages_on_event_loop,
        )
        yield GaugeMetricFamily(
            "logpager_process_tree_rss_bytes",
            "Resident bytes of the server and its child processes (clp-s).",
            value=tree_rss_bytes(psutil.Process()),
        )
        yield from self._observer.seconds.collect()
        yield from self._observer.items.collect()


def _session_bytes(manager: SessionManager) -> list[float]:
    """:return: Each live session's cached bytes (a session dropped meanwhile is skipped)."""
    for _attempt in range(3):
        try:
            return [float(s.nbytes) for s in list(manager.sessions.values())]
        except RuntimeError:  # a session's results changed while being summed: read again
            continue
    return []


class ServerMetrics:
    """One server's registry and the ``GET /metrics`` endpoint over it."""

    def __init__(self, tools: MetricsSource, observer: SearchObserver) -> None:
        """
        :param tools: The tools whose manager (and admission queue, if any) are read.
        :param observer: The search observer the tools time their searches with.
        """
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(tools, observer))

    def render(self) -> bytes:
        """:return: Every metric in the Prometheus text format."""
        return generate_latest(self.registry)

    async def endpoint(self, _request: Request) -> Response:
        """
        :param _request: ``GET /metrics``.
        :return: The metrics, 200, in the Prometheus text format.
        """
        return Response(self.render(), media_type=CONTENT_TYPE)
