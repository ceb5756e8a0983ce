"""Small search-result rows built in memory, for tests and benchmarks of the cache."""

from __future__ import annotations

import pyarrow as pa

from logpager.schema import RESULT_SCHEMA

__all__ = ["make_events"]


def make_events(
    n: int, *, start_ms: int = 1_700_000_000_000, archive: str = "arch-1"
) -> pa.RecordBatch:
    """
    :param n: Events.
    :param start_ms: Timestamp of the first (epoch ms); one second apart.
    :param archive: Their archive id.
    :return: ``n`` JSON events as result rows, in ascending time order (the engine's natural
        order), with ``log_event_index`` 0..n-1.
    """
    return pa.record_batch(
        [
            pa.array([start_ms + i * 1000 for i in range(n)], pa.int64()),
            pa.array([f'{{"level":"INFO","message":"event {i}"}}' for i in range(n)]),
            pa.array([archive] * n),
            pa.array(range(n), pa.int64()),
        ],
        schema=RESULT_SCHEMA,
    )
