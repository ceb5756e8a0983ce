"""When two searches ask for the same thing: a KQL query's canonical text, and the reuse key.

A search may be answered from a live cached result (see :mod:`logpager.sessions.reuse`) when
its :class:`ReuseKey` equals that result's: the canonical query, the time bounds, the archives
a new search would cover, the cap and the page size.

The canonical text changes only what cannot change what ``clp-s`` matches. Measured with
``clp-s s -i`` on a JSON archive (events ``{"Level": "Error", "msg": "Hello World 1"}``):

- ``Level: error`` matched 5 events, ``level: error`` and ``LEVEL: ERROR`` none: ``-i`` folds
  the case of values but not of keys, so only values (and the operators ``and``/``or``/``not``,
  which matched the same in either case) are folded, and only ASCII letters (what a
  byte-oriented engine folds); a key (a token followed by ``:`` or a comparison) keeps its
  case. Without ``ignore_case`` nothing is folded.
- ``msg: "hello world 1"`` matched 1, ``msg: "hello  world 1"`` none: whitespace inside a
  quoted string is part of the value, so runs of whitespace are collapsed to one space only
  outside quotes (unquoted values cannot hold whitespace: ``*WORLD 1*`` is a parse error).

The rejected alternative, collapsing and lower-casing the whole string, would have served
``level: error`` (no match) from the result of ``Level: error`` (5 matches).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from logpager.query import QuerySpec

__all__ = ["ReuseKey", "normalize_query"]

_PUNCTUATION = frozenset("():<>={}!")
_KEY_FOLLOWERS = frozenset(":<>")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class ReuseKey:
    """
    What a search asks for, as far as reusing a cached result goes.

    :param query: The canonical query (:func:`normalize_query`).
    :param begin_ms: Lower time bound (epoch ms), if any.
    :param end_ms: Upper time bound (epoch ms), if any.
    :param archive_ids: The archives searched, sorted.
    :param max_results: The cap.
    :param page_size: Items per page.
    """

    query: str
    begin_ms: int | None
    end_ms: int | None
    archive_ids: tuple[str, ...]
    max_results: int
    page_size: int

    @classmethod
    def of(
        cls,
        spec: QuerySpec,
        archive_ids: Sequence[str],
        *,
        ignore_case: bool,
        max_results: int,
        page_size: int,
    ) -> ReuseKey:
        """
        :param spec: A search request, or a built result's spec.
        :param archive_ids: The archives the search covers (a new search: the backend's
            ``list_archives()``; a result: its spec's pinned archives).
        :param ignore_case: Whether the engine matches values case-insensitively.
        :param max_results: The cap when ``spec`` leaves it to the settings.
        :param page_size: The page size when ``spec`` leaves it to the settings.
        :return: The key.
        """
        return cls(
            query=normalize_query(spec.query, ignore_case=ignore_case),
            begin_ms=spec.begin_ms,
            end_ms=spec.end_ms,
            archive_ids=tuple(sorted(archive_ids)),
            max_results=spec.max_results or max_results,
            page_size=spec.page_size or page_size,
        )


def normalize_query(query: str, *, ignore_case: bool) -> str:
    """
    The canonical text of a KQL query: equal texts match the same events (see the module
    docstring for what is changed and why).

    :param query: KQL as the caller gave it.
    :param ignore_case: Fold the ASCII case of values and operators (not of keys).
    :return: The query with whitespace runs outside quotes collapsed to one space, the ends
        stripped, and (with ``ignore_case``) its values' case folded.
    """
    tokens = list(_tokens(query))
    out: list[str] = []
    for i, (kind, text) in enumerate(tokens):
        if kind == "space":
            out.append(" ")
        elif kind == "punct" or not ignore_case or _is_key(tokens, i):
            out.append(text)
        else:
            out.append(_fold(text))
    return "".join(out).strip()


def _tokens(query: str) -> Iterator[tuple[str, str]]:
    """:return: ``(kind, text)`` pairs: ``space``, ``punct``, ``quoted`` or ``word``."""
    i, n = 0, len(query)
    while i < n:
        start = i
        char = query[i]
        if char.isspace():
            while i < n and query[i].isspace():
                i += 1
            yield "space", query[start:i]
        elif char in _PUNCTUATION:
            yield "punct", char
            i += 1
        elif char == '"':
            i += 1
            while i < n and query[i] != '"':
                i += 2 if query[i] == "\\" else 1
            i = min(i + 1, n)
            yield "quoted", query[start:i]
        else:
            while i < n and not (
                query[i].isspace() or query[i] in _PUNCTUATION or query[i] == '"'
            ):
                i += 2 if query[i] == "\\" else 1
            i = min(i, n)
            yield "word", query[start:i]


def _is_key(tokens: Sequence[tuple[str, str]], index: int) -> bool:
    """:return: Whether the token at ``index`` is followed by ``:`` or a comparison."""
    for kind, text in tokens[index + 1 :]:
        if kind != "space":
            return kind == "punct" and text in _KEY_FOLLOWERS
    return False


def _fold(text: str) -> str:
    """:return: ``text`` with its ASCII letters lower-cased, except those escaped."""
    if "\\" not in text:
        return text.translate(_ASCII_LOWER)
    out: list[str] = []
    escaped = False
    for char in text:
        out.append(char if escaped else char.translate(_ASCII_LOWER))
        escaped = not escaped and char == "\\"
    return "".join(out)
