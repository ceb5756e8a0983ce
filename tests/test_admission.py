"""Search admission: slots, a first-in first-out queue behind them, the busy error beyond."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.server import create_server
from logpager.server.admission import Admission, ServerBusyError
from logpager.settings import Settings, load_settings
from tests.support.busy_data import BROAD_QUERY, make_busy_data_dir, slow_settings


@pytest.fixture(scope="module")
def busy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_busy_data_dir(tmp_path_factory.mktemp("busy"))


def test_defaults_one_search_per_core_and_edge_runs_one() -> None:
    assert Settings().max_concurrent_searches == (os.cpu_count() or 1)
    assert load_settings(profile="edge").max_concurrent_searches == 1


async def test_queue_is_first_in_first_out_and_bounded() -> None:
    admission = Admission(1, 2)
    order: list[int] = []
    release = asyncio.Event()

    async def search(n: int) -> None:
        async with admission.slot():
            order.append(n)
            await release.wait()

    first = asyncio.create_task(search(0))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(search(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    assert (admission.running, admission.queued) == (1, 2)
    with pytest.raises(ServerBusyError, match="1 searches are running and 2 waiting"):
        async with admission.slot():
            pass
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == [0, 1, 2]
    assert (admission.running, admission.queued) == (0, 0)


async def test_a_cancelled_waiter_leaves_the_queue_and_takes_nothing() -> None:
    admission = Admission(1, 5)
    release = asyncio.Event()
    order: list[int] = []

    async def search(n: int) -> None:
        async with admission.slot():
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(search(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert (admission.running, admission.queued) == (1, 2)
    tasks[1].cancel()
    await asyncio.sleep(0)
    assert (admission.running, admission.queued) == (1, 1)
    release.set()
    await asyncio.gather(tasks[0], tasks[2])
    assert order == [0, 2]
    assert (admission.running, admission.queued) == (0, 0)


async def test_a_slot_handed_to_a_cancelled_waiter_passes_on() -> None:
    admission = Admission(1, 5)
    gate = asyncio.Event()

    async def hold() -> None:
        async with admission.slot():
            await gate.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    second = asyncio.create_task(hold())
    third = asyncio.create_task(hold())
    await asyncio.sleep(0)
    gate.set()
    await holder  # hands the slot to `second`, whose task is cancelled before it runs
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    await third
    assert (admission.running, admission.queued) == (0, 0)


async def test_more_searches_than_slots_and_queue_get_the_busy_error(busy_data: Path) -> None:
    # Slow reads: the first search is sure to hold its slot while the others arrive.
    settings = slow_settings(busy_data, max_concurrent_searches=1, max_queued_searches=1)
    server = create_server(settings)
    finished: list[int] = []

    async with Client(server, mode="legacy") as client:
        await client.call_tool("get_instructions", {})

        async def search(n: int) -> tuple[int, Any, float]:
            # Distinct queries: an identical live result would be reused without a slot.
            query = f"{BROAD_QUERY} AND NOT user_id: nobody-{n}"
            began = time.monotonic()
            got = await client.call_tool("search_by_kql", {"kql_query": query})
            finished.append(n)
            return n, got.structured_content, time.monotonic() - began

        tasks = []
        for n in range(4):
            tasks.append(asyncio.create_task(search(n)))
            await asyncio.sleep(0.2)
        answers = await asyncio.gather(*tasks)

    busy = [(n, seconds) for n, got, seconds in answers if got is not None and "Error" in got]
    assert [n for n, _ in busy] == [2, 3]
    for n, seconds in busy:
        assert seconds < 1.0, f"search {n} waited {seconds:.1f} s for its busy error"
        got = answers[n][1]
        assert "busy" in got["Error"]
        assert "retry" in got["Error"]
        assert "1 searches are running and 1 waiting" in got["Error"]
    for n in (0, 1):
        assert answers[n][1]["num_total_matches"] == 300_000
    assert finished[-2:] == [0, 1]
