"""What a query must be before it reaches clp-s, and the hints for common mistakes."""

from __future__ import annotations

import pytest

from logpager.errors import QuerySyntaxError
from logpager.search.kql import quote_query, syntax_hint, validate_query


@pytest.mark.parametrize(
    ("query", "fixed"),
    [
        ("message: *Failed password*", 'message: "*Failed password*"'),
        ("message: *Failed password* AND message: *root*", 'message: "*Failed password*"'),
        ("level: ERROR AND message: disk full now", 'message: "disk full now"'),
    ],
)
def test_unquoted_spaces_get_a_quoted_rewrite(query: str, fixed: str) -> None:
    assert syntax_hint(query) == (
        f" Hint: quote a value that has spaces (wildcards go inside the quotes): {fixed}"
    )


@pytest.mark.parametrize(
    ("query", "fixed"),
    [
        ("message: (*error* OR *fail*)", "(message: *error* OR message: *fail*)"),
        ('msg:("a b" or c)', '(msg: "a b" or msg: c)'),
    ],
)
def test_a_field_before_a_group_gets_the_field_repeated(query: str, fixed: str) -> None:
    assert syntax_hint(query) == (
        f" Hint: a field applies to one value, not to a group; repeat the field: {fixed}"
    )


@pytest.mark.parametrize(
    "query",
    ["message: (", "a: (b: c)", 'message: "a b"', "*error* AND *fail*", "level: ERROR OR x"],
)
def test_no_hint_without_a_common_mistake(query: str) -> None:
    assert syntax_hint(query) == ""


@pytest.mark.parametrize(
    ("query", "rest"),
    [
        ("-message: *error*", "message: *error*"),
        ("- level:ERROR", "level:ERROR"),
        ("-(a OR b)", "(a OR b)"),
        ("-*timeout*", "*timeout*"),
    ],
)
def test_a_leading_minus_is_refused_with_not_as_the_fix(query: str, rest: str) -> None:
    with pytest.raises(QuerySyntaxError) as exc:
        validate_query(query, 1000)
    assert str(exc.value) == (
        f"Invalid KQL query `{query}`: a leading '-' does not negate in KQL (it would match "
        f"nothing). Hint: use NOT: NOT {rest}"
    )


def test_a_literal_value_that_starts_with_minus_is_a_query() -> None:
    # "-h" is a value (a command-line flag in a log line), not negation.
    assert validate_query(" -h ", 1000) == "-h"


def test_a_query_is_quoted_as_typed() -> None:
    query = """message: "it's \\ here\""""
    assert quote_query(query) == f"`{query}`"
    assert "\\\\" not in quote_query(query)
