"""chunkcodec: stored form, chunk bytes, decoding, item lines and decompression contexts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import zstandard
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.cache.codec import encode as chunkcodec
from logpager.cache.codec.encode import (
    chunk_bytes,
    decode_chunk,
    decode_chunk_bytes,
    decompress,
    encode_chunks,
    encode_table,
)
from logpager.schema import VERBATIM_SCHEMA
from tests.support.codec_rows import (
    START_MS,
    decoded,
    expected_item,
    iso,
    json_event,
    links_for,
    result_rows,
    round_trip_items,
    row,
    table,
    wrapped,
)


def test_round_trip_with_nulls_archives_empty_and_non_ascii_messages():
    rows = [
        row(START_MS + 9_000, wrapped(START_MS + 9_000, "plain"), "arch-a", 17),
        row(START_MS + 8_000, "", "arch-b", 16),
        row(None, "no time é ✓", "arch-a", 15),
        row(START_MS + 7_000, json_event(START_MS + 7_000, "naïve — ok"), "", 14),
        row(START_MS + 6_000, "x", "arch-c", None),
        row(START_MS + 6_000, "\n tabs\tand newlines\n", "arch-a", 2**40),
    ]
    for chunk_rows in (1, 2, 4, 100):
        assert round_trip_items(table(rows), chunk_rows) == [expected_item(r) for r in rows]


def test_stored_messages_lose_only_an_exact_timestamp_copy():
    ts = START_MS + 4_321
    rows = [
        row(ts, wrapped(ts, "dropped")),  # epoch copy
        row(ts, json_event(ts, "dropped")),  # ISO copy
        row(ts, wrapped(ts + 1, "other value")),
        row(ts, f'{{"timestamp":{ts}}}'),  # no comma after the digits
        row(ts, f'{{"timestamp":0{ts},"message":"leading zero"}}'),
        row(ts, f'{{"timestamp":"{iso(ts)[:-1]}","m":"no Z"}}'),
        row(ts, f'{{"timestamp":"{iso(ts)[:-5]}Z","m":"seconds only"}}'),
        row(ts, f'{{"timestamp": {ts},"m":"space"}}'),
        row(None, wrapped(ts, "row without timestamp")),
        row(ts, '{"timestamp":'),
    ]
    stored, _ = encode_table(table(rows), 100)
    kinds = stored.column("ts_elided").to_pylist()
    assert kinds == [1, 2, 0, 0, 0, 0, 0, 0, 0, 0]
    assert stored.column("message")[0].as_py() == b',"message":"dropped"}'
    assert stored.column("message")[1].as_py() == b',"level":"INFO","message":"dropped"}'
    assert round_trip_items(table(rows), 100) == [expected_item(r) for r in rows]


@pytest.mark.parametrize("pad", [0, 100])
def test_short_messages_take_the_generic_path_with_the_same_result(pad):
    # A message shorter than the longest copy sends the whole table to Arrow's kernels.
    ts = START_MS + 10
    rows = [row(ts, wrapped(ts, "a" * pad)), row(ts, json_event(ts, "b")), row(ts, "short")]
    stored, _ = encode_table(table(rows), 100)
    assert stored.column("ts_elided").to_pylist() == [1, 2, 0]
    assert round_trip_items(table(rows), 100) == [expected_item(r) for r in rows]


def test_timestamps_outside_four_digit_years_round_trip():
    # Arrow writes these with more characters, so the stamps are kept as a list.
    odd = [-63_716_716_800_000, 253_402_300_800_000, -1, 0]
    rows = [row(ts, wrapped(ts, "odd")) for ts in odd]
    chunks, names = decoded(table(rows), 100)
    arrow_text = pc.cast(pa.array(odd, pa.timestamp("ms")), pa.string()).to_pylist()
    items = chunks[0].items(0, len(odd), links_for(names))
    for item, text, ts in zip(items, arrow_text, odd, strict=True):
        assert item.startswith(f"timestamp: {text[:10]}T{text[11:]}Z, ")
        assert f"message: {wrapped(ts, 'odd')}, link: clp://arch-1/0" in item


def test_second_resolution_and_even_deltas_store_few_bytes():
    seconds = table([row(START_MS - i * 3_000, "m", index=99 - i) for i in range(100)])
    uneven = table(
        [row(START_MS - i * 3_000 - i % 7, "m", index=99 - i * (i % 3)) for i in range(100)]
    )
    even_bytes = chunk_bytes(encode_chunks(seconds, 100, [])[0])
    uneven_bytes = chunk_bytes(encode_chunks(uneven, 100, [])[0])
    # Evenly spaced timestamps and consecutive indexes cost no byte a row.
    assert len(even_bytes) < len(uneven_bytes) - 150
    assert round_trip_items(seconds, 100) == [expected_item(r) for r in seconds.to_pylist()]
    assert round_trip_items(uneven, 100) == [expected_item(r) for r in uneven.to_pylist()]


def test_verbatim_items_round_trip():
    items = ["", "a", "é ✓", "x" * 70_000]
    rows = pa.table({"item": items}, schema=VERBATIM_SCHEMA)
    stored, names = encode_table(rows, 3)
    chunks = [decode_chunk_bytes(chunk_bytes(b)) for b in stored.to_batches(max_chunksize=3)]
    assert names == []
    assert [x for c in chunks for x in c.items(0, c.num_rows, [None])] == items
    assert chunks[0].messages(0, 3) == items[:3]


def test_decode_chunk_reads_a_stored_batch():
    rows = table([row(START_MS, wrapped(START_MS, "m"), index=3)])
    stored, _ = encode_table(rows, 10)
    chunk = decode_chunk(stored.to_batches()[0], single_archive=True)
    assert chunk.messages(0, 1) == [wrapped(START_MS, "m")]
    assert chunk.stamp(0) == iso(START_MS)


def test_an_ipc_message_is_refused_with_the_fix_in_the_message():
    stored, _ = encode_table(table([row(START_MS, "m")]), 10)
    ipc = stored.to_batches()[0].serialize().to_pybytes()
    with pytest.raises(ValueError, match=r"chunk_bytes"):
        decode_chunk_bytes(ipc)
    with pytest.raises(ValueError, match="not a stored chunk"):
        chunk_bytes(pa.record_batch([pa.array([1])], names=["x"]))


def test_decoded_size_counts_the_messages():
    rows = table([row(START_MS, "x" * 1_000, index=i) for i in range(10)])
    chunk = decoded(rows, 10)[0][0]
    assert 10_000 < chunk.nbytes < 20_000


@hsettings(max_examples=150, deadline=None)
@given(rows=result_rows(), chunk_rows=st.integers(1, 25))
def test_any_rows_round_trip_to_the_reference_items(rows, chunk_rows):
    assert round_trip_items(table(rows), chunk_rows) == [expected_item(r) for r in rows]
    for chunk in decoded(table(rows), chunk_rows)[0]:
        # Pages start anywhere in a chunk.
        whole = chunk.items(0, chunk.num_rows, links_for(["arch-1", "arch-2", ""]))
        for start in range(chunk.num_rows):
            part = chunk.items(start, chunk.num_rows, links_for(["arch-1", "arch-2", ""]))
            assert part == whole[start:]


def test_decompress_shares_contexts_and_bounds_the_dictionary_ones():
    samples: list[bytes | bytearray | memoryview] = [
        f"event {i} with some text {i % 17}".encode() * 8 for i in range(400)
    ]
    dictionaries = [
        zstandard.train_dictionary(2_048, samples, dict_id=1 + k).as_bytes() for k in range(6)
    ]
    blobs = [
        zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(d)).compress(b"x" * 99)
        for d in dictionaries
    ]
    for d, blob in zip(dictionaries, blobs, strict=True):
        assert decompress(blob, d) == b"x" * 99
    assert decompress(zstandard.compress(b"plain"), None) == b"plain"
    contexts = chunkcodec._contexts.with_dictionary
    assert len(contexts) == chunkcodec._DICTIONARY_CONTEXTS
    assert list(contexts) == dictionaries[-chunkcodec._DICTIONARY_CONTEXTS :]


def test_decompress_from_several_threads():
    data = [bytes([i]) * 50_000 for i in range(8)]
    blobs = [zstandard.compress(d) for d in data]
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                for d, blob in zip(data, blobs, strict=True):
                    assert decompress(blob, None) == d
        except BaseException as exc:  # reported below, from the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def elisions(messages: list[str], stamps: Sequence[int | None]) -> tuple[list[Any], ...]:
    """Both elision paths on the same rows: (fast stored, fast kinds, generic ...)."""
    text = pa.array(messages, pa.string())
    ts = pa.array(stamps, pa.int64())
    fast = chunkcodec._elide_timestamps(text, ts)
    generic = chunkcodec._elide_timestamps_generic(text, text.cast(pa.binary()), ts)
    return tuple(x.to_pylist() for x in (*fast, *generic))


@hsettings(max_examples=150, deadline=None)
@given(rows=result_rows())
def test_fast_and_generic_elision_agree_on_long_messages(rows):
    # Padding every message past the longest copy keeps the numpy path in use.
    messages = [r["message"] + " " * 40 for r in rows]
    stamps = [r["timestamp"] for r in rows]
    fast_stored, fast_kinds, generic_stored, generic_kinds = elisions(messages, stamps)
    assert (fast_stored, fast_kinds) == (generic_stored, generic_kinds)
    long_rows = [{**r, "message": m} for r, m in zip(rows, messages, strict=True)]
    assert round_trip_items(table(long_rows), 7) == [expected_item(r) for r in long_rows]


def test_fast_elision_refuses_near_misses():
    ts = START_MS + 4_321
    pad = " " * 40
    messages = [
        wrapped(ts, pad),
        json_event(ts, pad),
        wrapped(ts + 1000, pad),
        f'{{"timestamp":{ts}}}{pad}',
        f'{{"timestamp":"{iso(ts)[:-1]}","m":"no Z"}}{pad}',
        f'{{"timestamp":"{iso(ts + 1)}","m":"1 ms off"}}{pad}',
        f'{{"timestamp":"{iso(ts).replace("T", " ")}","m":"space"}}{pad}',
        f'{{"timestamp":"{iso(ts)}\x00,"m":"NUL"}}{pad}',
        f'{{"timestamp":{str(ts)[:-1]}\x00,"m":"NUL digit"}}{pad}',
    ]
    fast_stored, fast_kinds, generic_stored, generic_kinds = elisions(messages, [ts] * 9)
    assert fast_kinds == generic_kinds == [1, 2, 0, 0, 0, 0, 0, 0, 0]
    assert fast_stored == generic_stored


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        # Out-of-range fields that a date calculation would carry into the next field: the
        # number is right, but Arrow would write the instant another way.
        ("2024-02-30T00:00:00.000Z", 1_709_251_200_000),  # = 2024-03-01
        ("2023-02-29T00:00:00.000Z", 1_677_628_800_000),  # = 2023-03-01
        ("2024-05-01T24:00:00.000Z", 1_714_608_000_000),  # = 2024-05-02T00:00
        ("2024-05-01T00:60:00.000Z", 1_714_525_200_000),  # = 01:00
        ("2024-05-01T00:00:60.000Z", 1_714_521_660_000),  # = 00:01
        ("2024-13-01T00:00:00.000Z", 1_735_689_600_000),  # = 2025-01-01
        ("2024-00-10T00:00:00.000Z", 1_701_993_600_000),  # = 2023-12-08
        ("2024-05-00T00:00:00.000Z", 1_714_435_200_000),  # = 2024-04-30
        ("2024-05-01T00:00:00:000Z", START_MS),  # ':' for '.'
        ("2024/05/01T00:00:00.000Z", START_MS),
        ("+024-05-01T00:00:00.000Z", START_MS),
    ],
)
def test_fast_elision_keeps_dates_arrow_would_write_otherwise(text, ms):
    pad = " " * 40
    messages = [f'{{"timestamp":"{text}","m":"x"}}{pad}', json_event(START_MS, pad)]
    fast_stored, fast_kinds, generic_stored, generic_kinds = elisions(messages, [ms, START_MS])
    assert fast_kinds == generic_kinds == [0, 2]
    assert fast_stored == generic_stored


def test_fast_elision_takes_leap_days_and_the_ends_of_the_fixed_width_range():
    pad = " " * 40
    stamps = [
        1_709_164_800_000,  # 2024-02-29
        951_782_400_000,  # 2000-02-29
        -30_610_224_000_000,  # 1000-01-01T00:00:00.000
        253_402_300_799_999,  # 9999-12-31T23:59:59.999
        -1,  # 1969-12-31T23:59:59.999
    ]
    messages = [json_event(ms, pad) for ms in stamps]
    fast_stored, fast_kinds, generic_stored, generic_kinds = elisions(messages, stamps)
    assert fast_kinds == generic_kinds == [2] * len(stamps)
    assert fast_stored == generic_stored
