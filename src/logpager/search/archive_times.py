"""The time range of an archive's events: the timestamp dictionary in its header.

``clp-s c`` records, in the metadata section of an archive's ``header`` (see
:mod:`logpager.search.source_ranges`), packet type 2: for each timestamp key it met, the
earliest and latest value. The layout (archive format 0.5, yscope-clp-core 0.12), all
little-endian: a u64 count of keys; per key a u64 length and the key's name, a u64 count of
column ids and as many i32 ids, a u64 encoding (1: integer epoch, 2: floating-point epoch)
and the begin and end values (two i64 or two f64); then the timestamp patterns, not read here.
No key at all means no event had the timestamp key it was given.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from logpager.search.source_ranges import read_metadata_packets

__all__ = ["TimeRange", "read_time_range"]

_TIMESTAMP_PACKET = 2
_U64 = struct.Struct("<Q")
_I32 = struct.Struct("<i")
_INTS = struct.Struct("<qq")
_FLOATS = struct.Struct("<dd")
_INTEGER_EPOCH = 1
_FLOAT_EPOCH = 2


@dataclass(frozen=True)
class TimeRange:
    """
    The timestamps of an archive.

    :param keys: The timestamp keys events had (empty: no event had one).
    :param begin: Earliest value (epoch, in the unit of the events: ms for text logs).
    :param end: Latest value.
    """

    keys: tuple[str, ...]
    begin: int | None
    end: int | None


def read_time_range(archive: Path) -> TimeRange | None:
    """
    :param archive: An archive's folder.
    :return: Its time range, or None when the header cannot be read as expected.
    """
    packets = read_metadata_packets(archive)
    if packets is None or _TIMESTAMP_PACKET not in packets:
        return None
    try:
        return _parse(packets[_TIMESTAMP_PACKET])
    except (struct.error, UnicodeDecodeError, ValueError):
        return None


def _parse(payload: bytes) -> TimeRange:
    (count,), position = _U64.unpack_from(payload, 0), _U64.size
    keys: list[str] = []
    begins: list[int] = []
    ends: list[int] = []
    for _ in range(count):
        (length,) = _U64.unpack_from(payload, position)
        position += _U64.size
        keys.append(payload[position : position + length].decode("utf-8"))
        position += length
        (columns,) = _U64.unpack_from(payload, position)
        position += _U64.size + columns * _I32.size
        (encoding,) = _U64.unpack_from(payload, position)
        position += _U64.size
        if encoding == _INTEGER_EPOCH:
            begin, end = _INTS.unpack_from(payload, position)
        elif encoding == _FLOAT_EPOCH:
            low, high = _FLOATS.unpack_from(payload, position)
            begin, end = int(low), int(high)
        else:
            msg = f"unknown timestamp encoding {encoding}"
            raise ValueError(msg)
        position += _INTS.size
        begins.append(begin)
        ends.append(end)
    return TimeRange(tuple(keys), min(begins) if begins else None, max(ends) if ends else None)
