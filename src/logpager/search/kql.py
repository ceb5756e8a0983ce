"""What a KQL query must be before it reaches ``clp-s``, and hints for queries that fail.

The hints name the mistakes people make most with clp-s's KQL: a value with spaces left
unquoted (``message: *Failed password*``), one field before a group of values
(``message: (*error* OR *fail*)``), and a leading ``-`` meant as negation.
"""

from __future__ import annotations

import re

from logpager.errors import QuerySyntaxError

__all__ = ["quote_query", "syntax_hint", "validate_query"]

# A leading "-" before a field, a group or a wildcard is negation as other query languages
# write it; clp-s reads it as part of a value and matches nothing.
_LEADING_MINUS = re.compile(r'-\s*(?=\(|\*|[^\s()":]+\s*:)')
_TOKEN = re.compile(
    r'(?P<field>[^\s()":]+)\s*:|(?P<quoted>"(?:[^"\\]|\\.)*"?)|(?P<paren>[()])|'
    r'(?P<word>[^\s()"]+)'
)
_OPERATORS = {"AND", "OR", "NOT"}


def validate_query(query: str, max_length: int) -> str:
    """
    Checks a KQL query before it reaches ``clp-s``.

    :param query: The query as received.
    :param max_length: Longest accepted query in UTF-8 bytes (``settings.max_query_length``).
    :return: The query, stripped of surrounding whitespace.
    :raise QuerySyntaxError: If it is not a non-empty string of valid UTF-8 without NUL bytes
        and at most ``max_length`` bytes long, or it starts with a ``-`` meant as negation.
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
    minus = _LEADING_MINUS.match(stripped)
    if minus:
        msg = (
            f"Invalid KQL query {quote_query(stripped)}: a leading '-' does not negate in KQL "
            f"(it would match nothing). Hint: use NOT: NOT {stripped[minus.end() :]}"
        )
        raise QuerySyntaxError(msg)
    return stripped


def quote_query(query: str) -> str:
    """
    :param query: A query.
    :return: It as typed, between backticks, for a message (not Python's escaped repr).
    """
    return f"`{query}`"


def syntax_hint(query: str) -> str:
    """
    Names the common mistake a query that does not parse makes, with the query rewritten.

    :param query: A query ``clp-s`` could not parse.
    :return: ``" Hint: ..."``, or ``""`` when none of the common mistakes is in it.
    """
    tokens = [(m.lastgroup or "", m.group(m.lastgroup or 0)) for m in _TOKEN.finditer(query)]
    for i, (kind, name) in enumerate(tokens):
        if kind != "field":
            continue
        rest = tokens[i + 1 :]
        if rest and rest[0] == ("paren", "("):
            values: list[str] = []
            for kind_in, value in rest[1:]:
                if (kind_in, value) == ("paren", ")"):
                    if values:
                        return (
                            " Hint: a field applies to one value, not to a group; repeat the "
                            f"field: ({' '.join(values)})"
                        )
                    break
                if kind_in not in ("word", "quoted"):
                    break  # a nested group or a field: not the simple mistake
                values.append(value if value.upper() in _OPERATORS else f"{name}: {value}")
            continue
        words = []
        for kind_in, value in rest:
            if kind_in != "word" or value.upper() in _OPERATORS:
                break
            words.append(value)
        if len(words) > 1:
            return (
                " Hint: quote a value that has spaces (wildcards go inside the quotes): "
                f'{name}: "{" ".join(words)}"'
            )
    return ""
