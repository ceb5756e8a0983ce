"""QueryResult: page arithmetic, ordering, truncation, compression and accounting."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.cache import QueryResult, validate_page_index
from logpager.errors import InvalidPageIndexError
from logpager.schema import RESULT_SCHEMA
from logpager.settings import Settings
from tests.conftest import make_events


def all_items(result: QueryResult) -> list[str]:
    out: list[str] = []
    for i in range(result.num_pages):
        out.extend(result.get_page(i)["items"])
    return out


@pytest.mark.parametrize(
    ("n", "page_size", "pages", "last_len"),
    [
        (0, 10, 0, 0),
        (1, 10, 1, 1),
        (30, 10, 3, 10),
        (31, 10, 4, 1),
        (5, 50, 1, 5),
    ],
)
def test_page_arithmetic_edges(n, page_size, pages, last_len):
    items = [f"item {i}" for i in range(n)]
    r = QueryResult.from_items(items, page_size=page_size)
    assert r.num_pages == pages
    last = r.get_page(max(pages - 1, 0))
    assert len(last["items"]) == last_len
    assert last["num_total_pages"] == pages
    assert last["num_total_items"] == n
    assert last["num_items_per_page"] == page_size
    assert last["has_next"] is False
    assert last["has_previous"] is (pages > 1)
    first = r.get_page(0)
    assert first["has_previous"] is False
    assert first["has_next"] is (pages > 1)
    assert all_items(r) == items
    r.check()


def test_empty_result_has_one_empty_page_and_rejects_page_1():
    r = QueryResult.from_items([])
    page = r.get_page(0)
    assert page["items"] == []
    with pytest.raises(InvalidPageIndexError, match=r"Valid range: 0-0"):
        r.get_page(1)


@pytest.mark.parametrize("bad", [-1, 4, 10**30, True, False, 1.0, "1", None, [1]])
def test_invalid_page_index(bad):
    r = QueryResult.from_items([f"x{i}" for i in range(40)])
    with pytest.raises(InvalidPageIndexError) as exc:
        r.get_page(bad)
    assert str(exc.value) == "Invalid page index. Valid range: 0-3"


def test_validate_page_index_accepts_in_range_int():
    assert validate_page_index(2, 3) == 2


@hsettings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 700),
    page_size=st.integers(1, 37),
    pages_per_chunk=st.integers(1, 9),
)
def test_pages_concatenate_to_input_order(n, page_size, pages_per_chunk):
    items = [f"line {i} {'x' * (i % 13)}" for i in range(n)]
    s = Settings(page_size=page_size, pages_per_chunk=pages_per_chunk, max_cached_results=10**6)
    r = QueryResult.from_items(items, settings=s)
    assert all_items(r) == items
    assert list(r.iter_items()) == items
    r.check()


def test_batches_are_ordered_latest_first_and_formatted():
    batch = make_events(25)
    r = QueryResult.from_batches([batch], query="level: INFO")
    first = r.get_page(0)["items"][0]
    assert first == (
        'timestamp: 2023-11-14T22:13:44.000Z, message: {"level":"INFO","message":"event 24"}, '
        "link: clp://arch-1/24"
    )
    items = all_items(r)
    assert [int(x.split("event ")[1].split('"')[0]) for x in items] == list(range(24, -1, -1))


def test_missing_timestamp_and_link_show_na():
    r = QueryResult.from_items(
        [{"timestamp": None, "message": "no time"}, {"timestamp": 5, "message": "t"}]
    )
    items = all_items(r)
    assert items[0] == "timestamp: 1970-01-01T00:00:00.005Z, message: t, link: N/A"
    assert items[1] == "timestamp: N/A, message: no time, link: N/A"


def test_truncation_keeps_latest_and_reports_true_total():
    batch = make_events(2500)
    r = QueryResult.from_batches([batch], max_cached_results=1000)
    assert r.num_items == 1000
    assert r.num_total_matches == 2500
    assert r.truncated is True
    page = r.get_page(0)
    assert page["truncated"] is True
    assert page["num_total_matches"] == 2500
    assert page["num_total_items"] == 1000
    # The latest events (indexes 2499..1500) are the ones kept.
    items = all_items(r)
    assert "event 2499" in items[0]
    assert "event 1500" in items[-1]


def test_engine_total_matches_is_reported():
    r = QueryResult.from_batches([make_events(10)], total_matches=99)
    assert r.get_page(0)["num_total_matches"] == 99
    assert r.truncated


def test_multiple_archives_get_their_own_links():
    a = make_events(150, archive="A")
    b = make_events(150, start_ms=1_800_000_000_000, archive="B")
    r = QueryResult.from_batches([a, b])
    items = all_items(r)
    assert all("link: clp://B/" in x for x in items[:150])
    assert all("link: clp://A/" in x for x in items[150:])


def test_dicts_are_sorted_latest_first_stably():
    items = [
        {"timestamp": 1, "message": "a"},
        {"timestamp": 3, "message": "b"},
        {"timestamp": 3, "message": "c"},
    ]
    r = QueryResult.from_items(items)
    assert [x.split("message: ")[1].split(",")[0] for x in all_items(r)] == ["b", "c", "a"]


def test_mixed_items_are_rejected():
    with pytest.raises(TypeError):
        QueryResult.from_items(["a", {"timestamp": 1, "message": "b"}])


def test_schema_mismatch_is_rejected():
    other = pa.record_batch([pa.array([1])], names=["x"])
    with pytest.raises(ValueError, match="unsupported result schema"):
        QueryResult.from_batches([other])


def test_compressed_size_is_exact_and_much_smaller_than_text():
    batch = make_events(5000)
    r = QueryResult.from_batches([batch], max_cached_results=10**6)
    raw = sum(len(m) for m in batch.column("message").to_pylist())
    assert r.compressed_bytes == sum(len(c) for c in r._chunks) + len(r._dictionary or b"")
    assert r.compressed_bytes < raw / 3


def test_decoded_lru_is_bounded_and_droppable():
    s = Settings(decoded_chunk_cache_size=2, max_cached_results=10**6)
    r = QueryResult.from_batches([make_events(1000)], settings=s)
    for i in range(r.num_pages):
        r.get_page(i)
        r.check()
    assert r.decoded_bytes > 0
    freed = r.drop_decoded()
    assert freed > 0
    assert r.decoded_bytes == 0
    r.check()


def test_no_python_list_of_results_is_kept():
    r = QueryResult.from_batches([make_events(3000)], max_cached_results=10**6)
    r.drop_decoded()
    held = [v for v in (getattr(r, slot, None) for slot in r.__slots__) if isinstance(v, list)]
    # Only the chunk blobs, the archive names and the link pieces are lists.
    assert all(len(v) <= r.num_chunks for v in held)
    assert all(isinstance(c, bytes) for c in r._chunks)


def test_facts_are_recorded():
    r = QueryResult.from_batches(
        [make_events(3)], query="q", begin_ms=1, end_ms=2, archive_ids=["arch-1"], clock=lambda: 7.0
    )
    assert (r.query, r.begin_ms, r.end_ms, r.archive_ids, r.created_at) == (
        "q",
        1,
        2,
        ("arch-1",),
        7.0,
    )
    assert "QueryResult(" in repr(r)


def test_message_json_survives_round_trip():
    event = {"level": "ERROR", "msg": 'quote " and unicode é ✓'}
    r = QueryResult.from_items([{"timestamp": 0, "message": json.dumps(event)}])
    item = r.get_page(0)["items"][0]
    assert json.dumps(event) in item


def test_empty_batches_use_result_schema():
    r = QueryResult.from_batches([RESULT_SCHEMA.empty_table().to_batches() or []][0])
    assert r.num_items == 0
    assert r.get_page(0)["items"] == []
