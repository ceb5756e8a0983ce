"""The exception tree drawn in ``logpager.errors`` is the one the classes form."""

from __future__ import annotations

import re

import pytest

import logpager
from logpager import errors


def _drawn_parents() -> dict[str, str | None]:
    """Reads the drawing in the module docstring: each class name and the class above it."""
    doc = errors.__doc__ or ""
    drawing = doc[doc.index("Hierarchy::") :].splitlines()[2:]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing:
        match = re.match(r"^(\s*)(?:[|+\- ]*?)([A-Z]\w+Error)\b", line)
        if match is None:
            if parents:
                break
            continue
        depth = line.index(match.group(2))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def _error_classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name in errors.__all__
        if isinstance(value := getattr(errors, name), type) and issubclass(value, BaseException)
    }


def test_drawing_names_every_error_class_once() -> None:
    drawn = _drawn_parents()
    assert set(drawn) == set(_error_classes())


@pytest.mark.parametrize("name", sorted(_drawn_parents()))
def test_drawn_parent_is_the_real_parent(name: str) -> None:
    cls = _error_classes()[name]
    parent = _drawn_parents()[name]
    logpager_bases = [b for b in cls.__bases__ if b.__module__ == errors.__name__]
    if parent is None:
        assert logpager_bases == []
    else:
        assert logpager_bases == [getattr(errors, parent)]


def test_everything_raised_on_purpose_is_a_logpager_error() -> None:
    for name, cls in _error_classes().items():
        assert issubclass(cls, errors.LogpagerError), name


def test_settings_error_is_also_a_value_error() -> None:
    # Callers that validate values catch ValueError; logpager's callers catch LogpagerError.
    assert issubclass(errors.SettingsError, ValueError)
    assert issubclass(errors.SettingsError, errors.LogpagerError)


def test_every_error_class_is_exported_from_the_package() -> None:
    for name in _error_classes():
        assert getattr(logpager, name) is getattr(errors, name), name
