"""The small records a session store keeps besides results' chunks, and their bytes.

Records are msgpack maps: the same bytes in every store, so a record written by one process
is read by any other, and a record of a newer shape is refused, not misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import msgpack

from logpager.query import QuerySpec

__all__ = [
    "HandleRecord",
    "PrincipalRecord",
    "Record",
    "RecordT",
    "SessionRecord",
    "pack",
    "unpack",
]

_VERSION = 1


@dataclass(frozen=True, slots=True)
class HandleRecord:
    """
    What a handle names: the session and principal it belongs to, and its result.

    :param session_id: The session that owns the handle.
    :param principal: The authenticated principal that owns it (None: auth is off).
    :param result_id: Under which id the store keeps the result's chunks and meta.
    :param spec: What was searched, for a re-run once the result is gone.
    :param created_wall: When the result was built (seconds since the epoch).
    :param dropped: Why the result no longer answers (``"expired"``, ``"replaced"``,
        ``"evicted"``), or None while it does.
    """

    session_id: str
    principal: str | None
    result_id: str
    spec: QuerySpec
    created_wall: float
    dropped: str | None = None

    def to_fields(self) -> dict[str, Any]:
        """:return: The record as plain values."""
        return {
            "session_id": self.session_id,
            "principal": self.principal,
            "result_id": self.result_id,
            "spec": self.spec.to_dict(),
            "created_wall": self.created_wall,
            "dropped": self.dropped,
        }

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> HandleRecord:
        """
        :param fields: What :meth:`to_fields` gave.
        :return: The record.
        """
        return cls(**{**fields, "spec": QuerySpec.from_dict(fields["spec"])})


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """
    A session as every process sees it.

    :param session_id: Its identifier.
    :param principal: The principal that owns it (None: auth is off).
    :param instructed: Whether ``get_instructions()`` was called in it.
    :param latest_handle: Its newest result's handle, the default for paging.
    """

    session_id: str
    principal: str | None = None
    instructed: bool = False
    latest_handle: str | None = None


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """
    An authenticated principal across all its connections and every process.

    :param latest_handle: Its newest result's handle.
    :param instructed: Whether it called ``get_instructions()``.
    """

    latest_handle: str | None = None
    instructed: bool = False


Record = HandleRecord | SessionRecord | PrincipalRecord
RecordT = TypeVar("RecordT", HandleRecord, SessionRecord, PrincipalRecord)
"""Any one of the record classes (what a read of a given kind returns)."""


def pack(record: Record) -> bytes:
    """
    :param record: A record.
    :return: Its bytes.
    """
    if isinstance(record, HandleRecord):
        fields = record.to_fields()
    else:
        fields = {name: getattr(record, name) for name in record.__slots__}
    data: bytes = msgpack.packb({"v": _VERSION, **fields}, use_bin_type=True)
    return data


def unpack(data: bytes, kind: type[RecordT]) -> RecordT:
    """
    :param data: What :func:`pack` gave.
    :param kind: The record's class.
    :return: The record, an instance of ``kind``.
    :raise ValueError: If the bytes are not a record of this kind and version.
    """
    try:
        fields = msgpack.unpackb(data, raw=False)
        if not isinstance(fields, dict) or fields.pop("v", None) != _VERSION:
            msg = "another version"
            raise ValueError(msg)
        if kind is HandleRecord:
            return HandleRecord.from_fields(fields)  # type: ignore[return-value]
        return kind(**fields)
    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
        msg = f"not a {kind.__name__} of this version: {exc}"
        raise ValueError(msg) from exc
