"""A periodic task runs its action again and again, survives a failing run, and stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from logpager.periodic import PeriodicTask


async def test_runs_until_stopped_and_survives_a_failing_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0
    third = asyncio.Event()

    async def action() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            raise RuntimeError("one bad run")
        if runs == 3:
            third.set()

    task = PeriodicTask("test-periodic", action, lambda: 0.0)
    with caplog.at_level(logging.ERROR, logger="logpager.periodic"):
        await task.start()
        await task.start()  # idempotent: still one loop
        await asyncio.wait_for(third.wait(), timeout=10)
        await task.stop()
    assert not task.running
    assert any("test-periodic failed" in r.getMessage() for r in caplog.records)
    stopped_at = runs
    await asyncio.sleep(0)
    assert runs == stopped_at


async def test_stop_before_start_is_harmless() -> None:
    async def action() -> None:
        raise AssertionError("never runs")

    task = PeriodicTask("idle", action, lambda: 3600.0)
    await task.stop()
    await task.start()
    assert task.running
    await task.stop()
    assert not task.running
