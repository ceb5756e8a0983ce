"""Result handles are capabilities: random, long enough, never derived from client input."""

from __future__ import annotations

import base64
import inspect

from logpager.sessions.handles import HANDLE_BYTES, new_handle


def test_a_handle_carries_at_least_128_random_bits() -> None:
    assert HANDLE_BYTES * 8 >= 128
    handle = new_handle()
    raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4))
    assert len(raw) == HANDLE_BYTES


def test_handles_do_not_repeat() -> None:
    handles = {new_handle() for _ in range(10_000)}
    assert len(handles) == 10_000


def test_a_handle_takes_nothing_from_its_caller() -> None:
    # Minted from the system's CSPRNG alone: nothing a client sends can steer it.
    assert inspect.signature(new_handle).parameters == {}
