"""Tests of ISO 8601 <-> epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logpager.errors import InvalidTimestampError
from logpager.timeutil import NOT_AVAILABLE, format_epoch_ms, parse_iso8601_ms


def test_parse_reference_example() -> None:
    assert parse_iso8601_ms("2015-10-18T18:01:47.978Z") == 1_445_191_307_978


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.5Z", 500),
        ("1970-01-01T00:00:00.05Z", 50),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
    ],
)
def test_parse_forms(text: str, expected: int) -> None:
    assert parse_iso8601_ms(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2015-10-18",
        "2015-10-18T18:01:47",
        "2015-10-18T18:01:47+00:00",
        "2015-02-30T00:00:00Z",
        "2015-10-18T18:01:47.1234Z",
        "yesterday",
        "2015-10-18 18:01:47Z",
    ],
)
def test_parse_rejects_with_clear_error(text: str) -> None:
    with pytest.raises(InvalidTimestampError, match="Invalid timestamp"):
        parse_iso8601_ms(text)


def test_format() -> None:
    assert format_epoch_ms(1_445_191_307_978) == "2015-10-18T18:01:47.978Z"
    assert format_epoch_ms(0) == "1970-01-01T00:00:00.000Z"
    assert format_epoch_ms(None) == NOT_AVAILABLE == "N/A"
    assert format_epoch_ms(10**18) == "N/A"


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000) if moment.year > 1969 else None
    text = format_epoch_ms(parse_iso8601_ms(format_epoch_ms(0)))
    assert text == "1970-01-01T00:00:00.000Z"
    iso = moment.strftime("%Y-%m-%dT%H:%M:%S") if moment.year >= 1000 else None
    if iso is not None:
        parsed = parse_iso8601_ms(f"{iso}.{moment.microsecond // 1000:03d}Z")
        assert format_epoch_ms(parsed) == f"{iso}.{moment.microsecond // 1000:03d}Z"
        if ms is not None:
            assert abs(parsed - ms) <= 1
