"""Search and build overlapped: same result as searching then caching, nothing left behind."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest

from logpager.cache import QueryResult
from logpager.errors import BackendCrashedError
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend, find_clp_s
from logpager.search.pipeline import search_and_cache, search_and_cache_async
from logpager.settings import Settings
from logpager.synthetic import write_events


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    write_events(root / "events.jsonl", 30_000, seed=11)
    ingest([root / "events.jsonl"], data_dir=root / "data")
    return root / "data"


def _compress_threads_gone() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(t.name.startswith("logpager-compress") for t in threading.enumerate()):
            return True
        time.sleep(0.01)
    return False


def _pages(result: QueryResult) -> list[list[str]]:
    return [result.get_page(i)["items"] for i in range(0, result.num_pages, 97)]


def test_same_result_as_search_then_cache(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, max_cached_results=4_000)
    result, outcome = search_and_cache(
        ClpSBackend(settings), QuerySpec("level: INFO"), settings=settings
    )
    again = ClpSBackend(settings).search(QuerySpec("level: INFO"))
    plain = QueryResult.from_batches(
        again.batches, settings=settings, total_matches=again.total_matches, presorted=True
    )
    assert (result.num_items, result.num_total_matches) == (4_000, again.total_matches)
    assert result.truncated
    assert result.archive_ids == again.archive_ids == outcome.archive_ids
    assert _pages(result) == _pages(plain)
    result.check()
    assert _compress_threads_gone()


async def test_async_and_byte_limit(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, max_cached_results=100_000)
    full, _ = await search_and_cache_async(ClpSBackend(settings), QuerySpec("*"), settings=settings)
    limit = full.compressed_bytes // 4
    cut, outcome = await search_and_cache_async(
        ClpSBackend(settings), QuerySpec("*"), settings=settings, max_compressed_bytes=limit
    )
    assert outcome.total_matches == cut.num_total_matches == 30_000
    assert 0 < cut.num_items < 30_000
    assert cut.compressed_bytes <= limit
    assert _pages(cut) == _pages(full)[: len(_pages(cut))]
    assert _compress_threads_gone()


def test_crash_mid_stream_caches_nothing_and_leaves_no_threads(
    data_dir: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "fake-clp-s"
    fake.write_text(f"#!/bin/sh\n'{find_clp_s()}' \"$@\"\nkill -9 $$\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    settings = Settings(data_dir=data_dir, clp_s_path=fake, max_cached_results=100_000)
    with pytest.raises(BackendCrashedError, match="SIGKILL"):
        search_and_cache(ClpSBackend(settings), QuerySpec("*"), settings=settings)
    assert _compress_threads_gone()
