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
