"""The startup heap is frozen out of the collector's reach before serving, when asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from logpager.server.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freezing_moves_the_live_objects_out_of_reach(unfrozen: None) -> None:
    kept = [object() for _ in range(1000)]
    frozen = freeze_startup_heap(True)
    assert frozen == gc.get_freeze_count()
    assert frozen > len(kept)
    # A full collection now walks only what was made since.
    assert sum(gc.get_count()) < frozen


def test_off_leaves_the_collector_alone(unfrozen: None) -> None:
    assert freeze_startup_heap(False) == 0
    assert gc.get_freeze_count() == 0
