"""Logs for the analysis tests, with the figures the tests compare against computed here
straight from the files' lines (never through logpager's search or cache).

- the loghub samples' lines and their timestamps, parsed with each sample's own layout;
- a data directory of synthetic JSON events (:func:`logpager.synthetic.write_events`) and of
  events with nested objects and mixed value types, written here.
"""

from __future__ import annotations

import json
import re
from calendar import timegm
from datetime import datetime
from pathlib import Path
from typing import Any

from logpager.ingest import ingest
from logpager.synthetic import write_events
from tests.support.loghub import LOGHUB, SAMPLES

__all__ = [
    "NESTED_EVENTS",
    "SYNTHETIC_EVENTS",
    "json_data_dir",
    "json_lines",
    "loghub_lines",
    "loghub_timestamp_ms",
]

SYNTHETIC_EVENTS = 3000
NESTED_EVENTS = 400

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}

# Each sample's own timestamp layout (year-less ones read as 2020, as the fixture ingests).
_LAYOUTS: dict[str, re.Pattern[str]] = {
    "Apache": re.compile(r"^\[\w{3} (?P<mon>\w{3}) (?P<d>\d\d) (?P<t>[\d:]{8}) (?P<y>\d{4})\]"),
    "HDFS": re.compile(r"^(?P<y>\d\d)(?P<m>\d\d)(?P<d>\d\d) (?P<hms>\d{6}) "),
    "Linux": re.compile(r"^(?P<mon>\w{3}) +(?P<d>\d+) (?P<t>[\d:]{8}) "),
    "OpenSSH": re.compile(r"^(?P<mon>\w{3}) +(?P<d>\d+) (?P<t>[\d:]{8}) "),
    "Zookeeper": re.compile(r"^(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d) (?P<t>[\d:]{8}),(?P<ms>\d{3})"),
}


def loghub_lines(sample: str) -> list[str]:
    """:return: The lines of one loghub sample (``"HDFS"``, ...), without line ends."""
    name = next(n for n in SAMPLES if n.startswith(sample + "_"))
    return (LOGHUB / name).read_text(encoding="utf-8").splitlines()


def loghub_timestamp_ms(sample: str, line: str) -> int:
    """
    :param sample: The sample's name, e.g. ``"HDFS"``.
    :param line: One of its lines.
    :return: The line's timestamp (epoch ms, UTC), parsed from its text.
    """
    match = _LAYOUTS[sample].match(line)
    assert match is not None, line
    fields = match.groupdict()
    if sample == "HDFS":
        hms = fields["hms"]
        moment = datetime(
            2000 + int(fields["y"]), int(fields["m"]), int(fields["d"]),
            int(hms[:2]), int(hms[2:4]), int(hms[4:]),
        )
        return timegm(moment.timetuple()) * 1000
    month = _MONTHS[fields["mon"]] if "mon" in fields else int(fields["m"])
    year = int(fields.get("y") or 2020)
    hour, minute, second = (int(p) for p in fields["t"].split(":"))
    moment = datetime(year, month, int(fields["d"]), hour, minute, second)
    return timegm(moment.timetuple()) * 1000 + int(fields.get("ms") or 0)


def _nested_event(i: int) -> dict[str, Any]:
    """Nested objects, a field that is a number in some events and a string in others."""
    event: dict[str, Any] = {
        "timestamp": f"2024-06-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "http": {"method": ("GET", "POST", "PUT")[i % 3], "status": (200, 404, 500)[i % 5 % 3]},
        "msg": f"request {i}",
    }
    if i % 7 == 0:
        event["http"]["status"] = "n/a"  # mixed types within one field
    if i % 11 == 0:
        event["user"] = {"name": f"user-{i % 4}"}
    return event


def json_data_dir(folder: Path) -> tuple[Path, Path, Path]:
    """
    Writes and ingests the JSON logs (one archive each).

    :param folder: An empty folder.
    :return: The data directory, the synthetic JSON-lines file and the nested one.
    """
    synthetic = folder / "synthetic.jsonl"
    write_events(synthetic, SYNTHETIC_EVENTS, seed=3)
    nested = folder / "nested.jsonl"
    nested.write_text(
        "".join(json.dumps(_nested_event(i)) + "\n" for i in range(NESTED_EVENTS)),
        encoding="utf-8",
    )
    data = folder / "data"
    for path in (synthetic, nested):
        ingest([path], data_dir=data, progress=None)
    return data, synthetic, nested


def json_lines(path: Path) -> list[dict[str, Any]]:
    """:return: The events of a JSON-lines file, decoded."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
