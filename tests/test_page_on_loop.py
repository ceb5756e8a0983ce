"""``get_nth_page`` on the event loop or in a worker thread (``server/page_on_loop.py``).

Real servers over the real protocol (in memory, and one over HTTP), real clp-s archives of the
samples, a real Redis for the session store. Which path a page took is read from the
server's own ``GET /metrics`` (``logpager_page_calls_on_event_loop_total``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastmcp import Client, FastMCP

from harness.redis import RedisServer
from harness.servers import http_server
from logpager.server import create_server, page_on_loop
from logpager.sessions import SessionManager, new_handle
from logpager.settings import Settings
from tests.support.lock_holder import lock_held_elsewhere
from tests.support.scrape import base_url, get, samples

QUERY = "message: *error*"  # 947 hits in the samples: 95 pages of 10
MODES = ["auto", "legacy"]


async def call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


def page_counts(text: str) -> tuple[float, float]:
    """:return: Pages answered, and of those the ones answered on the event loop."""
    values = samples(text)
    return (
        values[("logpager_page_calls_total", ())],
        values[("logpager_page_calls_on_event_loop_total", ())],
    )


async def scrape(server: FastMCP) -> tuple[float, float]:
    """:return: :func:`page_counts` of an in-memory server's own ``GET /metrics``."""
    transport = httpx2.ASGITransport(app=server.http_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return page_counts(response.text)


def without_handles(answer: Any, handles: set[str]) -> Any:
    """:return: ``answer`` with the (random) handles named as such."""
    if isinstance(answer, dict):
        return {k: without_handles(v, handles) for k, v in answer.items()}
    if isinstance(answer, str):
        for handle in handles:
            answer = answer.replace(handle, "<handle>")
    return answer


async def script(client: Client[Any], mode: str) -> list[Any]:
    """Pages, errors, caps and handles of every kind; :return: every answer in order."""
    unknown = new_handle()
    answers = [await call(client, "get_nth_page", page_index=0)]  # nothing to page yet
    if mode == "legacy":
        answers.append(await call(client, "search_by_kql", kql_query=QUERY))  # first call
        answers.append(await call(client, "get_nth_page", page_index=0))  # instructions first
    await call(client, "get_instructions")
    first = await call(client, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    answers.append(first)
    for index in (1, 5, 12, 94, 95, -1, "3", True, 2.0):
        answers.append(await call(client, "get_nth_page", page_index=index, result_handle=handle))
    for cap in (20, 19, "20", 400):
        answers.append(
            await call(
                client, "get_nth_page", page_index=7, result_handle=handle, max_item_chars=cap
            )
        )
    answers.append(await call(client, "get_nth_page", page_index=3, result_handle=unknown))
    answers.append(await call(client, "get_nth_page", page_index=3))  # the latest, or none
    handles = {handle} | {a.get("result_handle", "") for a in answers if isinstance(a, dict)}
    return [without_handles(a, handles - {""}) for a in answers]


@pytest.mark.parametrize("mode", MODES)
async def test_both_paths_answer_alike(loghub_archives: Path, mode: str) -> None:
    answers: dict[bool, list[Any]] = {}
    for on_loop in (True, False):
        server = create_server(Settings(data_dir=loghub_archives, page_on_event_loop=on_loop))
        async with Client(server, mode=mode) as client:
            answers[on_loop] = await script(client, mode)
        calls, on_event_loop = await scrape(server)
        assert calls == sum(1 for _ in answers[on_loop]) - 1 - (mode == "legacy")
        assert on_event_loop == (calls if on_loop else 0)
    assert answers[True] == answers[False]
    # The script reached pages, cut items and errors of each kind.
    texts = [str(a) for a in answers[True]]
    assert any("'page_index': 94" in t for t in texts)
    assert any("num_items_cut" in t for t in texts)
    assert sum("Invalid page index" in t for t in texts) == 5
    assert sum("Invalid max_item_chars" in t for t in texts) == 2


@pytest.fixture
async def paging(loghub_archives: Path) -> AsyncIterator[tuple[FastMCP, SessionManager, Any]]:
    """A server, its session manager, and a client that searched (the first page read)."""
    settings = Settings(data_dir=loghub_archives)
    manager = SessionManager(settings=settings)
    server = create_server(settings, manager=manager)
    async with Client(server) as client:
        await call(client, "get_instructions")
        yield server, manager, client


async def test_a_held_page_is_answered_on_the_loop(
    paging: tuple[FastMCP, SessionManager, Any],
) -> None:
    server, _manager, client = paging
    first = await call(client, "search_by_kql", kql_query=QUERY)
    for index in (3, 40, 3):
        page = await call(
            client, "get_nth_page", page_index=index, result_handle=first["result_handle"]
        )
        assert page["page_index"] == index
    assert await scrape(server) == (3, 3)


async def test_a_page_waits_in_a_thread_while_another_thread_holds_the_lock(
    paging: tuple[FastMCP, SessionManager, Any],
) -> None:
    server, manager, client = paging
    first = await call(client, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    expected = await call(client, "get_nth_page", page_index=9, result_handle=handle)
    with lock_held_elsewhere(manager):
        waiting = asyncio.create_task(
            call(client, "get_nth_page", page_index=9, result_handle=handle)
        )
        # The call is counted when it starts, in its worker thread, before it waits for the
        # lock; meanwhile the loop answers (the scrape) and the page does not come.
        for _ in range(3000):
            if (await scrape(server))[0] == 2:
                break
            await asyncio.sleep(0.01)
        assert await scrape(server) == (2, 1)
        assert not waiting.done()
    assert await waiting == expected
    assert await scrape(server) == (2, 1)


async def test_an_evicted_result_is_rerun_in_a_thread(
    paging: tuple[FastMCP, SessionManager, Any],
) -> None:
    server, manager, client = paging
    first = await call(client, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    expected = await call(client, "get_nth_page", page_index=20, result_handle=handle)
    ((session, held, _result),) = list(manager.iter_results_lru())
    assert held == handle
    assert manager.evict_result(session, handle) > 0
    assert await call(client, "get_nth_page", page_index=20, result_handle=handle) == expected
    assert manager.metrics.reruns == 1
    assert await scrape(server) == (2, 1)
    # Held again: back on the loop.
    assert await call(client, "get_nth_page", page_index=20, result_handle=handle) == expected
    assert await scrape(server) == (3, 2)


async def test_pages_a_redis_store_holds_are_read_in_a_thread(
    loghub_archives: Path, redis_server: RedisServer
) -> None:
    settings = Settings(data_dir=loghub_archives, store_url=redis_server.url)
    one, other = create_server(settings), create_server(settings)
    async with Client(one) as client:
        await call(client, "get_instructions")
        first = await call(client, "search_by_kql", kql_query=QUERY)
        handle = first["result_handle"]
        # The result's chunks went to the store: a cold chunk is read from it in a thread,
        # then its decoded rows are held here and the same page is served on the loop.
        cold = await call(client, "get_nth_page", page_index=50, result_handle=handle)
        assert await scrape(one) == (1, 0)
        assert await call(client, "get_nth_page", page_index=50, result_handle=handle) == cold
        assert await scrape(one) == (2, 1)
    async with Client(other) as client:
        # Another process adopts the handle from the store (in a thread), then holds it.
        assert await call(client, "get_nth_page", page_index=50, result_handle=handle) == cold
        assert await scrape(other) == (1, 0)
        assert await call(client, "get_nth_page", page_index=50, result_handle=handle) == cold
        assert await scrape(other) == (2, 1)


async def test_a_client_over_http_pages_on_the_loop(loghub_archives: Path) -> None:
    async with http_server(loghub_archives) as endpoint:
        async with Client(endpoint) as client:
            await call(client, "get_instructions")
            first = await call(client, "search_by_kql", kql_query=QUERY)
            pages = [
                await call(
                    client, "get_nth_page", page_index=i, result_handle=first["result_handle"]
                )
                for i in (0, 1, 94)
            ]
        status, text = await get(base_url(endpoint) + "/metrics")
    assert status == 200
    assert [p["page_index"] for p in pages] == [0, 1, 94]
    assert page_counts(text) == (3, 3)


async def test_a_failure_deciding_where_to_page_falls_back_to_a_thread(
    paging: tuple[FastMCP, SessionManager, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _manager, client = paging
    first = await call(client, "search_by_kql", kql_query=QUERY)
    handle = first["result_handle"]
    expected = await call(client, "get_nth_page", page_index=4, result_handle=handle)

    def broken(*_args: object) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(page_on_loop, "page_target", broken)
    assert await call(client, "get_nth_page", page_index=4, result_handle=handle) == expected
    assert await scrape(server) == (2, 1)
    assert "deciding where get_nth_page runs failed" in caplog.text


@pytest.mark.parametrize("on_loop", [True, False])
async def test_the_after_page_hook_runs_once_a_page_on_either_path(
    loghub_archives: Path, on_loop: bool
) -> None:
    settings = Settings(data_dir=loghub_archives, page_on_event_loop=on_loop)
    manager = SessionManager(settings=settings)
    server = create_server(settings, manager=manager)
    ran_on: list[int] = []
    manager.on_paged = lambda: ran_on.append(threading.get_ident())
    async with Client(server) as client:
        await call(client, "get_instructions")
        first = await call(client, "search_by_kql", kql_query=QUERY)
        ran_on.clear()
        loop_thread = threading.get_ident()
        for index in (2, 60, 2):
            await call(
                client, "get_nth_page", page_index=index, result_handle=first["result_handle"]
            )
    assert len(ran_on) == 3
    assert all((ident == loop_thread) is on_loop for ident in ran_on)
