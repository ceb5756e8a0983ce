"""ISO 8601 UTC timestamps <-> epoch milliseconds, in the one form the MCP contract uses.

The reference server accepts ``YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`` and prints
``2015-10-18T18:01:47.978Z``; both directions live here so they cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from logpager.errors import InvalidTimestampError

__all__ = ["NOT_AVAILABLE", "format_epoch_ms", "parse_iso8601_ms"]

NOT_AVAILABLE = "N/A"
"""What an item shows in place of a missing timestamp."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_UTC = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,3}))?Z"
)
# datetime supports years 1..9999; anything outside cannot be printed in ISO form.
_MIN_MS = -62_135_596_800_000
_MAX_MS = 253_402_300_799_999


def parse_iso8601_ms(text: str) -> int:
    """
    Parses an ISO 8601 UTC timestamp such as ``2015-10-18T18:01:47.978Z``.

    :param text: ``YYYY-MM-DDTHH:MM:SS`` with an optional ``.f``/``.ff``/``.fff`` fraction
        and a trailing ``Z``.
    :return: Milliseconds since the Unix epoch.
    :raise InvalidTimestampError: If ``text`` has another form or names no real instant.
    """
    if not isinstance(text, str):
        msg = f"Invalid timestamp {text!r}: expected a string like 2024-01-31T23:59:59.999Z"
        raise InvalidTimestampError(msg)
    match = _ISO_UTC.fullmatch(text.strip())
    if match is None:
        msg = (
            f"Invalid timestamp {text!r}: expected ISO 8601 UTC with a trailing 'Z', "
            "like 2024-01-31T23:59:59.999Z (milliseconds optional)"
        )
        raise InvalidTimestampError(msg)
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}").replace(tzinfo=UTC)
    except ValueError as exc:
        msg = f"Invalid timestamp {text!r}: {exc}"
        raise InvalidTimestampError(msg) from exc
    frac = match["frac"] or ""
    millis = int(frac.ljust(3, "0")) if frac else 0
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + millis


def format_epoch_ms(epoch_ms: int | None) -> str:
    """
    Formats epoch milliseconds as ISO 8601 UTC with milliseconds.

    :param epoch_ms: Milliseconds since the Unix epoch, or ``None``.
    :return: e.g. ``2015-10-18T18:01:47.978Z``; :data:`NOT_AVAILABLE` for ``None`` or a value
        outside the years 1-9999.
    """
    if epoch_ms is None or not _MIN_MS <= epoch_ms <= _MAX_MS:
        return NOT_AVAILABLE
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
        f"{moment.microsecond // 1000:03d}Z"
    )
