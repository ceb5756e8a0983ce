"""Re-running evicted results with the real engine: same archives, same pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastmcp import Client

from logpager.ingest import ingest
from logpager.memory.governor import MemoryGovernor
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.search.rerun import make_rerunner
from logpager.server import create_server
from logpager.sessions import SessionManager
from logpager.settings import Settings
from tests.support.loghub import LOGHUB

QUERY = "message: *error*"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ingest([LOGHUB / "Apache_2k.log"], data_dir=data, default_year=2020)
    return data


def _all_pages(manager: SessionManager, session: str, handle: str) -> list[list[str]]:
    first = manager.get_nth_page(session, 0, handle)
    return [
        manager.get_nth_page(session, i, handle)["items"] for i in range(first["num_total_pages"])
    ]


def test_rerun_after_new_ingest_gives_the_same_pages(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, require_instructions=False, max_cached_results=5000)
    backend = ClpSBackend(settings)
    manager = SessionManager(settings=settings, rerun=make_rerunner(backend, settings))
    result, _ = search_and_cache(backend, QuerySpec(QUERY), settings=settings)
    page, _ = manager.cache_query_result("s", QUERY, result, archive_ids=result.archive_ids)
    handle = page["result_handle"]
    before = _all_pages(manager, "s", handle)
    matches = page["num_total_matches"]
    assert matches > 10

    session = manager.sessions["s"]
    assert manager.evict_result(session, handle) > 0
    # New data that matches the query arrives after the first run...
    ingest([LOGHUB / "Apache_2k.log"], data_dir=data_dir, default_year=2021)
    fresh, _ = search_and_cache(backend, QuerySpec(QUERY), settings=settings)
    assert fresh.num_total_matches == 2 * matches
    # ...but the re-run sees only the archives of the first run.
    after = _all_pages(manager, "s", handle)
    assert after == before
    assert manager.get_nth_page("s", 0, handle)["num_total_matches"] == matches
    assert manager.metrics.reruns == 1
    manager.check()


def test_rerun_of_a_deleted_archive_is_a_clear_error(data_dir: Path) -> None:
    import shutil

    settings = Settings(data_dir=data_dir, require_instructions=False)
    backend = ClpSBackend(settings)
    manager = SessionManager(settings=settings, rerun=make_rerunner(backend, settings))
    result, _ = search_and_cache(backend, QuerySpec(QUERY), settings=settings)
    page, _ = manager.cache_query_result("s", QUERY, result)
    manager.evict_result(manager.sessions["s"], page["result_handle"])
    for archive in result.archive_ids:
        shutil.rmtree(data_dir / "archives" / archive)
    ingest([LOGHUB / "Linux_2k.log"], data_dir=data_dir, default_year=2020)
    error = manager.get_nth_page("s", 1)["Error"]
    assert "evicted under memory pressure" in error
    assert QUERY in error


async def test_server_reruns_what_its_governor_evicted(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, max_cached_results=5000)
    one, _ = search_and_cache(ClpSBackend(settings), QuerySpec(QUERY), settings=settings)
    # A budget that holds one result: the second search evicts the first.
    tight = settings.model_copy(update={"memory_budget_bytes": int(one.compressed_bytes * 1.5)})
    manager = SessionManager(settings=tight)
    governor = MemoryGovernor(manager)
    server = create_server(tight, manager=manager, governor=governor)
    async with Client(server, mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        first = (await client.call_tool("search_by_kql", {"kql_query": QUERY})).structured_content
        assert first is not None
        page3 = await client.call_tool(
            "get_nth_page", {"page_index": 3, "result_handle": first["result_handle"]}
        )
        other = await client.call_tool("search_by_kql", {"kql_query": "message: *jk2_init*"})
        assert other.structured_content is not None
        assert "Error" not in other.structured_content
        assert governor.metrics.results_evicted >= 1
        again = await client.call_tool(
            "get_nth_page", {"page_index": 3, "result_handle": first["result_handle"]}
        )
        assert again.structured_content == page3.structured_content
        assert manager.metrics.reruns == 1
