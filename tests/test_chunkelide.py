"""codec.elide: a message's leading timestamp copy is dropped only where it is rebuilt exactly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.cache.codec.elide import elide_timestamps
from logpager.cache.codec.encode import encode_table
from tests.support.codec_rows import (
    START_MS,
    expected_item,
    iso,
    json_event,
    result_rows,
    round_trip_items,
    row,
    table,
    wrapped,
)
from tests.support.elide_oracle import elide_timestamps_generic


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
def test_short_messages_among_long_ones_give_the_same_result(pad):
    # A message shorter than the longest copy is padded for the comparison.
    ts = START_MS + 10
    rows = [row(ts, wrapped(ts, "a" * pad)), row(ts, json_event(ts, "b")), row(ts, "short")]
    stored, _ = encode_table(table(rows), 100)
    assert stored.column("ts_elided").to_pylist() == [1, 2, 0]
    assert round_trip_items(table(rows), 100) == [expected_item(r) for r in rows]


def elisions(messages: list[str], stamps: Sequence[int | None]) -> tuple[list[Any], ...]:
    """The numpy path and the oracle on the same rows: (fast stored, fast kinds, generic ...)."""
    text = pa.array(messages, pa.string())
    ts = pa.array(stamps, pa.int64())
    fast = elide_timestamps(text, ts)
    generic = elide_timestamps_generic(text, text.cast(pa.binary()), ts)
    return tuple(x.to_pylist() for x in (*fast, *generic))


@hsettings(max_examples=150, deadline=None)
@given(rows=result_rows())
def test_fast_and_generic_elision_agree_on_long_messages(rows):
    # Every message past the longest copy, as the numpy path once required.
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


# Epoch copies of every width: 1 to 20 characters, negative ones included.
any_stamps = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-1_000, 1_000),
    st.integers(946_684_800_000, 4_102_444_800_000),
)


@st.composite
def short_and_odd_rows(draw: st.DrawFn) -> tuple[list[str], list[int | None]]:
    n = draw(st.integers(0, 40))
    messages, stamps = [], []
    for _ in range(n):
        ts = draw(any_stamps)
        text = draw(st.text(max_size=12))
        shape = draw(st.sampled_from(["text", "epoch", "iso", "cut", "key"]))
        if shape == "epoch" and ts is not None:
            text = f'{{"timestamp":{ts},{text}'
        elif shape == "iso" and ts is not None and 0 <= ts < 253_402_300_800_000:
            text = json_event(ts, text)
        elif shape == "cut" and ts is not None:
            text = wrapped(ts, text)[: draw(st.integers(0, 45))]
        elif shape == "key":
            text = '{"timestamp":' + text
        messages.append(text)
        stamps.append(ts)
    return messages, stamps


@hsettings(max_examples=300, deadline=None)
@given(rows=short_and_odd_rows())
def test_elision_agrees_with_the_oracle_on_short_messages_and_any_epoch_width(rows):
    messages, stamps = rows
    fast_stored, fast_kinds, generic_stored, generic_kinds = elisions(messages, stamps)
    assert (fast_stored, fast_kinds) == (generic_stored, generic_kinds)
