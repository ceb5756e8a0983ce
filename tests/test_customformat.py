"""Tests of the user's timestamp layout: a strptime pattern, and a regex that finds it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from logpager.errors import IngestError
from logpager.ingest import TimestampSpec, ingest
from logpager.ingest.customformat import custom_format
from logpager.ingest.textdetect import LocatedFormat
from logpager.ingest.textevents import iter_text_events
from logpager.search import list_archive_ids


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def test_pattern_is_looked_for_at_the_start_or_after_a_field() -> None:
    layout = custom_format(TimestampSpec("%d.%m.%Y %H:%M:%S"))
    lines = ["worker-1 03.02.2024 10:11:12 started", "worker-2 04.02.2024 09:00:00 done"]
    events = list(iter_text_events(lines, layout=layout))
    assert [e[0] for e in events] == [_ms(2024, 2, 3, 10, 11, 12), _ms(2024, 2, 4, 9)]


def test_regex_finds_it_anywhere_and_its_ts_group_is_read() -> None:
    layout = custom_format(TimestampSpec("%H:%M:%S %d/%m/%Y", r"\((?P<ts>[^)]+)\)$"))
    assert isinstance(layout, LocatedFormat)
    lines = ["job 7 ran (10:11:12 03/02/2024)", "  its output", "job 8 ran (09:00:00 04/02/2024)"]
    events = list(iter_text_events(lines, layout=layout))
    assert [(e[0], e[2]) for e in events] == [
        (_ms(2024, 2, 3, 10, 11, 12), 1),
        (_ms(2024, 2, 4, 9), 3),
    ]


def test_regex_without_a_ts_group_reads_its_whole_match() -> None:
    layout = custom_format(TimestampSpec("%Y%m%dT%H%M%S", r"\d{8}T\d{6}"))
    (event,) = iter_text_events(["id=5 at=20240203T101112 ok"], layout=layout)
    assert event[0] == _ms(2024, 2, 3, 10, 11, 12)


def test_zone_and_fraction_are_honoured() -> None:
    layout = custom_format(TimestampSpec("%Y-%m-%d %H:%M:%S.%f %z"))
    (event,) = iter_text_events(["2024-02-03 10:11:12.250 +0100 x"], layout=layout)
    assert event[0] == _ms(2024, 2, 3, 9, 11, 12) + 250


def test_yearless_pattern_takes_the_year_policy() -> None:
    layout = custom_format(TimestampSpec("%b %d %H:%M"))
    events = list(iter_text_events(["Feb 29 10:11 x"], layout=layout, default_year=2024))
    assert events[0][0] == _ms(2024, 2, 29, 10, 11)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TimestampSpec("%Y-%m-%d %Q"), r"%Q is not supported"),
        (TimestampSpec("%Y", "(unclosed"), r"--timestamp-regex '\(unclosed' is not a regular"),
    ],
)
def test_bad_specs_name_the_option(spec: TimestampSpec, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        custom_format(spec)


def test_a_format_in_no_line_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "app.log"
    source.write_text("2024-02-03 10:11:12 start\n2024-02-03 10:11:13 stop\n")
    data = tmp_path / "data"
    with pytest.raises(IngestError, match=r"app\.log: none of its first 200 lines .*'%d\.%m\.%Y'"):
        ingest([source], data_dir=data, timestamp_format=TimestampSpec("%d.%m.%Y"))
    assert list_archive_ids(data) == []
