"""Tests of the year of yearless timestamps: from the file's modification time, or given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logpager.ingest.years import YearPolicy


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def test_dates_up_to_the_modification_time_are_in_its_year() -> None:
    policy = YearPolicy(None, _ms(2026, 12, 2, 8))
    assert policy.stamp(6, 14, 15, 16, 1) == _ms(2026, 6, 14, 15, 16, 1)
    assert policy.stamp(12, 2, 23, 0, 0) == _ms(2026, 12, 2, 23)
    assert policy.describe() == "2026 (from the file's modification time, 2026-12-02)"


def test_dates_after_the_modification_time_are_a_year_earlier() -> None:
    # A file modified on January 3rd: its December lines were written the year before.
    policy = YearPolicy(None, _ms(2026, 1, 3, 12))
    assert policy.stamp(12, 30, 23, 59, 59) == _ms(2025, 12, 30, 23, 59, 59)
    assert policy.stamp(1, 2, 0, 0, 1) == _ms(2026, 1, 2, 0, 0, 1)
    assert policy.describe() == "2025-2026 (from the file's modification time, 2026-01-03)"


def test_a_day_of_slack_for_local_times_east_of_utc() -> None:
    policy = YearPolicy(None, _ms(2026, 12, 2, 8))
    assert policy.stamp(12, 3, 7, 0, 0) == _ms(2026, 12, 3, 7)
    assert policy.stamp(12, 3, 9, 0, 0) == _ms(2025, 12, 3, 9)


def test_never_after_the_modification_time_whatever_the_date() -> None:
    modified = _ms(2024, 3, 1)
    policy = YearPolicy(None, modified)
    for month in range(1, 13):
        assert policy.stamp(month, 28, 23, 59, 59) <= modified + 86_400_000


def test_february_29_waits_for_a_leap_year() -> None:
    policy = YearPolicy(None, _ms(2027, 6, 1))
    assert policy.stamp(2, 29, 12, 0, 0) == _ms(2024, 2, 29, 12)


def test_given_year_advances_when_december_wraps_to_january() -> None:
    policy = YearPolicy(2019, _ms(2026, 1, 1))
    assert policy.stamp(12, 31, 23, 59, 59) == _ms(2019, 12, 31, 23, 59, 59)
    assert policy.stamp(1, 1, 0, 0, 1) == _ms(2020, 1, 1, 0, 0, 1)
    assert policy.describe() == "2019-2020 (given)"


def test_impossible_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="day is out of range"):
        YearPolicy(2023, 0).stamp(2, 30, 0, 0, 0)
    with pytest.raises(ValueError, match="no such time"):
        YearPolicy(2023, 0).stamp(1, 1, 24, 0, 0)


def test_nothing_used_says_nothing() -> None:
    assert YearPolicy(None, 0).describe() is None
