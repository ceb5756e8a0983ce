"""The date of every line of each shared loghub sample, read independently of the ingest code.

One small regular expression and ``strptime`` pattern per sample, written by reading the
sample's own lines (not by reusing the production detector), so that a test comparing the two
can catch the detector dating a line wrongly. Samples whose timestamps have no year carry the
year a test should expect when it sets the file's modification time to the end of that year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["SAMPLE_DATES", "SampleDates"]


def _strptime_ms(text: str, pattern: str) -> int:
    return int(datetime.strptime(text, pattern).replace(tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class SampleDates:
    """
    How to date one sample's lines.

    :param regex: Its group 1 is the timestamp text of a line.
    :param read: Turns that text (and the year, for yearless samples) into epoch ms.
    :param year: The year of yearless samples (their files' modification time is set to the
        end of it), else ``None``.
    """

    regex: re.Pattern[str]
    read: Callable[[str, int], int]
    year: int | None = None

    def date(self, line: str) -> int:
        """:return: The epoch ms of one line. :raise AssertionError: If it has no date."""
        m = self.regex.match(line)
        assert m is not None, line
        return self.read(m[1], self.year or 0)


def _with_year(pattern: str) -> Callable[[str, int], int]:
    return lambda text, year: _strptime_ms(f"{year} {text}", f"%Y {pattern}")


def _fixed(pattern: str) -> Callable[[str, int], int]:
    return lambda text, _year: _strptime_ms(text, pattern)


def _healthapp(text: str, _year: int) -> int:
    # 20171224-1:2:35:789: hour, minute, second and milliseconds unpadded integers.
    day, clock = text.split("-")
    hour, minute, second, millis = (int(part) for part in clock.split(":"))
    base = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
    return int(base.timestamp() * 1000) + ((hour * 60 + minute) * 60 + second) * 1000 + millis


SAMPLE_DATES: dict[str, SampleDates] = {
    "Android_2k.log": SampleDates(
        re.compile(r"(\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) "), _with_year("%m-%d %H:%M:%S.%f"), 2017
    ),
    "Apache_2k.log": SampleDates(
        re.compile(r"\[(\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4})\]"),
        _fixed("%a %b %d %H:%M:%S %Y"),
    ),
    "HDFS_2k.log": SampleDates(re.compile(r"(\d{6} \d{6}) "), _fixed("%y%m%d %H%M%S")),
    # The fifth field is epoch seconds; the first is a record number.
    "HPC_2k.log": SampleDates(
        re.compile(r"\S+ \S+ \S+ \S+ (\d{10}) "), lambda text, _year: int(text) * 1000
    ),
    "HealthApp_2k.log": SampleDates(re.compile(r"(\d{8}-[\d:]+)\|"), _healthapp),
    "Linux_2k.log": SampleDates(
        re.compile(r"(\w{3} [ \d]\d \d\d:\d\d:\d\d) "), _with_year("%b %d %H:%M:%S"), 2005
    ),
    "Mac_2k.log": SampleDates(
        re.compile(r"(\w{3} [ \d]\d \d\d:\d\d:\d\d) "), _with_year("%b %d %H:%M:%S"), 2017
    ),
    "OpenSSH_2k.log": SampleDates(
        re.compile(r"(\w{3} [ \d]\d \d\d:\d\d:\d\d) "), _with_year("%b %d %H:%M:%S"), 2015
    ),
    # The first field is the source file's name, which holds a date of its own.
    "OpenStack_2k.log": SampleDates(
        re.compile(r"\S+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) "),
        _fixed("%Y-%m-%d %H:%M:%S.%f"),
    ),
    "Proxifier_2k.log": SampleDates(
        re.compile(r"\[(\d\d\.\d\d \d\d:\d\d:\d\d)\]"), _with_year("%m.%d %H:%M:%S"), 2016
    ),
    "Windows_2k.log": SampleDates(
        re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),"), _fixed("%Y-%m-%d %H:%M:%S")
    ),
    "Zookeeper_2k.log": SampleDates(
        re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "),
        lambda text, _year: _strptime_ms(text.replace(",", "."), "%Y-%m-%d %H:%M:%S.%f"),
    ),
}
"""Every sample of the shared loghub set."""
