"""What a KQL query must be before it reaches ``clp-s``."""

from __future__ import annotations

from logpager.errors import QuerySyntaxError

__all__ = ["validate_query"]


def validate_query(query: str, max_length: int) -> str:
    """
    Checks a KQL query before it reaches ``clp-s``.

    :param query: The query as received.
    :param max_length: Longest accepted query in UTF-8 bytes (``settings.max_query_length``).
    :return: The query, stripped of surrounding whitespace.
    :raise QuerySyntaxError: If it is not a non-empty string of valid UTF-8 without NUL bytes
        and at most ``max_length`` bytes long.
    """
    if not isinstance(query, str):
        msg = f"Invalid KQL query: expected a string, got {type(query).__name__}"
        raise QuerySyntaxError(msg)
    stripped = query.strip()
    if not stripped:
        msg = "Invalid KQL query: the query is empty (use * to match every event)"
        raise QuerySyntaxError(msg)
    if "\x00" in stripped:
        msg = "Invalid KQL query: it contains a NUL character"
        raise QuerySyntaxError(msg)
    try:
        size = len(stripped.encode("utf-8"))
    except UnicodeEncodeError as exc:
        msg = f"Invalid KQL query: it is not valid UTF-8 ({exc.reason} at {exc.start})"
        raise QuerySyntaxError(msg) from exc
    if size > max_length:
        msg = (
            f"Invalid KQL query: it is {size} bytes long; the longest accepted is {max_length} "
            "bytes. Narrow it, or split it into several queries."
        )
        raise QuerySyntaxError(msg)
    return stripped
