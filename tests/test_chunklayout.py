"""chunklayout: many chunks laid out at once give exactly the bytes of one chunk at a time."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.encode import encode_table
from logpager.cache.codec.layout import ENCODED_EVENT_SCHEMA, pack_chunks
from logpager.schema import RESULT_SCHEMA, VERBATIM_SCHEMA
from tests.support.chunk_oracle import chunk_bytes
from tests.support.codec_rows import result_rows, round_trip_items, table


def one_at_a_time(stored: pa.Table, chunk_rows: int) -> list[bytes]:
    """The layout's definition: chunk_bytes on each chunk of the stored table."""
    batches = stored.combine_chunks().to_batches(max_chunksize=chunk_rows)
    return [chunk_bytes(batch) for batch in batches if batch.num_rows]


def assert_same_bytes(rows: pa.Table, chunk_rows: int) -> list[bytes]:
    stored, _ = encode_table(rows, chunk_rows)
    packed = pack_chunks(stored, chunk_rows)
    assert packed == one_at_a_time(stored, chunk_rows)
    return packed


@hsettings(max_examples=200, deadline=None)
@given(rows=result_rows(), chunk_rows=st.integers(1, 25))
def test_any_rows_pack_to_the_bytes_of_chunk_bytes(rows, chunk_rows):
    assert_same_bytes(table(rows), chunk_rows)


# Timestamps and indexes anywhere in int64's comfortable range, so that the delta widths
# (1, 2, 4 and 8 bytes) and steps differ from chunk to chunk.
wide_numbers = st.one_of(
    st.none(),
    st.integers(-(2**52), 2**52),
    st.sampled_from([0, 1, 1_000, 1_000_000, 2**31, -(2**31)]),
)


@st.composite
def wide_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 80))
    base = draw(st.integers(0, 2**40))
    step = draw(st.sampled_from([0, 1, 1000, 7, -3]))
    out = []
    for i in range(n):
        ts = draw(st.one_of(st.just(base + i * step), wide_numbers))
        out.append(
            {
                "timestamp": ts,
                "message": draw(st.sampled_from(["a", "", "x" * 300, "é" * 200])),
                "archive_id": draw(st.sampled_from(["a1", "a2", "a3"])),
                "log_event_index": draw(st.one_of(st.just(i), wide_numbers)),
            }
        )
    return out


@hsettings(max_examples=200, deadline=None)
@given(rows=wide_rows(), chunk_rows=st.integers(1, 30))
def test_wide_values_pack_to_the_bytes_of_chunk_bytes(rows, chunk_rows):
    assert_same_bytes(table(rows), chunk_rows)


def test_long_messages_and_many_archives_take_wide_columns():
    # Lengths past 65,535 need 4-byte lengths; 300 archives need 2-byte codes.
    rows = [
        {
            "timestamp": 1_714_521_600_000 + i,
            "message": ("m" * 70_000) if i % 97 == 0 else f"event {i}",
            "archive_id": f"archive-{i % 300:03d}",
            "log_event_index": i,
        }
        for i in range(1_000)
    ]
    rows_table = table(rows)
    packed = assert_same_bytes(rows_table, 100)
    assert len(packed) == 10
    # Archive codes follow first appearance: chunk 2 holds codes 200-299.
    chunk = decode_chunk_bytes(packed[2])
    assert chunk.archive_codes is not None
    assert max(chunk.archive_codes) > 255
    assert chunk.messages(91, 92) == ["m" * 70_000]  # row 291
    assert round_trip_items(rows_table, 100)[0].startswith("timestamp: 2024-05-01T00:00:00.000Z")


def test_verbatim_rows_pack_to_the_bytes_of_chunk_bytes():
    items = pa.table({"item": [f"item {i}" * (i % 5) for i in range(23)]}, schema=VERBATIM_SCHEMA)
    packed = pack_chunks(items, 10)
    assert packed == one_at_a_time(items, 10)
    assert decode_chunk_bytes(packed[2]).stored_messages(0, 3) == [
        f"item {i}" * (i % 5) for i in range(20, 23)
    ]


def test_a_record_batch_and_a_many_chunked_table_give_the_same_bytes():
    rows = table(
        [
            {"timestamp": 1_000 * i, "message": f"m{i}", "archive_id": "a", "log_event_index": i}
            for i in range(25)
        ]
    )
    stored, _ = encode_table(rows, 10)
    pieces = pa.Table.from_batches(stored.combine_chunks().to_batches(max_chunksize=7))
    expected = one_at_a_time(stored, 10)
    assert pack_chunks(pieces, 10) == expected
    assert pack_chunks(stored.combine_chunks().to_batches()[0], 10) == expected


def test_nothing_to_pack_and_bad_input():
    assert pack_chunks(ENCODED_EVENT_SCHEMA.empty_table(), 10) == []
    with pytest.raises(ValueError, match="not a stored table"):
        pack_chunks(RESULT_SCHEMA.empty_table(), 10)
    with pytest.raises(ValueError, match="chunk_rows must be positive"):
        pack_chunks(ENCODED_EVENT_SCHEMA.empty_table(), 0)
