"""codec: round trips of the stored form through chunk bytes and decoding to item lines."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.encode import encode_chunks, encode_group, encode_table
from logpager.cache.codec.layout import pack_chunks
from logpager.schema import RESULT_SCHEMA, VERBATIM_SCHEMA
from tests.support.chunk_oracle import chunk_bytes
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


def test_timestamps_outside_four_digit_years_round_trip():
    # Arrow writes these with more characters, so the stamps are kept as a list.
    odd = [-63_716_716_800_000, 253_402_300_800_000, -1, 0]
    rows = [row(ts, wrapped(ts, "odd")) for ts in odd]
    chunks, names = decoded(table(rows), 100)
    arrow_text = pc.cast(pa.array(odd, pa.timestamp("ms")), pa.string()).to_pylist()
    items = chunks[0].items(0, len(odd), links_for(names))
    for item, text in zip(items, arrow_text, strict=True):
        assert item.startswith(f"timestamp: {text[:10]}T{text[11:]}Z, ")
        # A text-log event's item shows its line, not the JSON it is stored in.
        assert item.endswith(", message: odd, link: clp://arch-1/0")


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


def test_decode_chunk_bytes_reads_a_stored_batch():
    rows = table([row(START_MS, wrapped(START_MS, "m"), index=3)])
    stored, _ = encode_table(rows, 10)
    chunk = decode_chunk_bytes(pack_chunks(stored.to_batches()[0], 10)[0])
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


def as_record_batches(rows: pa.Table, chunk_rows: int) -> pa.Table:
    """Encodes rows, lays them out with pack_chunks, decodes each chunk to a record batch."""
    names: list[str] = []
    stored = encode_group(rows, chunk_rows, names)
    chunks = [decode_chunk_bytes(raw) for raw in pack_chunks(stored, chunk_rows)]
    return pa.Table.from_batches([c.record_batch(names) for c in chunks], schema=rows.schema)


def test_a_decoded_chunk_gives_its_rows_back_as_a_record_batch():
    rows = [
        row(START_MS + 9_000, wrapped(START_MS + 9_000, "epoch copy"), "arch-a", 17),
        row(START_MS + 8_000, json_event(START_MS + 8_000, "ISO copy"), "arch-b", 16),
        row(None, "no time é ✓", "arch-a", 15),
        row(None, wrapped(START_MS, "a copy, but no timestamp"), "arch-c", None),
        row(START_MS + 6_000, "x", "", None),
        row(-1, wrapped(-1, "two-character epoch"), "arch-a", 2**40),
        row(253_402_300_800_000, wrapped(253_402_300_800_000, "year 10000"), "arch-b", 3),
    ]
    for chunk_rows in (1, 2, 4, 100):
        batches = as_record_batches(table(rows), chunk_rows)
        assert batches.schema.equals(RESULT_SCHEMA)
        assert batches.to_pylist() == rows
    stored, names = encode_table(table(rows), 100)
    chunk = decode_chunk_bytes(pack_chunks(stored, 100)[0])
    assert chunk.elided is not None  # epoch, ISO and kept copies in one chunk
    assert chunk.record_batch(names, 2, 5).to_pylist() == rows[2:5]
    assert chunk.record_batch(names, 3).to_pylist() == rows[3:]


def test_a_verbatim_chunk_gives_its_items_back_as_a_record_batch():
    items = ["", "a", "é ✓", "x" * 70_000]
    rows = pa.table({"item": items}, schema=VERBATIM_SCHEMA)
    stored, names = encode_table(rows, 3)
    chunks = [decode_chunk_bytes(raw) for raw in pack_chunks(stored, 3)]
    batches = [chunk.record_batch(names) for chunk in chunks]
    assert all(batch.schema.equals(VERBATIM_SCHEMA) for batch in batches)
    assert pa.Table.from_batches(batches).equals(rows)
    assert chunks[0].record_batch(names, 1, 3).column(0).to_pylist() == items[1:3]


@hsettings(max_examples=150, deadline=None)
@given(rows=result_rows(), chunk_rows=st.integers(1, 25))
def test_any_rows_come_back_as_record_batches(rows, chunk_rows):
    assert as_record_batches(table(rows), chunk_rows).to_pylist() == rows
