"""The clock every time-dependent part takes as an argument, so tests move time themselves."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Clock"]

Clock = Callable[[], float]
"""A monotonic clock in seconds (``time.monotonic`` in production, a fake one in tests)."""
