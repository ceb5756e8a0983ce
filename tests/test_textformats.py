"""Tests of plain-text timestamp layouts and their detection, checked against the real Loghub
samples and lines in each layout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logpager.ingest.textdetect import detect_format, parse_timestamp
from logpager.ingest.textevents import iter_text_events
from tests.support.loghub import LOGHUB

if not LOGHUB.is_dir():
    LOGHUB = Path(__file__).resolve().parents[1] / "src" / "logpager" / "samples" / "loghub"


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", _ms(2005, 12, 4, 4, 47, 44)),
        ("081109 203615 148 INFO dfs.DataNode$PacketResponder: x", _ms(2008, 11, 9, 20, 36, 15)),
        ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: x", _ms(2020, 6, 14, 15, 16, 1)),
        ("Jul  9 05:05:05 combo ftpd[1]: x", _ms(2020, 7, 9, 5, 5, 5)),
        ("Dec 10 06:55:46 LabSZ sshd[24200]: x", _ms(2020, 12, 10, 6, 55, 46)),
        ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer", _ms(2015, 7, 29, 17, 41, 44) + 747),
        ("2015-10-18T18:01:47.978Z x", _ms(2015, 10, 18, 18, 1, 47) + 978),
        ("2015-10-18T18:01:47+02:00 x", _ms(2015, 10, 18, 16, 1, 47)),
        ('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /"', _ms(2000, 10, 10, 20, 55, 36)),
        ("17/06/09 20:10:40 INFO spark", _ms(2017, 6, 9, 20, 10, 40)),
        ("\tat java.lang.Thread.run(Thread.java:745)", None),
        ("", None),
    ],
)
def test_parse_timestamp(line: str, expected: int | None) -> None:
    assert parse_timestamp(line, default_year=2020) == expected


def _strptime_ms(text: str, fmt: str) -> int:
    return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp() * 1000)


# Independent readings of each sample's timestamp with datetime.strptime.
SAMPLES: dict[str, tuple[str, Callable[[str], int]]] = {
    "Apache_2k.log": ("ctime", lambda line: _strptime_ms(line[1:25], "%a %b %d %H:%M:%S %Y")),
    "HDFS_2k.log": ("hdfs", lambda line: _strptime_ms(line[:13], "%y%m%d %H%M%S")),
    "Linux_2k.log": (
        "syslog",
        lambda line: _strptime_ms("2020 " + line[:15].replace("  ", " 0"), "%Y %b %d %H:%M:%S"),
    ),
    "OpenSSH_2k.log": (
        "syslog",
        lambda line: _strptime_ms("2020 " + line[:15], "%Y %b %d %H:%M:%S"),
    ),
    "Zookeeper_2k.log": (
        "iso8601",
        lambda line: _strptime_ms(line[:23].replace(",", "."), "%Y-%m-%d %H:%M:%S.%f"),
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_loghub_samples_parse_every_line(name: str) -> None:
    fmt_name, reference = SAMPLES[name]
    lines = (LOGHUB / name).read_text(encoding="utf-8").splitlines()
    located = detect_format(lines[:200])
    assert located is not None
    assert located.format.name == fmt_name
    events = list(iter_text_events(lines, default_year=2020))
    assert len(events) == len(lines) == 2000
    for (ts, message, number), line in zip(events, lines, strict=True):
        assert message == line
        assert ts == reference(line), (number, line)


def test_continuation_lines_join_previous_event() -> None:
    lines = [
        "2015-07-29 17:41:44,747 - ERROR [main] - boom",
        "java.lang.IllegalStateException: bad",
        "\tat a.b.C.run(C.java:1)",
        "",
        "2015-07-29 17:41:45,000 - INFO  [main] - fine",
    ]
    events = list(iter_text_events(lines))
    assert [(e[0] is not None, e[2]) for e in events] == [(True, 1), (True, 5)]
    assert events[0][1] == "\n".join(lines[:3])
    assert events[1][1] == lines[4]


def test_lines_before_first_timestamp_are_own_events() -> None:
    lines = ["header one", "", "header two", "2015-07-29 17:41:44,747 - INFO x", "  more"]
    events = list(iter_text_events(lines))
    assert [(e[0] is None, e[1], e[2]) for e in events] == [
        (True, "header one", 1),
        (True, "header two", 3),
        (False, "2015-07-29 17:41:44,747 - INFO x\n  more", 4),
    ]


def test_no_format_every_line_is_an_event() -> None:
    events = list(iter_text_events(["alpha", "", "beta"]))
    assert events == [(None, "alpha", 1), (None, "beta", 3)]


def test_syslog_year_rolls_over() -> None:
    lines = ["Dec 31 23:59:59 h x: a", "Jan  1 00:00:01 h x: b"]
    events = list(iter_text_events(lines, default_year=2019))
    assert events[0][0] == _ms(2019, 12, 31, 23, 59, 59)
    assert events[1][0] == _ms(2020, 1, 1, 0, 0, 1)


def test_huge_event_is_split() -> None:
    lines = ["2015-07-29 17:41:44,747 - INFO x"] + ["continuation " * 10] * 100
    events = list(iter_text_events(lines, max_event_bytes=1000))
    assert len(events) > 1
    assert all(e[0] is not None for e in events)


def _ms_f(year: int, month: int, day: int, hour: int, minute: int, second: int, ms: int) -> int:
    return _ms(year, month, day, hour, minute, second) + ms


@pytest.mark.parametrize(
    ("line", "layout", "expected"),
    [
        ("2005-06-03-15.42.50.675872 R02-M1-N0 RAS", "iso8601", _ms_f(2005, 6, 3, 15, 42, 50, 675)),
        ("2017-05-16_13:53:08 x", "iso8601", _ms(2017, 5, 16, 13, 53, 8)),
        ("2016/9/27:20:30:31.455 x", "iso8601", _ms_f(2016, 9, 27, 20, 30, 31, 455)),
        ("2015.10.18 18:01:47 x", "iso8601", _ms(2015, 10, 18, 18, 1, 47)),
        ("2015-10-18 18:01:47 -0200 x", "iso8601", _ms(2015, 10, 18, 20, 1, 47)),
        ("20171223-22:15:29:606|Step_LSC|1", "yyyymmdd", _ms_f(2017, 12, 23, 22, 15, 29, 606)),
        ("20171224-1:2:35:11|Step_LSC|1", "yyyymmdd", _ms_f(2017, 12, 24, 1, 2, 35, 11)),
        ("[10.30 16:49:06] chrome.exe - x", "mm-dd", _ms(2020, 10, 30, 16, 49, 6)),
        ("03-17 16:13:38.811  1702  2395 D x", "mm-dd", _ms_f(2020, 3, 17, 16, 13, 38, 811)),
        ("06/09/2017 20:10:40 x", "mm/dd/yyyy", _ms(2017, 6, 9, 20, 10, 40)),
        ("Wed Oct 11 14:32:52 2000 x", "ctime", _ms(2000, 10, 11, 14, 32, 52)),
        ("1600000000 x", "epoch", _ms(2020, 9, 13, 12, 26, 40)),
        ("1600000000123 x", "epoch", _ms_f(2020, 9, 13, 12, 26, 40, 123)),
        ("1600000000.5 x", "epoch", _ms_f(2020, 9, 13, 12, 26, 40, 500)),
        ("1600000000123456 x", "epoch", _ms_f(2020, 9, 13, 12, 26, 40, 123)),
        # After a level, a host, a key, a file name that holds a date of its own.
        ("INFO  2020-01-01T10:00:00Z started", "iso8601", _ms(2020, 1, 1, 10)),
        ("host1 Jun 14 15:16:01 sshd: x", "syslog", _ms(2020, 6, 14, 15, 16, 1)),
        ("time=2020-01-01T10:00:00Z level=info", "iso8601", _ms(2020, 1, 1, 10)),
        (
            "a.log.2017-05-16_13:53:08 2017-05-16 00:00:00.008 1 INFO",
            "iso8601",
            _ms_f(2017, 5, 16, 0, 0, 0, 8),
        ),
        # Not times: too few digits for an epoch, a counter, a version.
        ("134681 node-246 unix.hw x", None, None),
        ("v1.2.3 build 42", None, None),
    ],
)
def test_layouts_and_places(line: str, layout: str | None, expected: int | None) -> None:
    located = detect_format([line])
    assert (located.format.name if located else None) == layout
    assert parse_timestamp(line, default_year=2020) == expected


def test_a_date_deep_in_few_messages_is_not_the_timestamp() -> None:
    lines = ["a b c d e 2020-01-01 10:00:00 x", "plain line", "another one", "and more"]
    assert detect_format(lines) is None


def test_the_place_that_dates_most_lines_wins() -> None:
    lines = [f"node-{i} 2020-01-0{i} 10:00:00 ok" for i in range(1, 6)]
    located = detect_format(lines)
    assert located is not None
    assert (located.format.name, located.field) == ("iso8601", 1)
    assert located.describe() == "iso8601 after field 1"


def test_epoch_wins_over_a_local_time_it_agrees_with() -> None:
    # 1577872800 is 2020-01-01T10:00:00Z; the local times are 2 hours ahead of it.
    lines = [f"2020-01-01 12:00:0{i} 157787280{i} msg" for i in range(5)]
    located = detect_format(lines)
    assert located is not None
    assert (located.format.name, located.field) == ("epoch", 2)
    assert list(iter_text_events(lines))[3][0] == 1_577_872_803_000


def test_an_epoch_looking_field_that_disagrees_is_not_the_timestamp() -> None:
    lines = [f"2020-01-01 12:00:0{i} 123456789{i} msg" for i in range(5)]
    located = detect_format(lines)
    assert located is not None
    assert (located.format.name, located.field) == ("iso8601", 0)


def test_lines_of_the_same_second_differ_by_fraction_zone_and_year_only() -> None:
    # A parser reuses the previous line's second; what follows the seconds must still count.
    lines = [
        "2020-01-01 10:00:00.100 a",
        "2020-01-01 10:00:00.250 b",
        "2020-01-01 10:00:00.250+01:00 c",
        "2020-01-01 10:00:00 d",
    ]
    events = list(iter_text_events(lines))
    assert [e[0] for e in events] == [
        _ms_f(2020, 1, 1, 10, 0, 0, 100),
        _ms_f(2020, 1, 1, 10, 0, 0, 250),
        _ms_f(2020, 1, 1, 9, 0, 0, 250),
        _ms(2020, 1, 1, 10),
    ]
    ctime = ["[Sun Dec 04 04:47:44 2005] e", "[Mon Dec 04 04:47:44 2006] f"]
    assert [e[0] for e in iter_text_events(ctime)] == [
        _ms(2005, 12, 4, 4, 47, 44),
        _ms(2006, 12, 4, 4, 47, 44),
    ]
