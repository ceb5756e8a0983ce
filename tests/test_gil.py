"""The interpreter's thread switch interval while serving."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from logpager.server.gil import set_switch_interval
from logpager.settings import Settings


@pytest.fixture
def python_interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    yield before
    sys.setswitchinterval(before)


def test_the_setting_becomes_the_interval(python_interval: float) -> None:
    seconds = Settings().gil_switch_interval_seconds
    assert seconds is not None
    assert seconds < python_interval
    assert set_switch_interval(seconds) == pytest.approx(seconds)


def test_none_leaves_pythons_own(python_interval: float) -> None:
    assert set_switch_interval(None) == python_interval


def test_a_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="gil_switch_interval_seconds"):
        Settings(gil_switch_interval_seconds=0)
