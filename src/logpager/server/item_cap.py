"""Cutting a page's long items to a length the caller chose (``get_nth_page``'s
``max_item_chars``), to spend fewer tokens on events whose start tells enough."""

from __future__ import annotations

from typing import Any

from logpager.cache import PageDict
from logpager.errors import InvalidArgumentError

__all__ = ["MAX_ITEM_CHARS_SCHEMA", "MIN_ITEM_CHARS", "cap_items", "check_max_item_chars"]

MIN_ITEM_CHARS = 20
"""The shortest cap: below it an item keeps too little to recognise an event by."""

MAX_ITEM_CHARS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "integer", "minimum": MIN_ITEM_CHARS}, {"type": "null"}],
    "default": None,
}
"""The input schema ``get_nth_page`` advertises for ``max_item_chars``."""


def check_max_item_chars(value: object) -> int | None:
    """
    :param value: ``max_item_chars`` as received.
    :return: The cap, or None for no cap.
    :raise InvalidArgumentError: If it is not None or an int (not a bool) of at least
        :data:`MIN_ITEM_CHARS`.
    """
    if value is None:
        return None
    if type(value) is not int or value < MIN_ITEM_CHARS:
        msg = (
            f"expected an integer >= {MIN_ITEM_CHARS} (characters kept of each item) or "
            f"null for whole items, got {value!r}"
        )
        raise InvalidArgumentError("max_item_chars", msg)
    return value


def cap_items(page: PageDict, max_chars: int) -> PageDict:
    """
    Cuts each item longer than ``max_chars``: its first ``max_chars`` characters are kept,
    followed by ``… [+N chars]`` (N the characters cut).

    :param page: A page (``items`` a list of strings).
    :param max_chars: Characters kept of each item.
    :return: The page with its items cut and ``num_items_cut`` (how many were cut).
    """
    items: list[str] = []
    cut = 0
    for item in page["items"]:
        if len(item) > max_chars:
            items.append(f"{item[:max_chars]}… [+{len(item) - max_chars} chars]")
            cut += 1
        else:
            items.append(item)
    return {**page, "items": items, "num_items_cut": cut}
