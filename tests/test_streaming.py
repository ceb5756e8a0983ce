"""The streaming build: the same pages as the build after the search, whatever the hits' order.

Hits go through the search's own collector (:class:`~logpager.search.hits.HitCollector`) as
``clp-s`` reports them, once with a streaming build and once without; both results must serve
byte-identical pages (items, counts, truncation).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from logpager.cache import QueryResult, ResultBuilder
from logpager.cache.alignment import ChunkAlignment
from logpager.cache.chunks import HeldChunks
from logpager.cache.stored import encode_meta, held_chunks, restore_result
from logpager.cache.streaming import StreamingBuild
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.hits import HitCollector
from logpager.search.pipeline import search_and_cache
from logpager.settings import Settings
from tests.support.clock import FakeClock

Hit = tuple[int, bytes, bytes, bytes, int]

SMALL = {
    "page_size": 3,
    "pages_per_chunk": 2,  # chunks of 6 rows
    "search_block_rows": 5,
    "search_batch_rows": 7,
    "build_group_rows": 12,
    "max_sorted_runs": 3,
}


def _settings(**extra: object) -> Settings:
    return Settings(**{**SMALL, **extra})  # type: ignore[arg-type]


def _hit(ts: int, archive: str, index: int) -> Hit:
    text = f'{{"t": {ts}, "archive": "{archive}", "i": {index}, "msg": "event {index}"}}\n'
    return (ts, text.encode(), b"/logs/x", archive.encode(), index)


def _build(
    hits: list[Hit],
    settings: Settings,
    *,
    cap: int,
    stream: bool,
    limit: int | None = None,
    read: int = 4,
) -> tuple[QueryResult, bool]:
    """Runs hits through the search's collector as reads of ``read`` hits, then builds."""
    builder = ResultBuilder(
        QuerySpec("q", max_results=cap),
        settings=settings,
        max_compressed_bytes=limit,
        clock=FakeClock(),
    )
    streaming = StreamingBuild(builder, settings) if stream else None
    collector = HitCollector(builder.cap, settings, builder.prime, streaming)
    try:
        for start in range(0, len(hits), read):
            collector.add(list(hits[start : start + read]))
        merged = collector.finish()
        if collector.streamed:
            assert streaming is not None
            result = streaming.finish(total_matches=collector.total)
        else:
            result = builder.build(merged.drain(), total_matches=collector.total)
    finally:
        builder.close()
        if streaming is not None:
            streaming.close()
    result.check()
    return result, collector.streamed


def _pages(result: QueryResult) -> list[dict[str, object]]:
    return [result.get_page(i) for i in range(max(result.num_pages, 1))]


def _rows(result: QueryResult) -> list[dict[str, object]]:
    return [row for batch in result.record_batches() for row in batch.to_pylist()]


def _archives(sizes: list[int], order: list[int], *, gap: int = 1) -> list[Hit]:
    """Archives of consecutive events, each in time order, disjoint in time, reported in
    ``order``."""
    hits: list[list[Hit]] = []
    ts = 1_000
    for number, size in enumerate(sizes):
        name = f"archive-{number:02d}"
        hits.append([_hit(ts + i * 7, name, i) for i in range(size)])
        ts += size * 7 + gap
    return [hit for i in order for hit in hits[i]]


@st.composite
def _arrivals(draw: st.DrawFn) -> tuple[list[Hit], int]:
    """Hits of up to four archives in any arrival order, and a cap."""
    sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))
    order = draw(st.permutations(range(len(sizes))))
    hits = _archives(sizes, order)
    how = draw(st.sampled_from(["in order", "shuffled", "overlapping", "no timestamps"]))
    if how == "shuffled":
        hits = draw(st.permutations(hits))
    elif how == "overlapping" and hits:
        # Another archive over the same time as the first ones.
        hits += [_hit(ts + 3, "archive-99", i) for i, (ts, *_) in enumerate(hits[:9])]
    elif how == "no timestamps" and hits:
        flags = draw(st.lists(st.booleans(), min_size=len(hits), max_size=len(hits)))
        hits = [
            (0 if flag else ts, text, path, archive, index)
            for (ts, text, path, archive, index), flag in zip(hits, flags, strict=True)
        ]
    total = len(hits)
    cap = draw(st.integers(1, total + 5))
    return hits, cap


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_arrivals(), st.integers(1, 9), st.booleans())
def test_streaming_and_plain_builds_serve_identical_pages(
    case: tuple[list[Hit], int], read: int, primed: bool
) -> None:
    hits, cap = case
    # Primed: the collector hands a sample to train the dictionary on after 10 hits.
    settings = _settings(dictionary_training_rows=10) if primed else _settings()
    streamed, _ = _build(hits, settings, cap=cap, stream=True, read=read)
    plain, was_streamed = _build(hits, settings, cap=cap, stream=False, read=read)
    assert not was_streamed
    assert _pages(streamed) == _pages(plain)
    assert list(streamed.iter_items()) == list(plain.iter_items())
    # The chunks differ (aligned otherwise), their rows do not.
    assert _rows(streamed) == _rows(plain)
    assert len(_rows(streamed)) == streamed.num_items


def test_archives_in_time_order_stream_and_overlapping_ones_fall_back() -> None:
    settings = _settings()
    in_order = _archives([20, 13, 30], [1, 0, 2])
    result, streamed = _build(in_order, settings, cap=100, stream=True)
    assert streamed
    # One segment per archive, the newest first; each one's first chunk is the short one.
    assert result.alignment.segments == [(0, 0, 0), (30, 5, 5), (43, 8, 4)]
    overlapping = [*in_order, _hit(1010, "archive-99", 0)]
    result, streamed = _build(overlapping, settings, cap=100, stream=True)
    assert not streamed
    assert result.alignment.segments == [(0, 0, 0)]
    assert result.num_items == 64


def test_one_segment_too_many_falls_back_with_the_same_pages() -> None:
    hits = _archives([20, 13, 30], [1, 0, 2])
    plain, _ = _build(hits, _settings(), cap=100, stream=False)
    result, streamed = _build(hits, _settings(streaming_max_segments=2), cap=100, stream=True)
    assert not streamed
    assert _pages(result) == _pages(plain)


def test_a_page_straddles_two_chunks() -> None:
    settings = _settings()
    hits = _archives([16], [0])
    streamed, _ = _build(hits, settings, cap=100, stream=True)
    plain, _ = _build(hits, settings, cap=100, stream=False)
    # 16 rows in chunks of 6 from the oldest: 4, 6, 6. Page 1 (rows 3-5) spans chunks 0, 1.
    assert streamed.alignment.segments == [(0, 0, 2)]
    assert [streamed.alignment.locate(i)[0] for i in (3, 4)] == [0, 1]
    assert streamed.get_page(1) == plain.get_page(1)
    assert len(streamed.get_page(1)["items"]) == 3


@pytest.mark.parametrize("cap", [1, 5, 6, 7, 12, 40, 95])
def test_the_cap_keeps_the_latest_rows_and_counts_every_match(cap: int) -> None:
    settings = _settings()
    hits = _archives([30, 25, 40], [2, 0, 1])
    streamed, was_streamed = _build(hits, settings, cap=cap, stream=True)
    plain, _ = _build(hits, settings, cap=cap, stream=False)
    assert was_streamed
    assert streamed.num_items == min(cap, 95) == plain.num_items
    assert streamed.num_total_matches == 95
    assert streamed.truncated == (cap < 95)
    assert _pages(streamed) == _pages(plain)
    # Whole oldest chunks were dropped: at most one chunk's rows past the cap are held.
    held = sum(len(c) > 0 for c in held_chunks(streamed)) * 6
    assert held - 6 < max(cap, 6) + 6 * len(streamed.alignment.segments)


def test_the_byte_limit_keeps_the_latest_rows() -> None:
    settings = _settings()
    hits = _archives([60, 50], [0, 1])
    whole, _ = _build(hits, settings, cap=500, stream=True)
    limit = whole.compressed_bytes // 3
    streamed, was_streamed = _build(hits, settings, cap=500, stream=True, limit=limit)
    assert was_streamed
    assert streamed.compressed_bytes <= limit
    assert 0 < streamed.num_items < whole.num_items
    assert streamed.truncated
    assert streamed.num_total_matches == 110
    items = list(whole.iter_items())
    assert list(streamed.iter_items()) == items[: streamed.num_items]


def test_one_chunk_is_kept_whatever_the_byte_limit() -> None:
    settings = _settings()
    streamed, _ = _build(_archives([30], [0]), settings, cap=500, stream=True, limit=1)
    assert streamed.num_chunks == 1
    assert streamed.num_items == 6  # the newest chunk, a whole one here (30 = 5 x 6)


def test_a_streamed_result_restores_from_its_stored_record() -> None:
    settings = _settings()
    result, _ = _build(_archives([20, 13, 30], [1, 0, 2]), settings, cap=50, stream=True)
    meta = encode_meta(result, created_wall=1_000.0)
    restored = restore_result(
        meta,
        HeldChunks(held_chunks(result)),
        settings=settings,
        clock=FakeClock(),
        wall=lambda: 1_000.0,
    )
    assert restored.alignment.segments == result.alignment.segments
    assert _pages(restored) == _pages(result)
    restored.check()


def test_alignment_rejects_segments_that_do_not_follow() -> None:
    with pytest.raises(ValueError, match="item 0"):
        ChunkAlignment(6, [(1, 0, 0)])
    with pytest.raises(ValueError, match="follow"):
        ChunkAlignment(6, [(0, 0, 0), (0, 1, 0)])
    with pytest.raises(ValueError, match="lead"):
        ChunkAlignment(6, [(0, 0, 6)])


@pytest.mark.parametrize("query", ["*", "error"])
def test_real_searches_build_the_same_pages_streamed_or_not(
    loghub_archives: Path, query: str
) -> None:
    """The five loghub samples (text logs, one archive each): every archive alone, then all
    of them at once (where archives that overlap in time end the streaming)."""
    backend_settings = Settings(data_dir=loghub_archives, max_cached_results=10_000)
    archives = ClpSBackend(backend_settings).list_archives()
    streamed_any = False
    for chosen in [*((a,) for a in archives), None]:
        spec = QuerySpec(query, archive_ids=chosen)
        results = []
        for streaming in (True, False):
            settings = Settings(
                data_dir=loghub_archives, max_cached_results=10_000, streaming_build=streaming
            )
            result, outcome = search_and_cache(ClpSBackend(settings), spec, settings=settings)
            result.check()
            results.append(result)
            streamed_any |= outcome.streamed
            if not streaming:
                assert not outcome.streamed
        streamed, plain = results
        assert _pages(streamed) == _pages(plain), (chosen, query)
    assert streamed_any
