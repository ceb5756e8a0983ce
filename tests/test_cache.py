"""QueryResult: page arithmetic, ordering, truncation, compression and accounting."""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections.abc import Iterator
from itertools import pairwise

import pyarrow as pa
import pytest
import zstandard
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from harness.rows import make_events
from logpager.cache import QueryResult, ResultBuilder, validate_page_index
from logpager.cache.codec.contexts import decompress
from logpager.cache.codec.encode import encode_chunks, encode_table
from logpager.cache.dictionary import train_dictionary
from logpager.errors import InvalidPageIndexError
from logpager.query import QuerySpec
from logpager.schema import RESULT_SCHEMA, VERBATIM_SCHEMA
from logpager.settings import Settings
from tests.support.chunk_oracle import chunk_bytes
from tests.support.codec_rows import expected_item, json_event, result_rows, wrapped


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
    r = QueryResult.from_items(items, QuerySpec("", page_size=page_size))
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
    r = QueryResult.from_batches([batch], QuerySpec("level: INFO"))
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
    r = QueryResult.from_batches([batch], QuerySpec("", max_results=1000))
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
    r = QueryResult.from_batches([batch], QuerySpec("", max_results=10**6))
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
    r = QueryResult.from_batches([make_events(3000)], QuerySpec("", max_results=10**6))
    r.drop_decoded()
    held = [v for v in (getattr(r, slot, None) for slot in r.__slots__) if isinstance(v, list)]
    # Only the chunk blobs, the archive names and the link pieces are lists.
    assert all(len(v) <= r.num_chunks for v in held)
    assert all(isinstance(c, bytes) for c in r._chunks)


def test_a_result_let_go_is_freed_without_the_garbage_collector():
    # Evicting a result must give its memory back at once: a reference cycle through the
    # result left it to the collector, which a search making few Python objects never ran.
    r = QueryResult.from_batches([make_events(3000)], QuerySpec("", max_results=10**6))
    r.get_page(0)
    list(r.iter_items())
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        del r
        gc.collect()
        kept = [obj for obj in gc.garbage if isinstance(obj, QueryResult)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert kept == []


def test_facts_are_recorded():
    r = QueryResult.from_batches(
        [make_events(3)],
        QuerySpec("q", begin_ms=1, end_ms=2, archive_ids=("arch-1",)),
        clock=lambda: 7.0,
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


# --- streaming build ---------------------------------------------------------------------------


def _events_table(n: int, seed: int) -> pa.Table:
    """Rows already in result order, from three archives, some without timestamp or index."""
    rng = random.Random(seed)
    archives = ["arch-b", "arch-a", "arch-c"]
    timestamps = sorted(rng.randrange(1_700_000_000_000, 1_700_000_100_000) for _ in range(n))
    rows = {
        # Latest first; the few rows without a timestamp come last, as the result orders them.
        "timestamp": [None if i >= n - n // 30 else t for i, t in enumerate(reversed(timestamps))],
        "message": [
            f'{{"level":"INFO","n":{i},"pad":"{"x" * rng.randrange(60)}"}}' for i in range(n)
        ],
        "archive_id": [archives[(i // 7 + seed) % 3] for i in range(n)],
        "log_event_index": [None if rng.random() < 0.02 else i for i in range(n)],
    }
    return pa.table(rows, schema=RESULT_SCHEMA)


def _one_shot(table: pa.Table, settings: Settings, total: int) -> QueryResult:
    """The build before it streamed: the whole table encoded at once, then compressed."""
    chunk_rows = settings.chunk_rows
    stored, names = encode_table(table, chunk_rows)
    encoded = [
        stored.slice(start, chunk_rows).combine_chunks().to_batches()[0]
        for start in range(0, stored.num_rows, chunk_rows)
    ]
    return QueryResult(
        # One chunk at a time with chunk_bytes, the layout's definition, so this also checks
        # the builder's many-at-once layout (pack_chunks).
        chunks=[
            zstandard.ZstdCompressor(level=settings.zstd_level).compress(chunk_bytes(batch))
            for batch in encoded
        ],
        archive_names=names,
        dictionary=None,
        num_items=table.num_rows,
        num_total_matches=total,
        chunk_rows=chunk_rows,
        spec=QuerySpec("", page_size=settings.page_size, archive_ids=()),
        link_template=settings.link_template,
        decoded_capacity=settings.decoded_chunk_cache_size,
        clock=time.monotonic,
    )


def _in_batches(table: pa.Table, cuts: list[int]) -> list[pa.RecordBatch]:
    bounds = sorted({0, table.num_rows, *(c % (table.num_rows + 1) for c in cuts)})
    return [table.slice(a, b - a).combine_chunks().to_batches()[0] for a, b in pairwise(bounds)]


@hsettings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 1_500),
    seed=st.integers(0, 1_000),
    page_size=st.integers(1, 13),
    pages_per_chunk=st.integers(1, 5),
    cap=st.integers(1, 2_000),
    cuts=st.lists(st.integers(0, 1_500), max_size=8),
    training_rows=st.integers(1, 600),
    dictionary_bytes=st.sampled_from([0, 4_096]),
    threads=st.integers(1, 2),
)
def test_builder_equals_one_shot_build_page_for_page(
    n, seed, page_size, pages_per_chunk, cap, cuts, training_rows, dictionary_bytes, threads
):
    settings = Settings(
        page_size=page_size,
        pages_per_chunk=pages_per_chunk,
        max_cached_results=cap,
        dictionary_training_rows=training_rows,
        zstd_dictionary_bytes=dictionary_bytes,
        compression_threads=threads,
    )
    table = _events_table(n, seed)
    built = QueryResult.from_batches(_in_batches(table, cuts), settings=settings, presorted=True)
    expected = _one_shot(table.slice(0, cap), settings, n)
    assert (built.num_items, built.num_total_matches) == (min(n, cap), n)
    assert built.num_pages == expected.num_pages
    assert built._archive_names == expected._archive_names
    for page in range(max(built.num_pages, 1)):
        assert built.get_page(page) == expected.get_page(page)
    # Chunk by chunk, the bytes compressed are the one-shot build's.
    for index, blob in enumerate(built._chunks):
        assert decompress(blob, built._dictionary) == decompress(expected._chunks[index], None)
    built.check()


def test_builder_compresses_while_rows_arrive():
    settings = Settings(max_cached_results=10**6, dictionary_training_rows=500)
    table = _events_table(20_000, 1)
    builder = ResultBuilder(settings=settings)
    sizes = []
    for batch in table.to_batches(max_chunksize=1_000):
        builder.add(batch)
        sizes.append(builder.compressed_bytes)
    result = builder.finish(total_matches=25_000)
    # Compressed chunks pile up as rows come in (a group of chunks at a time, at most two
    # groups in flight), not all at the end.
    assert 0 < sizes[5] < sizes[15] < result.compressed_bytes
    assert (result.num_items, result.num_total_matches, result.truncated) == (20_000, 25_000, True)
    assert all_items(result) == all_items(QueryResult.from_batches([table], settings=settings))


def test_builder_cap_counts_everything_and_stops_reading_when_told_the_total():
    table = _events_table(3_000, 2)
    read = []

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in table.to_batches(max_chunksize=250):
            read.append(batch.num_rows)
            yield batch

    counted = QueryResult.from_batches(batches(), QuerySpec("", max_results=700), presorted=True)
    assert (counted.num_items, counted.num_total_matches) == (700, 3_000)
    assert sum(read) == 3_000
    read.clear()
    told = QueryResult.from_batches(
        batches(), QuerySpec("", max_results=700), presorted=True, total_matches=3_000
    )
    assert (told.num_items, told.num_total_matches) == (700, 3_000)
    assert sum(read) < 3_000
    assert all_items(told) == all_items(counted)


def test_max_compressed_bytes_keeps_the_latest_whole_chunks():
    settings = Settings(max_cached_results=10**6)
    table = _events_table(6_000, 3)
    full = QueryResult.from_batches(table.to_batches(max_chunksize=999), settings=settings)
    limit = full.compressed_bytes // 3
    cut = QueryResult.from_batches(
        table.to_batches(max_chunksize=999),
        settings=settings,
        presorted=True,
        max_compressed_bytes=limit,
    )
    assert cut.compressed_bytes <= limit
    assert cut.truncated
    assert cut.num_total_matches == 6_000
    assert 0 < cut.num_items < 6_000
    assert cut.num_items % settings.chunk_rows == 0
    assert all_items(cut) == all_items(full)[: cut.num_items]
    page = cut.get_page(0)
    assert (page["truncated"], page["num_total_matches"]) == (True, 6_000)
    cut.check()
    # The unsorted path and from_items take the same limit.
    unsorted = QueryResult.from_batches([table], settings=settings, max_compressed_bytes=limit)
    assert unsorted.num_items == cut.num_items


@pytest.mark.parametrize("n", [1, 57, 5_000])
def test_max_compressed_bytes_keeps_at_least_one_chunk(n):
    settings = Settings(max_cached_results=10**6)
    result = QueryResult.from_batches(
        [_events_table(n, 4)], settings=settings, presorted=True, max_compressed_bytes=0
    )
    assert result.num_items == min(n, settings.chunk_rows)
    assert result.num_total_matches == n
    assert result.num_chunks == 1
    result.check()


def test_prime_trains_the_dictionary_on_a_sample():
    settings = Settings(max_cached_results=10**6)
    table = _events_table(5_000, 5)
    builder = ResultBuilder(settings=settings)
    builder.prime(_events_table(3_000, 6))
    primed = builder.build(table.to_batches(max_chunksize=700))
    assert primed._dictionary is not None
    plain = QueryResult.from_batches([table], settings=settings)
    assert all_items(primed) == all_items(plain)
    # A sample too small to train on means no dictionary, and late calls change nothing.
    small = ResultBuilder(settings=settings)
    small.prime(_events_table(10, 7))
    small.add(table)
    small.prime(_events_table(3_000, 8))
    assert small.finish()._dictionary is None


def test_builder_rejects_mixed_schemas_and_bad_limits():
    builder = ResultBuilder()
    builder.add(make_events(3))
    with pytest.raises(ValueError, match="does not match"):
        builder.add(pa.record_batch([pa.array(["x"])], schema=VERBATIM_SCHEMA))
    builder.close()
    with pytest.raises(ValueError, match="unsupported result schema"):
        ResultBuilder().add(pa.record_batch([pa.array([1])], names=["x"]))
    with pytest.raises(ValueError, match="must not be negative"):
        ResultBuilder(max_compressed_bytes=-1)
    with pytest.raises(ValueError, match="must be positive"):
        ResultBuilder(QuerySpec("", page_size=0))


def test_builder_threads_end_after_build_and_close():
    before = {t.name for t in threading.enumerate()}
    settings = Settings(max_cached_results=10**6, compression_threads=2)
    QueryResult.from_batches(
        _events_table(30_000, 9).to_batches(max_chunksize=4_000), settings=settings, presorted=True
    )
    abandoned = ResultBuilder(settings=settings)
    abandoned.prime(_events_table(3_000, 9))
    abandoned.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = {t.name for t in threading.enumerate()} - before
        if not any(name.startswith("logpager-compress") for name in extra):
            break
        time.sleep(0.01)
    assert not any(n.startswith("logpager-compress") for n in extra)


@hsettings(max_examples=40, deadline=None)
@given(
    rows=result_rows(),
    page_size=st.integers(1, 13),
    pages_per_chunk=st.integers(1, 5),
)
def test_event_pages_are_the_reference_items(rows, page_size, pages_per_chunk):
    # Timestamp copies dropped from messages, nulls, several archives, non-ASCII text.
    settings = Settings(
        page_size=page_size,
        pages_per_chunk=pages_per_chunk,
        max_cached_results=10**6,
        link_template="clp://{archive_id}/{log_event_index}",
    )
    batch = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    result = QueryResult.from_batches([batch], settings=settings, presorted=True)
    assert all_items(result) == [expected_item(r) for r in rows]
    assert list(result.iter_items()) == [expected_item(r) for r in rows]
    result.check()


def test_results_hold_no_decompression_context_of_their_own():
    # A ZstdDecompressor per result held ~96 KB of C memory (~120 KB with its dictionary),
    # more than a 2,000-event result's chunks, and tracemalloc did not see it.
    rows = [
        {
            "timestamp": 1_700_000_000_000 + i,
            "message": wrapped(1_700_000_000_000 + i, f"e{i}"),
            "archive_id": "a",
            "log_event_index": i,
        }
        for i in range(2_000)
    ]
    batch = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    results = [QueryResult.from_batches([batch], presorted=True) for _ in range(3)]
    for result in results:
        result.get_page(7)
        held = [getattr(result, slot, None) for slot in result.__slots__]
        assert not any(
            isinstance(value, zstandard.ZstdDecompressor | zstandard.ZstdCompressionDict)
            for value in held
        )


def test_dictionary_is_kept_only_when_it_pays_for_itself():
    rng = random.Random(3)
    repetitive = pa.Table.from_pylist(
        [
            {
                "timestamp": 1_700_000_000_000 + i,
                "message": json_event(
                    1_700_000_000_000 + i,
                    f"user u-{rng.randrange(50)} GET /api/v1/items/{rng.randrange(900)} 200",
                ),
                "archive_id": "a",
                "log_event_index": i,
            }
            for i in range(3_000)
        ],
        schema=RESULT_SCHEMA,
    )
    noise = pa.Table.from_pylist(
        [
            {
                "timestamp": i,
                "message": rng.randbytes(120).hex(),
                "archive_id": "a",
                "log_event_index": i,
            }
            for i in range(3_000)
        ],
        schema=RESULT_SCHEMA,
    )
    for rows, pays in ((repetitive, True), (noise, False)):
        encoded = encode_chunks(rows, 100, [])
        dictionary = train_dictionary(encoded, 10, Settings(zstd_dictionary_bytes=16_384))
        assert (dictionary is not None) is pays
    disabled = Settings(zstd_dictionary_bytes=0)
    assert train_dictionary(encode_chunks(repetitive, 100, []), 10, disabled) is None


# --- record batches ----------------------------------------------------------------------------


def _ticks() -> Iterator[float]:
    return iter(float(t) for t in range(10**9))


@hsettings(max_examples=40, deadline=None)
@given(
    rows=result_rows(),
    page_size=st.integers(1, 13),
    pages_per_chunk=st.integers(1, 5),
    pages_read=st.lists(st.integers(0, 100), max_size=6),
)
def test_record_batches_are_the_rows_in_order_and_leave_the_lru_alone(
    rows, page_size, pages_per_chunk, pages_read
):
    # Timestamp copies dropped from messages, nulls, several archives, non-ASCII text.
    settings = Settings(
        page_size=page_size,
        pages_per_chunk=pages_per_chunk,
        max_cached_results=10**6,
        decoded_chunk_cache_size=2,
    )
    batch = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    ticks = _ticks()
    result = QueryResult.from_batches(
        [batch], settings=settings, presorted=True, clock=lambda: next(ticks)
    )
    for page in pages_read:
        result.get_page(page % max(result.num_pages, 1))
    held, held_bytes = result._decoded.indexes(), result.decoded_bytes
    last_accessed = result.last_accessed
    batches = list(result.record_batches())
    assert len(batches) == result.num_chunks
    assert pa.Table.from_batches(batches, schema=RESULT_SCHEMA).to_pylist() == rows
    assert (result._decoded.indexes(), result.decoded_bytes) == (held, held_bytes)
    assert result.last_accessed == last_accessed
    result.check()


def test_record_batches_of_a_streamed_build_with_a_dictionary():
    settings = Settings(max_cached_results=10**6, dictionary_training_rows=500)
    table = _events_table(6_000, 12)
    result = QueryResult.from_batches(
        table.to_batches(max_chunksize=700), settings=settings, presorted=True
    )
    assert result._dictionary is not None
    result.get_page(0)
    result.get_page(result.num_pages - 1)
    held = result._decoded.indexes()
    batches = list(result.record_batches())
    assert [b.num_rows for b in batches[:-1]] == [settings.chunk_rows] * (len(batches) - 1)
    assert pa.Table.from_batches(batches).equals(table)
    assert result._decoded.indexes() == held == [0, result.num_chunks - 1]


def test_record_batches_of_verbatim_items_and_of_an_empty_result():
    items = [f"line {i} {'é' * (i % 5)}" for i in range(257)]
    result = QueryResult.from_items(items, QuerySpec("", page_size=10))
    batches = list(result.record_batches())
    assert all(batch.schema.equals(VERBATIM_SCHEMA) for batch in batches)
    assert pa.Table.from_batches(batches).column(0).to_pylist() == items
    assert result.decoded_bytes == 0
    assert list(QueryResult.from_items([]).record_batches()) == []
