"""A timestamp layout given by the user: a ``strptime`` pattern, and optionally a regular
expression that finds it in the line.

``--timestamp-format '%d.%m.%Y %H:%M:%S'`` alone is turned into an expression (each directive
into the text it matches) and looked for like the built-in layouts: at the start of the line
or after one of its first fields. With ``--timestamp-regex``, that expression is searched for
anywhere in the line and its group named ``ts`` (or else its whole match) is the text
``strptime`` reads. A pattern without ``%Y``/``%y`` takes the year from the file's
modification time or ``--year``, as the built-in yearless layouts do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from logpager.errors import IngestError
from logpager.ingest.textdetect import LocatedFormat
from logpager.ingest.textformats import TextFormat
from logpager.ingest.years import YearPolicy

__all__ = ["TimestampSpec", "custom_format"]

_DIRECTIVES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,6}",
    "j": r"\d{1,3}",
    "b": r"[A-Za-z]{3}",
    "B": r"[A-Za-z]{3,9}",
    "a": r"[A-Za-z]{3}",
    "A": r"[A-Za-z]{6,9}",
    "p": r"(?i:am|pm)",
    "z": r"(?:[Zz]|[+-]\d{2}:?\d{2})",
    "Z": r"[A-Za-z]{1,5}",
    "%": "%",
}
_PLACEHOLDER_YEAR = 2000  # a leap year, so that February 29 parses


@dataclass(frozen=True)
class TimestampSpec:
    """
    A user's timestamp layout for text logs.

    :param format: A ``strptime`` pattern, e.g. ``%Y-%m-%d %H:%M:%S``.
    :param regex: Finds the timestamp anywhere in a line: its group named ``ts``, or else its
        whole match, is the text ``format`` reads; ``None`` to look for ``format`` at the
        start of the line or after a field.
    """

    format: str
    regex: str | None = None


def _to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%":
            directive = pattern[i + 1 : i + 2]
            if directive not in _DIRECTIVES:
                msg = (
                    f"--timestamp-format {pattern!r}: %{directive} is not supported (use "
                    f"{', '.join('%' + d for d in _DIRECTIVES)})"
                )
                raise IngestError(msg)
            out.append(_DIRECTIVES[directive])
            i += 2
        elif char.isspace():
            out.append(r"\s+")
            while i < len(pattern) and pattern[i].isspace():
                i += 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def custom_format(spec: TimestampSpec) -> LocatedFormat | TextFormat:
    """
    Builds the layout of a :class:`TimestampSpec`.

    :param spec: The user's pattern (and expression).
    :return: A located layout when ``spec.regex`` places it; else a layout for detection to
        place.
    :raise IngestError: If the pattern has an unsupported directive or the expression does
        not compile; the message names the option.
    """
    body = _to_regex(spec.format)
    has_year = "%Y" in spec.format or "%y" in spec.format
    strptime_format = spec.format if has_year else f"%Y {spec.format}"

    def to_ms(m: re.Match[str], years: YearPolicy) -> int:
        text = m["ts"]
        if not has_year:
            text = f"{_PLACEHOLDER_YEAR} {text}"
        when = datetime.strptime(text, strptime_format)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        ms = int(when.timestamp() * 1000)
        if has_year:
            return ms
        return years.stamp(
            when.month, when.day, when.hour, when.minute, when.second, when.microsecond // 1000
        )

    if spec.regex is None:
        return TextFormat("custom", spec.format, f"(?P<ts>{body})", to_ms)
    try:
        user = re.compile(spec.regex)
        # The expression is searched for anywhere: a lazy ".*?" before it, for re.match.
        inner = spec.regex if "ts" in user.groupindex else f"(?P<ts>{spec.regex})"
        wrapper = re.compile(f".*?(?:{inner})")
    except re.error as exc:
        msg = f"--timestamp-regex {spec.regex!r} is not a regular expression: {exc}"
        raise IngestError(msg) from exc
    fmt = TextFormat("custom", spec.format, wrapper.pattern, to_ms)
    return LocatedFormat(fmt, 0, wrapper)
