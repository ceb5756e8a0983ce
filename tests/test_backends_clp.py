"""Tests of the clp-s backend: real clp-s, hit counts checked against the raw source lines."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from logpager.cache import QueryResult, ResultBuilder
from logpager.errors import (
    BackendCrashedError,
    InvalidTimestampError,
    NoArchivesError,
    QuerySyntaxError,
    SearchTimeoutError,
)
from logpager.ingest import ingest
from logpager.query import QuerySpec
from logpager.schema import RESULT_SCHEMA
from logpager.search import (
    ClpSBackend,
    SearchBackend,
    SearchOutcome,
    find_clp_s,
    parse_link,
    validate_query,
)
from logpager.search.read_ahead import grow_pipe
from logpager.settings import Settings
from logpager.synthetic import write_events
from tests.support.loghub import LOGHUB, SAMPLES

if not LOGHUB.is_dir():
    LOGHUB = Path(__file__).resolve().parents[1] / "src" / "logpager" / "samples" / "loghub"


@pytest.fixture(scope="module")
def raw_lines() -> dict[str, list[str]]:
    return {name: (LOGHUB / name).read_text(encoding="utf-8").splitlines() for name in SAMPLES}


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("synthetic")
    source = root / "events.jsonl"
    write_events(source, 20_000, seed=3)
    ingest([source], data_dir=root / "data")
    events = [json.loads(line) for line in source.read_text().splitlines()]
    return root / "data", events


def _backend(data_dir: Path, **kw: Any) -> ClpSBackend:
    return ClpSBackend(Settings(data_dir=data_dir, **kw))


def _all_rows(outcome: SearchOutcome) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for batch in outcome.batches:
        assert batch.schema.equals(RESULT_SCHEMA)
        rows.extend(batch.to_pylist())
    return rows


def _grep(raw_lines: dict[str, list[str]], *needles: str, mode: str = "all") -> int:
    test = all if mode == "all" else any
    return sum(
        1
        for lines in raw_lines.values()
        for line in lines
        if test(n.lower() in line.lower() for n in needles)
    )


QUERIES = [
    ("message: *error*", ("error",), "all"),
    ('message: "*authentication failure*"', ("authentication failure",), "all"),
    ("message: *sshd* AND message: *invalid*", ("sshd", "invalid"), "all"),
    ("message: *warn* OR message: *fatal*", ("warn", "fatal"), "any"),
    ("*PacketResponder*", ("packetresponder",), "all"),
    ('message: "*Failed password for root*"', ("failed password for root",), "all"),
]


@pytest.mark.parametrize(("query", "needles", "mode"), QUERIES)
def test_hit_counts_match_raw_lines(
    loghub_archives: Path,
    raw_lines: dict[str, list[str]],
    query: str,
    needles: tuple[str, ...],
    mode: str,
) -> None:
    outcome = _backend(loghub_archives, max_cached_results=100_000).search(QuerySpec(query))
    expected = _grep(raw_lines, *needles, mode=mode)
    assert expected > 0
    assert outcome.total_matches == expected
    assert outcome.num_rows == expected
    assert not outcome.truncated
    assert len(outcome.archive_ids) == 5


def test_case_insensitive_by_default(loghub_archives: Path) -> None:
    lower = _backend(loghub_archives).search(QuerySpec("message: *error*")).total_matches
    upper = _backend(loghub_archives).search(QuerySpec("message: *ERROR*")).total_matches
    assert lower == upper
    sensitive = (
        _backend(loghub_archives, ignore_case=False)
        .search(QuerySpec("message: *ERROR*"))
        .total_matches
    )
    assert 0 < sensitive < lower


def test_time_range_counts_match_raw_lines(
    loghub_archives: Path, raw_lines: dict[str, list[str]]
) -> None:
    begin = int(datetime(2008, 11, 9, 21, 0, tzinfo=UTC).timestamp() * 1000)
    end = int(datetime(2008, 11, 10, 3, 0, tzinfo=UTC).timestamp() * 1000)

    def in_range(line: str) -> bool:
        moment = datetime.strptime(line[:13], "%y%m%d %H%M%S").replace(tzinfo=UTC)
        return begin <= moment.timestamp() * 1000 <= end

    expected = sum(1 for line in raw_lines["HDFS_2k.log"] if in_range(line))
    assert expected > 0
    outcome = _backend(loghub_archives, max_cached_results=10_000).search(
        QuerySpec("*", begin_ms=begin, end_ms=end)
    )
    assert outcome.total_matches == expected
    rows = _all_rows(outcome)
    assert all(begin <= int(r["timestamp"]) <= end for r in rows)


def test_results_latest_first_and_capped(loghub_archives: Path) -> None:
    outcome = _backend(loghub_archives, max_cached_results=1000).search(QuerySpec("*"))
    assert outcome.total_matches == 10_000
    assert outcome.num_rows == 1000
    assert outcome.truncated
    stamps = [r["timestamp"] for r in _all_rows(outcome)]
    assert stamps == sorted(stamps, reverse=True)
    full = _backend(loghub_archives, max_cached_results=20_000).search(QuerySpec("*"))
    all_stamps = [r["timestamp"] for r in _all_rows(full)]
    assert all_stamps[:1000] == stamps
    # Small cap forces the streaming top-N prune; it must keep exactly the latest rows.
    tiny = _backend(loghub_archives).search(QuerySpec("*", max_results=7))
    assert [r["timestamp"] for r in _all_rows(tiny)] == all_stamps[:7]


def test_columns_filled(synthetic_dir: tuple[Path, list[dict[str, Any]]]) -> None:
    data, events = synthetic_dir
    outcome = _backend(data).search(QuerySpec("level: ERROR", max_results=5))
    rows = _all_rows(outcome)
    assert len(rows) == 5
    for row in rows:
        event = json.loads(str(row["message"]))
        assert event["level"] == "ERROR"
        assert row["archive_id"] in outcome.archive_ids
        assert isinstance(row["log_event_index"], int)
        expected_ts = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
        assert row["timestamp"] == int(expected_ts.timestamp() * 1000)
        assert events[int(row["log_event_index"])]["trace_id"] == event["trace_id"]


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("level: DEBUG", lambda e: e["level"] == "DEBUG"),
        ("level: deb*", lambda e: e["level"] == "DEBUG"),
        ("status: 503 AND service: auth", lambda e: e["status"] == 503 and e["service"] == "auth"),
        ("level: WARN OR level: ERROR", lambda e: e["level"] in ("WARN", "ERROR")),
        ("duration_ms > 1500", lambda e: e["duration_ms"] > 1500),
        ("NOT level: INFO", lambda e: e["level"] != "INFO"),
    ],
)
def test_json_field_queries(
    synthetic_dir: tuple[Path, list[dict[str, Any]]],
    query: str,
    predicate: Callable[[dict[str, Any]], bool],
) -> None:
    data, events = synthetic_dir
    expected = sum(1 for e in events if predicate(e))
    assert _backend(data).search(QuerySpec(query)).total_matches == expected


def test_debug_share_is_about_18_percent(
    synthetic_dir: tuple[Path, list[dict[str, Any]]],
) -> None:
    data, events = synthetic_dir
    share = _backend(data).search(QuerySpec("level: DEBUG")).total_matches / len(events)
    assert 0.16 < share < 0.20


def test_archive_subsets(loghub_archives: Path) -> None:
    backend = _backend(loghub_archives, max_cached_results=20_000)
    ids = backend.list_archives()
    assert len(ids) == 5
    one = backend.search(QuerySpec("*", archive_ids=tuple(ids[:1])))
    two = backend.search(QuerySpec("*", archive_ids=tuple(ids[1:3])))
    assert one.total_matches == 2000
    assert one.archive_ids == tuple(ids[:1])
    assert two.total_matches == 4000
    assert set(two.archive_ids) == set(ids[1:3])
    assert {r["archive_id"] for r in _all_rows(two)} == set(ids[1:3])
    assert backend.search(QuerySpec("*", archive_ids=(*ids, "gone"))).total_matches == 10_000
    with pytest.raises(NoArchivesError, match="Please run a new query"):
        backend.search(QuerySpec("*", archive_ids=("gone",)))
    assert not any((loghub_archives / "staging").iterdir())


def test_malformed_query_includes_parser_message(loghub_archives: Path) -> None:
    with pytest.raises(QuerySyntaxError, match=r"Parser error: .*expecting"):
        _backend(loghub_archives).search(QuerySpec("message: (error"))
    with pytest.raises(QuerySyntaxError, match="Lexer error"):
        _backend(loghub_archives).search(QuerySpec('message: "unterminated'))


def test_logically_false_query_is_no_results(synthetic_dir: tuple[Path, object]) -> None:
    outcome = _backend(synthetic_dir[0]).search(QuerySpec("duration_ms > abc"))
    assert outcome.total_matches == 0
    assert list(outcome.batches) == []


@pytest.mark.parametrize("flag", ["-h", "--help", "--query=x", "-i", "--archive-id"])
def test_option_like_queries_are_kql(tmp_path: Path, flag: str) -> None:
    source = tmp_path / "flags.jsonl"
    values = ["-h", "--help", "--query=x", "-i", "--archive-id", "plain"]
    source.write_text("".join(json.dumps({"flag": v}) + "\n" for v in values))
    ingest([source], data_dir=tmp_path / "d")
    backend = _backend(tmp_path / "d")
    # As a bare query, it must be parsed as KQL (free text), never as an option.
    assert backend.search(QuerySpec(flag)).total_matches == 1
    assert backend.search(QuerySpec(f'flag: "{flag}"')).total_matches == 1


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a\x00b", "NUL"),
        ("\udcff", "UTF-8"),
        ("x" * 20_000, "longest accepted"),
    ],
)
def test_query_validation(loghub_archives: Path, query: str, match: str) -> None:
    with pytest.raises(QuerySyntaxError, match=match):
        _backend(loghub_archives).search(QuerySpec(query))
    with pytest.raises(QuerySyntaxError):
        validate_query(query, 16_384)


def test_begin_after_end(loghub_archives: Path) -> None:
    with pytest.raises(InvalidTimestampError):
        _backend(loghub_archives).search(QuerySpec("*", begin_ms=10, end_ms=5))


@pytest.mark.parametrize("make", ["missing", "empty", "staging-only"])
def test_no_archives_error_says_how_to_ingest(tmp_path: Path, make: str) -> None:
    data = tmp_path / "data"
    if make != "missing":
        (data / "archives").mkdir(parents=True)
    if make == "staging-only":
        (data / "staging" / "ingest-x").mkdir(parents=True)
    with pytest.raises(NoArchivesError, match=r"logpager ingest PATH\.\.\. --data-dir"):
        _backend(data).search(QuerySpec("*"))


def _fake_clp_s(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-clp-s"
    script.write_text(f"#!/bin/sh\nREAL='{find_clp_s()}'\necho $$ >> '{tmp_path}/pids'\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z" and pid != os.getpid()


def _pids(tmp_path: Path) -> list[int]:
    return [int(p) for p in (tmp_path / "pids").read_text().split()]


def test_killed_mid_stream_is_a_crash(loghub_archives: Path, tmp_path: Path) -> None:
    fake = _fake_clp_s(tmp_path, '"$REAL" "$@"\nkill -9 $$')
    with pytest.raises(BackendCrashedError, match="killed by signal SIGKILL"):
        _backend(loghub_archives, clp_s_path=fake).search(QuerySpec("*"))


def test_truncated_stream_is_a_crash(loghub_archives: Path, tmp_path: Path) -> None:
    fake = _fake_clp_s(tmp_path, '"$REAL" "$@" | head -c 1000\nexit 0')
    with pytest.raises(BackendCrashedError, match="middle of a result"):
        _backend(loghub_archives, clp_s_path=fake).search(QuerySpec("*"))


def test_nonzero_exit_is_a_crash(loghub_archives: Path, tmp_path: Path) -> None:
    fake = _fake_clp_s(tmp_path, '"$REAL" "$@"\necho "[error] disk on fire" >&2\nexit 3')
    with pytest.raises(BackendCrashedError, match=r"exit status 3.*disk on fire"):
        _backend(loghub_archives, clp_s_path=fake).search(QuerySpec("*"))


def test_output_that_is_not_hits_is_a_crash_and_the_child_is_reaped(
    loghub_archives: Path, tmp_path: Path
) -> None:
    # The child goes on running (its output read ahead in a thread of its own) when the
    # decoding fails: the search still ends at once, and nothing is left behind.
    # Only the search writes its hits to the pipe: each archive's check (output to
    # /dev/null) runs the real clp-s, and they all pass.
    fake = _fake_clp_s(
        tmp_path,
        'case "$*" in *"/dev/stdout"*) ;; *) exec "$REAL" "$@" ;; esac\n'
        "head -c 3000000 /dev/zero | tr '\\0' 'x'\nsleep 30 &\necho $! >> '"
        + str(tmp_path)
        + "/pids'\nwait",
    )
    began = time.monotonic()
    with pytest.raises(BackendCrashedError, match="not a search result"):
        _backend(loghub_archives, clp_s_path=fake).search(QuerySpec("*"))
    assert time.monotonic() - began < 5
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in _pids(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in _pids(tmp_path))


def test_timeout_kills_and_reaps(loghub_archives: Path, tmp_path: Path) -> None:
    fake = _fake_clp_s(tmp_path, "sleep 30 &\necho $! >> '" + str(tmp_path) + "/pids'\nwait")
    backend = _backend(loghub_archives, clp_s_path=fake, search_timeout_seconds=0.5)
    began = time.monotonic()
    with pytest.raises(SearchTimeoutError, match=r"ran past 0\.5 s"):
        backend.search(QuerySpec("*"))
    assert time.monotonic() - began < 5
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in _pids(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in _pids(tmp_path))


async def test_async_search(loghub_archives: Path) -> None:
    outcome = await _backend(loghub_archives).search_async(QuerySpec("message: *error*"))
    assert outcome.total_matches > 0


async def test_async_cancel_kills_and_reaps(loghub_archives: Path, tmp_path: Path) -> None:
    fake = _fake_clp_s(tmp_path, "sleep 30")
    backend = _backend(loghub_archives, clp_s_path=fake)
    task = asyncio.create_task(backend.search_async(QuerySpec("*")))
    while not (tmp_path / "pids").exists():
        await asyncio.sleep(0.02)
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - began < 5
    assert all(_gone(pid) for pid in _pids(tmp_path))


def test_resolve_link(loghub_archives: Path) -> None:
    backend = _backend(loghub_archives)
    rows = _all_rows(backend.search(QuerySpec("message: *PacketResponder*", max_results=3)))
    target = rows[1]
    linked = backend.resolve_link(
        str(target["archive_id"]), int(target["log_event_index"]), context=2
    )
    assert linked.message == target["message"]
    assert len(linked.before) == 2
    assert len(linked.after) == 2
    with pytest.raises(LookupError):
        backend.resolve_link("../../etc", 0)
    with pytest.raises(LookupError):
        backend.resolve_link(str(target["archive_id"]), 10**9)


def test_parse_link() -> None:
    assert parse_link("clp://abc-1/42") == ("abc-1", 42)
    assert parse_link("see abc/7", "see {archive_id}/{log_event_index}") == ("abc", 7)
    with pytest.raises(ValueError, match="not a link"):
        parse_link("http://x")


def test_backend_satisfies_protocol(loghub_archives: Path) -> None:
    assert isinstance(_backend(loghub_archives), SearchBackend)
    assert re.match(r"ClpSBackend\(data_dir=", repr(_backend(loghub_archives)))


def test_outcome_helpers(loghub_archives: Path) -> None:
    outcome = _backend(loghub_archives).search(QuerySpec("*", max_results=40_000))
    assert isinstance(outcome.to_table(), pa.Table)
    assert outcome.to_table().num_rows == 10_000
    assert len(list(outcome.iter_batches())) == len(outcome.batches)
    assert outcome.batches[-1].num_rows == outcome.batches[len(outcome.batches) - 1].num_rows
    with pytest.raises(IndexError):
        outcome.batches[len(outcome.batches)]


# --- sorted runs and the streaming build ---------------------------------------------------------


@pytest.fixture(scope="module")
def interleaved_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four archives over the same time range: clp-s reports them one after another, so
    every block of hits overlaps every other in time (the hardest order to merge)."""
    root = tmp_path_factory.mktemp("interleaved")
    source = root / "events.jsonl"
    write_events(source, 12_000, seed=5)
    lines = source.read_text().splitlines(keepends=True)
    for part in range(4):
        path = root / f"part-{part}.jsonl"
        path.write_text("".join(lines[part::4]))
        ingest([path], data_dir=root / "data")
    return root / "data"


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One sort of every hit: timestamp (none last), archive id, event index, descending."""

    def key(row: dict[str, Any]) -> tuple[int, str, int]:
        stamp = row["timestamp"]
        return (stamp if stamp is not None else -(2**63), row["archive_id"], row["log_event_index"])

    return sorted(rows, key=key, reverse=True)


def test_interleaved_archives_merge_like_one_sort(interleaved_dir: Path) -> None:
    reference = _backend(interleaved_dir, max_cached_results=100_000).search(QuerySpec("*"))
    assert reference.total_matches == 12_000
    everything = _ranked(_all_rows(reference))
    assert len({r["archive_id"] for r in everything}) == 4
    # Small blocks, pieces and run limits: many runs, merged early, cut back to the cap.
    small = _backend(
        interleaved_dir,
        search_block_rows=700,
        run_piece_bytes=1_024,
        max_sorted_runs=3,
        max_cached_results=4_000,
    )
    outcome = small.search(QuerySpec("*"))
    assert (outcome.total_matches, outcome.num_rows) == (12_000, 4_000)
    assert _all_rows(outcome) == everything[:4_000]
    assert _all_rows(reference) == everything


def test_search_streams_into_a_primed_builder(synthetic_dir: tuple[Path, object]) -> None:
    data = synthetic_dir[0]
    settings = Settings(data_dir=data, max_cached_results=100_000)
    samples: list[pa.RecordBatch] = []
    builder = ResultBuilder(settings=settings)

    def on_sample(sample: pa.RecordBatch) -> None:
        samples.append(sample)
        builder.prime(sample)

    outcome = ClpSBackend(settings).search(QuerySpec("*"), on_sample=on_sample)
    assert len(samples) == 1
    assert samples[0].schema.equals(RESULT_SCHEMA)
    stamps = samples[0].column("timestamp").to_pylist()
    assert stamps == sorted(stamps, reverse=True)
    result = builder.build(
        outcome.iter_batches(release=True),
        total_matches=outcome.total_matches,
        archive_ids=outcome.archive_ids,
    )
    assert result._dictionary is not None
    # The outcome handed its rows over; its count is still known.
    assert outcome.num_rows == 20_000
    with pytest.raises(RuntimeError, match="handed over"):
        outcome.batches[0]
    again = ClpSBackend(settings).search(QuerySpec("*"))
    plain = QueryResult.from_batches(again.batches, settings=settings, presorted=True)
    assert (result.num_items, result.num_total_matches) == (20_000, 20_000)
    for page in (0, 1, 999, result.num_pages - 1):
        assert result.get_page(page) == plain.get_page(page)


def test_no_sample_when_all_hits_fit_one_block(loghub_archives: Path) -> None:
    samples: list[pa.RecordBatch] = []
    outcome = _backend(loghub_archives).search(
        QuerySpec("message: *error*"), on_sample=samples.append
    )
    assert outcome.total_matches > 0
    assert samples == []


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_a_pipe_asked_past_the_hosts_limit_grows_to_that_limit() -> None:
    largest = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    read_end, write_end = os.pipe()
    try:
        # 64 MiB: above an unprivileged process's limit on most hosts (1 MiB by default).
        capacity = grow_pipe(read_end, 64 * 1_048_576)
        assert capacity == fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
        # Not left at the 64 KiB default, which made every read a short one that pauses.
        assert capacity >= min(largest, 64 * 1_048_576)
    finally:
        os.close(read_end)
        os.close(write_end)
