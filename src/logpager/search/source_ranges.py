"""Which file each run of an archive's events came from: the archive's range index.

``clp-s c`` records, in the metadata section of an archive's ``header`` file, one range per
input file it read: events ``s`` (inclusive) to ``e`` (exclusive) in log order, with the file's
name (``_filename``) among the range's fields. That is how the events around one event are
kept to its own source file.

An ingest converts all of its plain-text inputs into one JSON-lines file before ``clp-s``
reads them (:mod:`logpager.ingest.staging`), so the text files of one ingest share one range:
their boundaries are not recorded anywhere. JSON inputs keep a range each.

The layout read here is ``clp-s``'s (archive format 0.5, as written by yscope-clp-core
0.12): a 64-byte header (magic, version, sizes, reserved words, the metadata section's size
at byte 56 and its compression at byte 60), then the zstd-compressed metadata section: a
packet count, and per packet a type byte, a little-endian u32 size and the payload; packet
type 3 is the range index, a msgpack array of ``{"s", "e", "f"}`` maps.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import msgpack
import zstandard

from logpager.search.datadir import archives_dir

__all__ = ["SourceRange", "read_metadata_packets", "read_source_ranges", "source_range_of"]

# Defined by clp-s's archive format (ArchiveHeader, ArchiveMetadataPacketType).
_MAGIC = b"\xfd\x2f\xc5\x30"
_HEADER_BYTES = 64
_METADATA_SIZE = struct.Struct("<I")
_METADATA_SIZE_OFFSET = 56
_PACKET_HEAD = struct.Struct("<BI")
_RANGE_INDEX_PACKET = 3
_FILENAME_KEY = "_filename"
# A header is a few hundred bytes for a handful of files; this only refuses nonsense.
_MAX_METADATA_BYTES = 64 << 20


@dataclass(frozen=True)
class SourceRange:
    """
    The events of one input file in an archive.

    :param begin: Index of its first event (inclusive).
    :param end: Index after its last event.
    :param filename: The file ``clp-s`` read (for plain text, the ingest's staged file).
    """

    begin: int
    end: int
    filename: str | None


def read_metadata_packets(archive: Path) -> dict[int, bytes] | None:
    """
    :param archive: An archive's folder.
    :return: The payloads of its header's metadata packets by packet type, or None when the
        header cannot be read as expected (missing, another format version).
    """
    try:
        raw = (archive / "header").read_bytes()
    except OSError:
        return None
    if len(raw) < _HEADER_BYTES or raw[:4] != _MAGIC:
        return None
    (size,) = _METADATA_SIZE.unpack_from(raw, _METADATA_SIZE_OFFSET)
    if size > _MAX_METADATA_BYTES:
        return None
    try:
        section = (
            zstandard.ZstdDecompressor()
            .decompressobj()
            .decompress(raw[_HEADER_BYTES : _HEADER_BYTES + size])
        )
        packets: dict[int, bytes] = {}
        count, position = section[0], 1
        for _ in range(count):
            kind, length = _PACKET_HEAD.unpack_from(section, position)
            position += _PACKET_HEAD.size
            packets[kind] = section[position : position + length]
            position += length
    except (zstandard.ZstdError, struct.error, IndexError):
        return None
    return packets


def read_source_ranges(data_dir: Path, archive_id: str) -> list[SourceRange] | None:
    """
    :param data_dir: The data directory.
    :param archive_id: One of its archives.
    :return: The archive's ranges in log order, or None when its header cannot be read as
        expected (missing, another format version, no range index).
    """
    packets = read_metadata_packets(archives_dir(data_dir) / archive_id)
    if packets is None or _RANGE_INDEX_PACKET not in packets:
        return None
    try:
        return _range_index(packets[_RANGE_INDEX_PACKET])
    except (ValueError, TypeError, KeyError, msgpack.UnpackException):
        return None


def source_range_of(ranges: list[SourceRange] | None, index: int) -> SourceRange | None:
    """
    :param ranges: An archive's ranges (:func:`read_source_ranges`).
    :param index: An event index.
    :return: The range that holds the event, None if none does (or ranges are unknown).
    """
    for candidate in ranges or ():
        if candidate.begin <= index < candidate.end:
            return candidate
    return None


def _range_index(payload: bytes) -> list[SourceRange]:
    """:return: The ranges of a range index packet, sorted."""
    entries = msgpack.unpackb(payload, raw=False)
    ranges = []
    for entry in entries:
        fields = entry.get("f") or {}
        name = fields.get(_FILENAME_KEY)
        filename = name if isinstance(name, str) else None
        ranges.append(SourceRange(int(entry["s"]), int(entry["e"]), filename))
    return sorted(ranges, key=lambda r: r.begin)
