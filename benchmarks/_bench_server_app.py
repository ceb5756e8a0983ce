"""The logpager MCP server plus ``constant_page``, a tool that exists only for benchmarks.

``constant_page`` takes ``get_nth_page``'s arguments and returns the same page-sized dict on
every call (a real page of the same data, built once at startup), so a round trip to it costs
the transport and FastMCP and nothing of logpager's paging: the floor that
``benchmarks/bench_server.py`` compares ``get_nth_page`` against, on the same server in the
same run. It is registered here, never in the product.

``LOGPAGER_BENCH_SLOW_PAGE_MS`` (benchmarks only) makes every ``get_nth_page`` spend that
many more milliseconds of CPU, a deliberate regression that the benchmark gate's own test
(``tests/test_benchgate.py``) must catch; the product never reads it.

Run (settings from ``LOGPAGER_*`` variables, as ``logpager serve``)::

    python benchmarks/_bench_server_app.py
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastmcp import Context, FastMCP
from pydantic import WithJsonSchema

from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.server import PAGE_INDEX_SCHEMA, create_server, run_server
from logpager.sessions import SessionManager
from logpager.settings import Settings, load_settings

__all__ = ["CONSTANT_QUERY", "SLOW_PAGE_VARIABLE", "build_constant_page", "create_bench_server"]

CONSTANT_QUERY = "*"
SLOW_PAGE_VARIABLE = "LOGPAGER_BENCH_SLOW_PAGE_MS"


def slow_page_fetch(seconds: float) -> None:
    """
    Makes every ``SessionManager.page`` (the server's page fetch) of this process busy its
    thread for ``seconds`` more: CPU spent, as a real regression would, not a sleep another
    request could overlap.

    :param seconds: Extra CPU time per page fetch.
    """
    fetch: Callable[..., Any] = SessionManager.page

    @functools.wraps(fetch)
    def slowed(self: SessionManager, *args: Any, **kwargs: Any) -> Any:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            pass
        return fetch(self, *args, **kwargs)

    SessionManager.page = slowed  # type: ignore[method-assign]


def build_constant_page(settings: Settings) -> dict[str, Any]:
    """
    :param settings: Settings (data directory, page size).
    :return: Page 0 of ``CONSTANT_QUERY`` over the data, built by the real engine and cache,
        so it has the size and shape of what ``get_nth_page`` returns.
    """
    outcome = ClpSBackend(settings).search(
        QuerySpec(CONSTANT_QUERY, max_results=settings.page_size)
    )
    manager = SessionManager(settings=settings)
    manager.mark_instructions_retrieved("constant")
    page, _ = manager.cache_query_result(
        "constant",
        CONSTANT_QUERY,
        outcome.batches,
        total_matches=outcome.total_matches,
        archive_ids=outcome.archive_ids,
    )
    return page


def create_bench_server(settings: Settings) -> FastMCP:
    """
    :param settings: Settings.
    :return: ``create_server(settings)`` with ``constant_page`` added.
    """
    mcp = create_server(settings)
    page = build_constant_page(settings)

    # The same parameters as get_nth_page (context injection and argument validation
    # included), and answered where get_nth_page answers a held page (on the event loop, an
    # async tool), so that the difference between the two is logpager's own work.
    @mcp.tool
    async def constant_page(
        page_index: Annotated[object, WithJsonSchema(PAGE_INDEX_SCHEMA)],
        ctx: Context,
        result_handle: str | None = None,
    ) -> dict[str, Any]:
        """
        Returns the same page whatever the arguments (benchmarks only).

        :param page_index: Ignored.
        :param result_handle: Ignored.
        """
        return page

    return mcp


if __name__ == "__main__":
    # Popped before the settings load: it is the benchmark's variable, not a setting.
    _slow_ms = float(os.environ.pop(SLOW_PAGE_VARIABLE, "0") or 0)
    if _slow_ms > 0:
        slow_page_fetch(_slow_ms / 1e3)
    _settings = load_settings()
    run_server(_settings, server=create_bench_server(_settings))
