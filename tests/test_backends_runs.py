"""Sorted runs: the merge equals one sort of every hit, in any arrival order, in bounded runs."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logpager.schema import RESULT_SCHEMA
from logpager.search.ranking import HIT_KEY, NO_TIMESTAMP, hits_as_results
from logpager.search.runs import SortedRuns

Hit = tuple[int, str, str, int]  # key, message, archive id, event index


def _block(hits: list[Hit]) -> pa.RecordBatch:
    keys, messages, archives, indexes = zip(*hits, strict=True) if hits else ([], [], [], [])
    return pa.RecordBatch.from_arrays(
        [
            pa.array(keys, pa.int64()),
            pa.array(messages, pa.string()),
            pa.array(archives, pa.string()),
            pa.array(indexes, pa.int64()),
        ],
        names=[HIT_KEY, "message", "archive_id", "log_event_index"],
    )


def _expected(hits: list[Hit], cap: int) -> list[tuple[Any, ...]]:
    """One sort of everything: timestamp, archive id, event index, all descending."""
    best = sorted(hits, key=lambda h: (h[0], h[2], h[3]), reverse=True)[:cap]
    return [(None if k == NO_TIMESTAMP else k, m, a, i) for k, m, a, i in best]


def _rows(batches: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for batch in batches:
        assert batch.schema.equals(RESULT_SCHEMA)
        out.extend(
            (r["timestamp"], r["message"], r["archive_id"], r["log_event_index"])
            for r in batch.to_pylist()
        )
    return out


def _make_hits(count: int, seed: int, archives: int = 4) -> list[Hit]:
    rng = random.Random(seed)
    names = ["b-2", "a", "c", "Z9"][:archives]
    hits = []
    for i in range(count):
        # Few distinct timestamps so that ties on time (and on archive) are common.
        key = NO_TIMESTAMP if rng.random() < 0.05 else rng.randrange(0, 40)
        hits.append((key, f"event {i} " + "x" * rng.randrange(0, 60), names[i % len(names)], i))
    return hits


@hsettings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 700),
    seed=st.integers(0, 10**6),
    cap=st.integers(1, 800),
    block=st.integers(1, 120),
    piece_bytes=st.sampled_from([1, 40, 300, 65_536]),
    max_runs=st.integers(2, 6),
    batch_rows=st.integers(1, 90),
    arrival=st.sampled_from(["as made", "shuffled", "oldest first", "latest first"]),
)
def test_merge_equals_one_sort(
    count: int,
    seed: int,
    cap: int,
    block: int,
    piece_bytes: int,
    max_runs: int,
    batch_rows: int,
    arrival: str,
) -> None:
    hits = _make_hits(count, seed)
    if arrival == "shuffled":
        random.Random(seed).shuffle(hits)
    elif arrival != "as made":
        # Oldest first is how clp-s reports an archive: blocks then extend one run.
        hits.sort(key=lambda h: (h[0], h[2], h[3]), reverse=arrival == "latest first")
    runs = SortedRuns(cap, piece_bytes=piece_bytes, zstd_level=1, max_runs=max_runs)
    for start in range(0, count, block):
        runs.add(_block(hits[start : start + block]))
        assert runs.num_runs <= max_runs
        assert runs.held <= 2 * cap + block
    merged = runs.finish(batch_rows)
    expected = _expected(hits, cap)
    assert merged.num_rows == len(expected)
    assert _rows(merged) == expected
    # Random access gives the same batches, and reading does not consume them.
    if len(merged):
        index = seed % len(merged)
        assert _rows([merged[index]]) == _rows(list(merged)[index : index + 1])
        assert _rows(merged[-1:]) == _rows([merged[len(merged) - 1]])
    assert _rows(merged.drain()) == expected


def test_interleaved_archives_keep_runs_and_memory_bounded() -> None:
    # Four archives over the same time range, reported archive by archive: every run
    # overlaps every other, the order that makes a merge hold the most at once.
    hits = []
    for archive in ("w", "x", "y", "z"):
        hits += [(t * 10, f"{archive} {t} " + "p" * 80, archive, t) for t in range(3000)]
    runs = SortedRuns(2_500, piece_bytes=2_048, zstd_level=1, max_runs=4)
    largest_piece = 0
    for start in range(0, len(hits), 500):
        runs.add(_block(hits[start : start + 500]))
        assert runs.num_runs <= 4
        assert runs.held <= 2 * 2_500 + 500
    merged = runs.finish(700)
    assert merged.num_rows == 2_500
    sources = list(merged._runs)
    held_pieces = []
    rows: list[tuple[Any, ...]] = []
    for batch in merged.drain():
        rows += _rows([batch])
        current = [run._current for run in merged._runs if run._current is not None]
        held_pieces.append(len(current))
        largest_piece = max([largest_piece, *(len(c[1]) for c in current)])
    assert rows == _expected(hits, 2_500)
    # One decoded piece per run at most, each about piece_bytes of text.
    assert max(held_pieces) <= 4
    assert largest_piece <= 2_048 // 80 + 1
    # Every piece was freed once read.
    assert sources
    assert all(p is None for run in sources for p in run.pieces)


def test_drain_hands_over_once() -> None:
    runs = SortedRuns(100, piece_bytes=64, zstd_level=1, max_runs=4)
    runs.add(_block(_make_hits(50, 1)))
    merged = runs.finish(16)
    first = list(merged)
    assert _rows(merged.drain()) == _rows(first)
    with pytest.raises(RuntimeError, match="handed over"):
        merged[0]
    with pytest.raises(RuntimeError, match="handed over"):
        merged.drain()
    assert merged.num_rows == 50


def test_empty_and_floor() -> None:
    runs = SortedRuns(3, piece_bytes=64, zstd_level=1, max_runs=2)
    assert list(runs.finish(10)) == []
    runs = SortedRuns(2, piece_bytes=64, zstd_level=1, max_runs=2)
    runs.add(_block([(5, "a", "a", 0), (6, "b", "a", 1), (7, "c", "a", 2)]))
    runs.add(_block([(8, "d", "a", 3), (9, "e", "a", 4)]))
    assert runs.floor == 8  # pruned to the best two, whose lowest timestamp is the floor
    runs.add(_block([(1, "f", "a", 5), (10, "g", "a", 6)]))
    assert _rows(runs.finish(10)) == [(10, "g", "a", 6), (9, "e", "a", 4)]
    assert runs.archive_names == ["a"]


def test_null_keys_are_rejected() -> None:
    runs = SortedRuns(3, piece_bytes=64, zstd_level=1, max_runs=2)
    bad = _block([(1, "a", "a", 0)]).set_column(0, HIT_KEY, pa.array([None], pa.int64()))
    with pytest.raises(ValueError, match="must not be null"):
        runs.add(bad)


def test_hits_as_results_is_latest_first() -> None:
    rows = hits_as_results(
        _block([(1, "a", "x", 0), (NO_TIMESTAMP, "b", "x", 1), (3, "c", "x", 2)])
    )
    assert rows.schema.equals(RESULT_SCHEMA)
    assert rows.column("timestamp").to_pylist() == [3, 1, None]
    assert rows.column("message").to_pylist() == ["c", "a", "b"]


def test_hits_as_results_sorts_several_blocks_together() -> None:
    # The dictionary sample: blocks as they arrived, sorted as one.
    blocks = [_block([(1, "a", "x", 0), (5, "e", "y", 4)]), _block([(3, "c", "x", 2)])]
    rows = hits_as_results(pa.Table.from_batches(blocks))
    assert rows.schema.equals(RESULT_SCHEMA)
    assert rows.column("timestamp").to_pylist() == [5, 3, 1]
    assert rows.column("archive_id").to_pylist() == ["y", "x", "x"]


def test_blocks_in_time_order_extend_one_run() -> None:
    hits = sorted(_make_hits(3_000, 2), key=lambda h: (h[0], h[2], h[3]))
    hits = [(k if k != NO_TIMESTAMP else 0, m, a, i) for k, m, a, i in hits]
    hits = [(n, m, a, i) for n, (_, m, a, i) in enumerate(hits)]  # distinct, ascending
    runs = SortedRuns(1_000, piece_bytes=512, zstd_level=1, max_runs=2)
    for start in range(0, len(hits), 250):
        runs.add(_block(hits[start : start + 250]))
        assert runs.num_runs == 1
    assert runs.floor is not None
    assert _rows(runs.finish(300)) == _expected(hits, 1_000)
