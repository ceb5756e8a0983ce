"""The pages a result serves: the agent's page index checked, and the page dict cut out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from paginate import Page

from logpager.errors import InvalidPageIndexError

__all__ = ["PageDict", "serve_page", "validate_page_index"]

PageDict = dict[str, Any]


def validate_page_index(page_index: object, num_total_pages: int) -> int:
    """
    Checks an agent-supplied page index before any page arithmetic.

    ``paginate.Page`` clamps numbers below 1 to 1, so a negative index would silently serve
    page 0; this check runs first.

    :param page_index: The requested 0-based page index, as received.
    :param num_total_pages: Pages in the result.
    :return: The index as an ``int``.
    :raise InvalidPageIndexError: Unless ``page_index`` is a real ``int`` (not ``bool``) in
        ``0..num_total_pages-1``.
    """
    if type(page_index) is not int or page_index < 0 or page_index >= max(num_total_pages, 1):
        raise InvalidPageIndexError(num_total_pages)
    return page_index


def serve_page(
    items: Sequence[str], page_index: object, page_size: int, num_total_matches: int
) -> PageDict:
    """
    Cuts one page out of a result's items.

    :param items: Every item of the result, latest first; only the page's slice is read.
    :param page_index: The requested 0-based page index, as received.
    :param page_size: Items per page.
    :param num_total_matches: The search's count of all matches (at least ``len(items)``).
    :return: The page dict: ``items``, ``num_total_pages``, ``num_total_items``,
        ``num_items_per_page``, ``has_next``, ``has_previous``, ``page_index``,
        ``num_total_matches``, ``truncated``.
    :raise InvalidPageIndexError: If the index is not an int in range (no items: one empty
        page, index 0).
    """
    num_items = len(items)
    num_pages = math.ceil(num_items / page_size)
    index = validate_page_index(page_index, num_pages)
    page = Page(items, page=index + 1, items_per_page=page_size, item_count=num_items)
    return {
        "items": page.items,
        "num_total_pages": num_pages,
        "num_total_items": num_items,
        "num_items_per_page": page_size,
        "has_next": page.next_page is not None,
        "has_previous": page.previous_page is not None,
        "page_index": index,
        "num_total_matches": num_total_matches,
        "truncated": num_total_matches > num_items,
    }
