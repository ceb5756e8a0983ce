"""Events of plain-text logs: the JSON an ingest wraps a line in, and the line back for items.

``clp-s`` takes JSON, so an ingest writes each text-log event as
``{"timestamp":<epoch ms>,"message":"<the line(s)>"}`` (the timestamp left out when the line
has none). The stored message keeps that JSON (analysis reads fields from it, KQL searches
``message``); an item shows the line itself, as written, since its timestamp is already the
item's own: the wrapper and the second copy of the epoch cost a reader ~40 characters an
item and put the line inside JSON escaping.

A JSON log whose events hold exactly these two keys (a numeric timestamp and a string
message, in this order, compact) reads the same as a text log's: its items show the message.
"""

from __future__ import annotations

import json
import re

__all__ = ["TEXT_LOG_EVENT", "item_message", "line_of_epoch_tail"]

TEXT_LOG_EVENT = r'^\{(?:"timestamp":-?(?:0|[1-9][0-9]*),)?"message":"(?:[^"\\\x00-\x1f]|\\.)*"\}$'
"""RE2 (and Python) pattern of a wrapped plain-text line: exactly a timestamp (optional) and a
message, as :mod:`logpager.ingest.conversion` writes them."""

_TEXT_EVENT = re.compile(
    r'\{(?:"timestamp":-?(?:0|[1-9][0-9]*),)?"message":"((?:[^"\\\x00-\x1f]|\\.)*)"\}'
)
_STARTS = ('{"timestamp":', '{"message":"')
_TAIL_HEAD = ',"message":"'
_TAIL_END = '"}'


def item_message(message: str) -> str:
    """
    :param message: An event's message as stored (its JSON text).
    :return: What an item shows: the line of a text-log event, any other message as it is.
    """
    if not message.startswith(_STARTS):
        return message
    match = _TEXT_EVENT.fullmatch(message)
    if match is None:
        return message
    body = match.group(1)
    if "\\" not in body:
        return body
    try:
        line: str = json.loads(f'"{body}"')
        line.encode()  # a lone surrogate (\ud800) could not be sent
    except (ValueError, UnicodeEncodeError):
        return message  # not valid JSON after all: shown as stored
    return line


def line_of_epoch_tail(tail: str) -> str | None:
    """
    The line of a text-log event whose ``{"timestamp":<epoch>`` was dropped from its stored
    message (the chunk's epoch elision), from what is left, without rebuilding the JSON.

    :param tail: The stored message after the dropped copy, e.g. ``,"message":"..."}``.
    :return: The line when the tail is exactly a message without escapes (the common case),
        else None (the caller formats the whole message with :func:`item_message`).
    """
    if not (tail.startswith(_TAIL_HEAD) and tail.endswith(_TAIL_END)):
        return None
    body = tail[len(_TAIL_HEAD) : -len(_TAIL_END)]
    if '"' in body or "\\" in body or not body.isprintable():
        return None  # escapes, another key, or a control character: the careful path
    return body
