"""Log templates: an event's text with its variable parts masked, a batch at a time.

A template is the text an event's line shares with every other event of its kind: numbers,
hex ids, IPs (v4 and v6), paths, UUIDs, quoted values, timestamps and e-mail addresses are
replaced by typed placeholders (``<NUM>``, ``<IP>``, ...), whitespace runs by one space. Each
mask is one ``pyarrow.compute.replace_substring_regex`` (RE2) over a whole batch, so no
Python code runs per row.

What is masked is the event's own text: a text-log line is ingested wrapped in a JSON object
(``{"timestamp":...,"message":"<line>"}``), so its ``message`` field is masked, not the
wrapper. A JSON event with a string ``message`` (or ``msg``) field is masked by that field
too: its other fields (trace ids, durations, hosts, the timestamp) vary with every event and
would make every event its own template, while the message is what says what happened,
which is what a template is for. A JSON event without one is masked whole, its keys kept and
its string values not masked as quoted values (they would all become ``<STR>``, keys and all,
and the template would be the key set alone).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from logpager.schema import ITEM, MESSAGE

__all__ = ["MASKS", "QUOTED_MASK", "event_texts", "mask_texts", "templates_of"]

_HEX = "[0-9A-Fa-f]"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_CLOCK = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
_V6_GROUPS = rf"{_HEX}{{1,4}}(?::{_HEX}{{1,4}})*"

_TIMESTAMP = "|".join(
    (
        # ISO 8601 and its space-separated variants (Zookeeper: 2015-07-29 17:41:44,747).
        rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_CLOCK}(?:Z|[+-]\d{{2}}:?\d{{2}})?)?",
        # Apache ([Sun Dec 04 04:47:44 2005]) and syslog (Jun 14 15:16:01, Jun  9 ...).
        rf"(?:{_DAY},? +)?{_MONTH} +\d{{1,2}},? +{_CLOCK}(?: +\d{{4}})?",
        rf"{_MONTH} +\d{{1,2}},? +\d{{4}}",
        # A bare time of day (an HDFS-style date, 081109, is a number).
        rf"\b{_CLOCK}\b",
    )
)
_IP = (
    # IPv6: eight groups, or a compressed form with "::" (an optional IPv4 tail), not after
    # a word character or a colon (C++'s ns::name is left alone); then IPv4.
    rf"(^|[^\w:])(?:(?:{_HEX}{{1,4}}:){{7}}{_HEX}{{1,4}}|(?:{_V6_GROUPS})?::"
    rf"(?:(?:{_HEX}{{1,4}}:)*\d{{1,3}}(?:\.\d{{1,3}}){{3}}|{_V6_GROUPS})?)\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"
)
_PATH = (
    # Unix, from a slash that does not follow a word character (HTTP/1.1 is text), and
    # Windows drive paths.
    r"(^|[^\w./<>-])(?:/[\w.@+~%-]+)+/?"
    r"|\b[A-Za-z]:\\[^\s\"'\\]*(?:\\[^\s\"'\\]+)*"
)
_NUMBER = (
    # Hex ids first, whole words (0x1f, 3fa2c9...), else a number's digits would be taken
    # out of them. A sign counts only after a non-alphanumeric character, so HDFS's
    # blk_-695... and blk_388... are one template while a-5 keeps its hyphen.
    rf"\b0[xX]{_HEX}+\b|\b{_HEX}*(?:\d{_HEX}*[A-Fa-f]|[A-Fa-f]{_HEX}*\d){_HEX}*\b"
    r"|(^|[^0-9A-Za-z])-\d+(?:\.\d+)*|\d+(?:\.\d+)*"
)

MASKS: tuple[tuple[str, str], ...] = (
    # Timestamps first: their digits and colons would otherwise be numbers or an IPv6.
    (_TIMESTAMP, "<TS>"),
    # 8-4-4-4-12 hex before any hex or number mask takes it apart.
    (rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b", "<UUID>"),
    (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "<EMAIL>"),
    (_IP, r"\1<IP>"),
    (_PATH, r"\1<PATH>"),
    # Hex ids and numbers are one placeholder: an id such as a trace id is hex, and one in
    # ~40 of 8 hex digits has no letter, so two placeholders would split its events in two.
    (_NUMBER, r"\1<NUM>"),
    # Runs of whitespace, and any tab or line break, as one space. (Replacing every
    # whitespace character, single spaces included, took 154 ms of 100,000 events' ~600.)
    (r"\s\s+|[\t\n\v\f\r]", " "),
)
"""The masks, in order: (RE2 pattern, replacement). One pass each; alternatives that share
a placeholder share a pass (a pass over 100,000 synthetic events took 20-50 ms, about the
same whatever the pattern)."""

QUOTED_MASK: tuple[tuple[str, str], ...] = (
    # "..." and '...', in one pass; an apostrophe inside a word (can't, don't) does not
    # open a quoted value.
    (r"(^|[^\w'])(')[^']*'|()(\")[^\"]*\"", r"\1\2\3\4<STR>\2\4"),
)
"""Quoted values, masked in lines of text only (see the module docstring)."""

_FIELDS = pa.schema([pa.field(MESSAGE, pa.string()), pa.field("msg", pa.string())])


def _replace_all(texts: pa.Array, masks: tuple[tuple[str, str], ...]) -> pa.Array:
    for pattern, replacement in masks:
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    return texts


def _message_fields(messages: pa.Array) -> pa.Array:
    """
    :param messages: JSON object texts (null where a row is not JSON with a text message).
    :return: Each row's string ``message`` field, else its ``msg`` field, else null.
    """
    lines = pc.binary_join_element_wise(messages, pa.scalar(""), "\n")
    size = pc.sum(pc.binary_length(lines)).as_py() or 0
    options = pa_json.ParseOptions(explicit_schema=_FIELDS, unexpected_field_behavior="ignore")
    try:
        # Parsed in C++: two string columns out of a batch of JSON objects.
        table = pa_json.read_json(
            pa.BufferReader(lines.buffers()[2].slice(0, size)), parse_options=options
        )
        if table.num_rows == len(messages):
            return pc.coalesce(table.column(MESSAGE), table.column("msg")).combine_chunks()
    except (pa.ArrowInvalid, ValueError):
        pass
    # A row that is not a JSON object, or whose message is not a string (rare): row by row.
    return pa.array([_message_field(m) for m in messages.to_pylist()], pa.string())


def _message_field(text: str | None) -> str | None:
    try:
        event = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    for key in (MESSAGE, "msg"):
        if isinstance(event.get(key), str):
            return str(event[key])
    return None


def event_texts(batch: pa.RecordBatch) -> tuple[pa.Array, pa.Array]:
    """
    The text of each event to find its template in (see the module docstring).

    :param batch: Rows of :data:`~logpager.schema.RESULT_SCHEMA` or of the verbatim schema.
    :return: The texts, and per row whether it is a line of text (its quoted values are
        masked) rather than a whole JSON event.
    """
    if batch.schema.get_field_index(MESSAGE) < 0:
        items = batch.column(ITEM)
        return items, pa.array([True] * len(items), pa.bool_())
    messages = batch.column(MESSAGE)
    fields = _message_fields(messages)
    # A message that is no JSON object (the seed API takes any text) is a line of text too.
    is_text = pc.or_(pc.is_valid(fields), pc.invert(pc.starts_with(messages, "{")))
    return pc.coalesce(fields, messages), is_text


def mask_texts(texts: pa.Array, is_text: pa.Array, max_chars: int) -> pa.Array:
    """
    :param texts: Event texts (:func:`event_texts`).
    :param is_text: Per row, whether to mask quoted values too.
    :param max_chars: Templates are cut to this many characters (bounds the memory a long
        event's template holds; events alike over that length group together).
    :return: The templates.
    """
    masked = _replace_all(texts, MASKS)
    if pc.any(is_text).as_py():
        quoted = _replace_all(masked, QUOTED_MASK)
        masked = quoted if pc.all(is_text).as_py() else pc.if_else(is_text, quoted, masked)
    return pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(masked), 0, max_chars)


def templates_of(batch: pa.RecordBatch, max_chars: int) -> pa.Array:
    """
    :param batch: Rows of :data:`~logpager.schema.RESULT_SCHEMA` or of the verbatim schema.
    :param max_chars: Longest template kept (see :func:`mask_texts`).
    :return: Each row's template.
    """
    texts, is_text = event_texts(batch)
    return mask_texts(texts, is_text, max_chars)
