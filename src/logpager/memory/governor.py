"""The memory governor: least-recently-used eviction of cached results under memory pressure.

TTLs alone do not keep a small host safe: a burst of large searches fills memory long before
anything expires. The governor watches three signals and evicts beyond the TTL rules:

- the cache's own bytes, counted exactly (compressed chunks plus decoded-chunk LRUs), against
  a budget with a high and a low watermark;
- the RSS of the process and its ``clp-s`` children against ``rss_limit_bytes`` (what a
  container's OOM killer sees: a search holds ~78 MiB of its own);
- the host's (or the container's cgroup's) available memory against a floor.

The psutil readings are taken at most once per ``probe_interval_seconds``; the per-call cost
on the paging path is one clock read. On pressure it first drops every decoded-chunk LRU
(cheap to rebuild), then evicts whole results, least recently used first across all sessions,
until the cache is below its target; each evicted result leaves a tombstone from which the
next page request re-runs it (see :class:`logpager.sessions.SessionManager`). The target is
the low watermark, so eviction stops well below the point that triggered it and a cache
hovering at the high watermark does not evict on every call (hysteresis). The result used
most recently is never evicted for RSS or host pressure: the agent that is paging keeps its
pages, and a process whose RSS stays high for reasons outside the cache does not thrash
re-running the one result in use. Sessions are kept when their results go: their tombstones
are what makes an evicted result re-runnable, and they hold a few hundred bytes each.

After evicting, Arrow's memory pool and the C heap are asked to give freed memory back to the
system, so that RSS reflects what was freed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from logpager.cache import QueryResult
from logpager.clock import Clock
from logpager.memory.allocators import page_out_library_pages, release_free_memory
from logpager.memory.probe import MemoryReader, MemoryReading, PsutilReader
from logpager.periodic import PeriodicTask
from logpager.sessions import SessionManager
from logpager.settings import Settings

__all__ = ["Budget", "GovernorMetrics", "MemoryGovernor"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Budget:
    """
    The cache's budget and the marks derived from it.

    :param budget_bytes: Bytes the cache may hold.
    :param high_bytes: Above this, evict.
    :param low_bytes: Evict down to this.
    :param rss_limit_bytes: Process RSS that counts as pressure (None: not watched).
    :param rss_target_bytes: RSS to evict towards once the limit was passed.
    :param min_available_bytes: Host (or cgroup) available memory below which is pressure.
    """

    budget_bytes: int
    high_bytes: int
    low_bytes: int
    rss_limit_bytes: int | None
    rss_target_bytes: int | None
    min_available_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings, total_bytes: int) -> Budget:
        """
        :param settings: ``memory_budget_bytes`` (wins when set) or
            ``memory_budget_fraction`` of ``total_bytes``, the watermarks, ``rss_limit_bytes``
            and ``min_available_bytes``.
        :param total_bytes: Memory of the host or container.
        :return: The budget.
        :raise ValueError: If neither a byte budget nor a fraction is set.
        """
        if settings.memory_budget_bytes is not None:
            budget = settings.memory_budget_bytes
        elif settings.memory_budget_fraction is not None:
            budget = int(total_bytes * settings.memory_budget_fraction)
        else:
            msg = "set memory_budget_bytes or memory_budget_fraction"
            raise ValueError(msg)
        rss_limit = settings.rss_limit_bytes
        return cls(
            budget_bytes=budget,
            high_bytes=int(budget * settings.high_watermark),
            low_bytes=int(budget * settings.low_watermark),
            rss_limit_bytes=rss_limit,
            rss_target_bytes=(
                int(rss_limit * settings.low_watermark / settings.high_watermark)
                if rss_limit is not None
                else None
            ),
            min_available_bytes=settings.min_available_bytes,
        )


@dataclass(slots=True)
class GovernorMetrics:
    """What the governor did since it started."""

    probes: int = 0
    """psutil readings taken."""
    pressure_events: int = 0
    """Checks that found pressure and evicted."""
    results_evicted: int = 0
    bytes_freed: int = 0
    """Bytes of evicted results and dropped decoded chunks."""
    decoded_bytes_dropped: int = 0
    results_truncated: int = 0
    """Results stored shorter than their cap because they alone exceeded the budget."""
    library_page_outs: int = 0
    """Times clean library pages were paged out under RSS pressure."""
    cache_bytes: int = 0
    """Cache bytes at the last check."""
    peak_cache_bytes: int = 0
    peak_cache_items: int = 0
    """Cached events when the cache held the most bytes."""
    rss_bytes: int = 0
    """RSS at the last reading."""
    available_bytes: int = 0
    """Host (or cgroup) available memory at the last reading."""


class MemoryGovernor:
    """
    Evicts a :class:`SessionManager`'s results, least recently used first, under pressure.

    Registers itself with the manager on construction: it runs after every newly cached
    result and (rate-limited) after every page.

    :param manager: The sessions to govern.
    :param settings: Budget settings (default: the manager's).
    :param reader: Source of RSS and host memory (default: psutil, cgroup-aware).
    :param clock: Monotonic clock for the probe rate (tests pass a fake one).
    """

    def __init__(
        self,
        manager: SessionManager,
        settings: Settings | None = None,
        *,
        reader: MemoryReader | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.manager = manager
        self.settings = settings if settings is not None else manager.settings
        self.reader: MemoryReader = reader if reader is not None else PsutilReader()
        self.metrics = GovernorMetrics()
        self._clock = clock
        self._lock = threading.Lock()
        reading = self._read()
        self.budget = Budget.from_settings(self.settings, reading.total_bytes)
        self._last_probe = clock()
        self._last_reading = reading
        self._last_page_out: float | None = None
        # A zero interval means "probe on every call"; the loop still needs a pause.
        self._checker = PeriodicTask(
            "logpager-governor",
            lambda: asyncio.to_thread(self.enforce, probe=True),
            lambda: max(self.settings.probe_interval_seconds, 0.05),
        )
        self.enabled = self.settings.governor_enabled
        if self.enabled:
            manager.on_cached.append(self._after_cached)
            manager.on_paged = self.maybe_enforce
        logger.info(
            "memory governor %s: budget %d bytes (high %d, low %d), rss limit %s, "
            "host floor %d bytes",
            "on" if self.enabled else "off",
            self.budget.budget_bytes,
            self.budget.high_bytes,
            self.budget.low_bytes,
            self.budget.rss_limit_bytes,
            self.budget.min_available_bytes,
        )

    def _after_cached(self, _manager: SessionManager) -> None:
        self.enforce(probe=True)

    # --- limits for new results -----------------------------------------------------------------

    def max_result_bytes(self) -> int | None:
        """
        :return: The most compressed bytes one new result may hold: a result larger than the
            budget is stored truncated to this (the low watermark) instead of evicting every
            other result; None when the governor is off.
        """
        return self.budget.low_bytes if self.enabled else None

    def note_result(self, result: QueryResult) -> None:
        """
        Counts a new result that was stored shorter than its cap to fit the budget.

        :param result: A result built with :meth:`max_result_bytes` as its byte limit.
        """
        limit = self.max_result_bytes()
        cap = self.manager.max_cached_results
        if limit is not None and result.num_items < min(result.num_total_matches, cap):
            self.metrics.results_truncated += 1
            logger.info(
                "result of %r kept %d of %d events to fit the memory budget (%d bytes)",
                result.query,
                result.num_items,
                result.num_total_matches,
                limit,
            )

    # --- checks ---------------------------------------------------------------------------------

    def maybe_enforce(self) -> None:
        """Runs a check if the last psutil reading is older than the probe interval."""
        if self._clock() - self._last_probe >= self.settings.probe_interval_seconds:
            self.enforce(probe=True)

    def enforce(self, *, probe: bool = False) -> int:
        """
        Checks the signals and evicts until none signals pressure.

        Another thread already checking makes this call return at once.

        :param probe: Take a psutil reading even if the last one is recent.
        :return: Bytes freed.
        """
        if not self.enabled or not self._lock.acquire(blocking=False):
            return 0
        try:
            return self._enforce(probe)
        finally:
            self._lock.release()

    def _read(self) -> MemoryReading:
        self.metrics.probes += 1
        reading = self.reader.read()
        self.metrics.rss_bytes = reading.rss_bytes
        self.metrics.available_bytes = reading.available_bytes
        return reading

    def _reading(self, probe: bool) -> MemoryReading:
        now = self._clock()
        if probe and now - self._last_probe >= self.settings.probe_interval_seconds:
            self._last_reading = self._read()
            self._last_probe = now
        return self._last_reading

    def _target(self, cache: int, reading: MemoryReading) -> tuple[int, list[str]]:
        """:return: Cache bytes to get down to, and why (empty: no pressure)."""
        budget = self.budget
        reasons: list[str] = []
        target = cache
        if cache > budget.high_bytes:
            reasons.append(f"cache {cache} > high watermark {budget.high_bytes}")
            target = budget.low_bytes
        if (
            budget.rss_limit_bytes is not None
            and budget.rss_target_bytes is not None
            and reading.rss_bytes > budget.rss_limit_bytes
        ):
            reasons.append(f"rss {reading.rss_bytes} > limit {budget.rss_limit_bytes}")
            target = min(target, max(cache - (reading.rss_bytes - budget.rss_target_bytes), 0))
        if reading.available_bytes < budget.min_available_bytes:
            reasons.append(
                f"available {reading.available_bytes} < floor {budget.min_available_bytes}"
            )
            slack = budget.high_bytes - budget.low_bytes
            shortfall = budget.min_available_bytes - reading.available_bytes
            target = min(target, max(cache - shortfall - slack, 0))
        return target, reasons

    def _enforce(self, probe: bool) -> int:
        manager = self.manager
        reading = self._reading(probe)
        cache = manager.total_bytes()
        self._note_cache(cache)
        target, reasons = self._target(cache, reading)
        if not reasons:
            return 0
        self.metrics.pressure_events += 1
        cache_pressure = cache > self.budget.high_bytes
        dropped = manager.drop_decoded()
        self.metrics.decoded_bytes_dropped += dropped
        freed = dropped
        cache -= dropped
        evicted = 0
        lru = list(manager.iter_results_lru())
        # Only cache pressure may take the result in use: it is below the low watermark on
        # its own (results are truncated to fit), so taking it is never needed to get there.
        protected = None if cache_pressure or not lru else lru[-1][2]
        for session, handle, result in lru:
            if cache <= target:
                break
            if result is protected:
                continue
            got = manager.evict_result(session, handle)
            cache -= got
            freed += got
            evicted += 1
        self.metrics.results_evicted += evicted
        self.metrics.bytes_freed += freed
        self.metrics.cache_bytes = max(cache, 0)
        release_free_memory()
        self._page_out_under_rss_pressure(reading)
        if evicted or dropped:
            # The next check must see the memory this freed, not the reading that caused it.
            self._last_probe = self._clock() - self.settings.probe_interval_seconds
        logger.info(
            "memory pressure (%s): evicted %d result(s), dropped %d decoded bytes, freed %d "
            "bytes; cache now %d bytes",
            "; ".join(reasons),
            evicted,
            dropped,
            freed,
            cache,
        )
        return freed

    def _page_out_under_rss_pressure(self, reading: MemoryReading) -> None:
        """Drops clean library pages from RSS when RSS is the pressure (rate-limited)."""
        limit = self.budget.rss_limit_bytes
        if not self.settings.page_out_library_pages or limit is None or reading.rss_bytes <= limit:
            return
        now = self._clock()
        interval = self.settings.library_page_out_interval_seconds
        if self._last_page_out is not None and now - self._last_page_out < interval:
            return
        self._last_page_out = now
        page_out_library_pages()
        self.metrics.library_page_outs += 1

    def _note_cache(self, cache: int) -> None:
        self.metrics.cache_bytes = cache
        if cache > self.metrics.peak_cache_bytes:
            self.metrics.peak_cache_bytes = cache
            self.metrics.peak_cache_items = self.manager.total_items()

    # --- background checks ------------------------------------------------------------------------

    async def start(self) -> None:
        """
        Starts a background check every ``probe_interval_seconds`` (idempotent), so memory
        growth with no calls (a long search building) is seen too.
        """
        if self.enabled:
            await self._checker.start()

    async def stop(self) -> None:
        """Stops the background check."""
        await self._checker.stop()

    def snapshot(self) -> dict[str, Any]:
        """:return: The governor's and the sessions' counters, and the budget, as one dict."""
        return {
            "budget": asdict(self.budget),
            "governor": asdict(self.metrics),
            "sessions": asdict(self.manager.metrics),
        }
