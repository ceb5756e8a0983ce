"""The embedded search engine: ``clp-s`` archives in a data directory, searched with KQL.

The data directory's layout is :mod:`logpager.search.datadir`'s.

How a search runs: ``clp-s s [-i] [--tge B] [--tle E] DIR " QUERY" file --path /dev/stdout``
streams each hit as a msgpack array ``[timestamp_ms, event_json, path, archive_id, index]``.
The query is positional (the file output handler rules out ``--query=``) and starts with a
space, so a query such as ``-h`` or ``--help`` is parsed as KQL, never as an option (without
the space ``--help`` exits 0 with no output, indistinguishable from "no matches"). No shell is
involved. Hits are decoded in blocks of a few thousand rows straight into Arrow arrays, and
each block is sorted and compressed into a run (:mod:`logpager.search.runs`) while ``clp-s``
is still searching: it runs in its own process, so that work overlaps the search. The best
``max_results`` rows (latest first) are kept, so memory stays bounded however many rows match.
Nothing is returned until ``clp-s`` has exited 0 and the stream ended cleanly; the outcome's
batches are then merged from the runs as they are read.

The child runs in its own process group and is killed and reaped on every way out: success,
error, timeout, an exception in the caller's thread, or cancellation of the awaiting task.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import msgpack
import pyarrow as pa
import pyarrow.compute as pc

from logpager.errors import (
    BackendCrashedError,
    InvalidTimestampError,
    NoArchivesError,
    QuerySyntaxError,
    SearchTimeoutError,
)
from logpager.query import QuerySpec
from logpager.schema import ARCHIVE_ID, LOG_EVENT_INDEX, MESSAGE
from logpager.search.backend import LinkedEvent, SearchOutcome
from logpager.search.datadir import (
    archives_dir,
    find_clp_s,
    ingest_hint,
    list_archive_ids,
    staging_dir,
)
from logpager.search.merge import MergedBatches
from logpager.search.ranking import HIT_KEY, NO_TIMESTAMP, hits_as_results
from logpager.search.runs import SortedRuns
from logpager.settings import Settings

__all__ = ["ClpSBackend", "parse_link", "validate_query"]

# 2,048 rows per decoded block (~0.5 MB of events): a search of 1 M events (180,000 hits) ran
# in 0.78-0.83 s against 0.93-1.0 s with 8,192-row blocks (bare clp-s: 0.70 s). The work on a
# block stays in the CPU's caches, while bigger blocks streamed through memory and slowed
# clp-s, which shares the memory bus; 512 and 1,024 rows were no faster.
_BLOCK_ROWS = 2048
# Batches merged from the runs: ~1 MB of text each, so the merge holds little at a time.
_OUTPUT_BATCH_ROWS = 4_096
# Also the pipe's capacity (Linux's default is 64 KiB): clp-s writes ~1 MiB in the ~10-20 ms
# it takes to sort and compress a block of hits, so it need not wait for the pipe meanwhile.
_READ_BYTES = 1 << 20
# clp-s writes its hits 4 KiB at a time, and each write to a pipe that a reader waits on
# wakes that reader: reading as soon as anything arrived cost clp-s 0.12 s over writing to
# /dev/null (0.81 s against 0.69 s for 180,000 hits), however little the reader did. After a
# read that found the pipe less than a quarter full, a 1 ms pause lets clp-s fill it without
# waking anyone (0.72 s against 0.71 s); when the pipe fills faster than hits are handled,
# there is no pause.
_SHORT_READ_BYTES = _READ_BYTES // 4
_PAUSE_AFTER_SHORT_READ_SECONDS = 0.001
_STDERR_TAIL_BYTES = 64 * 1024
# Arrow scalars for compute calls: pyarrow converts a Python int argument anew on each call,
# and its conversion tries to import dateutil every time (~60 us a call when dateutil is not
# installed, against ~5 us with a scalar).
_ZERO = pa.scalar(0, pa.int64())
_NO_TIMESTAMP_KEY = pa.scalar(NO_TIMESTAMP, pa.int64())
_LOG_PREFIX = re.compile(r"^\S+ \[(?:error|warning|info|debug)\] ", re.MULTILINE)
_ARCHIVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def validate_query(query: str, max_length: int) -> str:
    """
    Checks a KQL query before it reaches ``clp-s``.

    :param query: The query as received.
    :param max_length: Longest accepted query in UTF-8 bytes (``settings.max_query_length``).
    :return: The query, stripped of surrounding whitespace.
    :raise QuerySyntaxError: If it is not a non-empty string of valid UTF-8 without NUL bytes
        and at most ``max_length`` bytes long.
    """
    if not isinstance(query, str):
        msg = f"Invalid KQL query: expected a string, got {type(query).__name__}"
        raise QuerySyntaxError(msg)
    stripped = query.strip()
    if not stripped:
        msg = "Invalid KQL query: the query is empty (use * to match every event)"
        raise QuerySyntaxError(msg)
    if "\x00" in stripped:
        msg = "Invalid KQL query: it contains a NUL character"
        raise QuerySyntaxError(msg)
    try:
        size = len(stripped.encode("utf-8"))
    except UnicodeEncodeError as exc:
        msg = f"Invalid KQL query: it is not valid UTF-8 ({exc.reason} at {exc.start})"
        raise QuerySyntaxError(msg) from exc
    if size > max_length:
        msg = (
            f"Invalid KQL query: it is {size} bytes long; the longest accepted is {max_length} "
            "bytes. Narrow it, or split it into several queries."
        )
        raise QuerySyntaxError(msg)
    return stripped


def parse_link(
    link: str, template: str = "clp://{archive_id}/{log_event_index}"
) -> tuple[str, int]:
    """
    Reads an item's link back into its parts.

    :param link: A link as written with ``template``.
    :param template: ``settings.link_template``.
    :return: ``(archive_id, log_event_index)``.
    :raise ValueError: If ``link`` does not have the template's form.
    """
    pattern = re.escape(template)
    pattern = pattern.replace(re.escape("{archive_id}"), r"(?P<archive_id>[A-Za-z0-9._-]+)")
    pattern = pattern.replace(re.escape("{log_event_index}"), r"(?P<log_event_index>\d+)")
    match = re.fullmatch(pattern, link.strip())
    if match is None:
        msg = f"not a link of the form {template!r}: {link!r}"
        raise ValueError(msg)
    return match["archive_id"], int(match["log_event_index"])


def _stderr_message(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    errors = [line for line in text.splitlines() if "[error]" in line]
    lines = errors or [line for line in text.splitlines() if line.strip()]
    cleaned = [_LOG_PREFIX.sub("", line).strip() for line in lines]
    return "; ".join(line for line in cleaned if line) or "no message"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


class _CancelledError(Exception):
    """The awaiting task gave up; the child is already gone."""


class _RunToken:
    """Lets another thread stop a running search (the async wrapper's cancellation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cancelled = False
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, argv: list[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.cancelled:
                raise _CancelledError
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                bufsize=0,
            )
            return self.proc

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self.proc is not None:
                _kill_group(self.proc)


class _HitCollector:
    """
    Turns decoded msgpack rows into Arrow blocks and hands them to the sorted runs.

    Rows are ranked by timestamp descending (a missing timestamp, 0 from clp-s, ranks last),
    then archive id and event index descending, so ties order the same on every run; the
    runs keep the best ``cap`` and count all of them.
    """

    def __init__(
        self,
        cap: int,
        settings: Settings,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        block_rows: int | None = None,
    ) -> None:
        self.block_rows = block_rows if block_rows is not None else _BLOCK_ROWS
        self.on_sample = on_sample
        self.sample_rows = settings.dictionary_training_rows
        self._sample: list[pa.RecordBatch] = []
        self.total = 0
        self.pending: list[tuple[Any, ...]] = []
        self.runs = SortedRuns(
            cap,
            piece_bytes=settings.run_piece_bytes,
            zstd_level=settings.run_zstd_level,
            max_runs=settings.max_sorted_runs,
            merge_rows=_OUTPUT_BATCH_ROWS,
        )

    @property
    def archive_ids(self) -> set[str]:
        """:return: Every archive that reported a hit."""
        return set(self.runs.archive_names)

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        self.pending.extend(rows)
        while len(self.pending) >= self.block_rows:
            # Blocks of block_rows exactly, however much one read brought.
            block = self._flush(self.block_rows)
            if self.on_sample is not None and block is not None:
                self._take_sample(block)

    def _take_sample(self, block: pa.RecordBatch) -> None:
        """Hands out the first ``sample_rows`` hits once they are in, while clp-s still runs."""
        self._sample.append(block)
        if sum(b.num_rows for b in self._sample) < self.sample_rows:
            return
        assert self.on_sample is not None
        on_sample, self.on_sample = self.on_sample, None
        blocks, self._sample = self._sample, []
        # A dictionary trained on a few hundred rows was rejected as not paying for itself,
        # which is why the sample spans blocks rather than being the first one. The blocks
        # are let go (and not joined first) before on_sample encodes the sorted copy: the
        # sample's copies added up to ~10 MB at once for 8,192 hits, now ~5 MB.
        sample = hits_as_results(pa.Table.from_batches(blocks))
        del blocks
        on_sample(sample)

    def clear(self) -> None:
        """Forgets every hit (a query that cannot match reports none)."""
        self.pending = []
        self._sample = []
        self.runs.clear()
        self.total = 0

    def _flush(self, limit: int | None = None) -> pa.RecordBatch | None:
        """Makes a block of the first ``limit`` pending rows (None: all) and stores it."""
        if limit is None or limit >= len(self.pending):
            rows, self.pending = self.pending, []
        else:
            rows, self.pending = self.pending[:limit], self.pending[limit:]
        if not rows:
            return None
        self.total += len(rows)
        ts, messages, _paths, archive_ids, indexes = zip(*rows, strict=True)
        joined = b"".join(messages)
        offset_type = pa.int64() if len(joined) >= 2**31 - 1 else pa.int32()
        binary_type = pa.large_binary() if offset_type == pa.int64() else pa.binary()
        offsets = pa.array(itertools.accumulate(map(len, messages), initial=0), offset_type)
        raw = pa.Array.from_buffers(
            binary_type, len(messages), [None, offsets.buffers()[1], pa.py_buffer(joined)]
        )
        # clp-s ends every event with "\n"; cutting one byte is 10x cheaper than a trim.
        if pc.all(pc.ends_with(raw, b"\n")).as_py():
            message = pc.binary_slice(raw, 0, -1)
        else:  # pragma: no cover - defensive
            message = pc.utf8_rtrim(raw.cast(pa.large_string()), characters="\n")
        message = message.cast(pa.string())
        raw_ts = pa.array(ts, pa.int64())
        key = pc.if_else(pc.equal(raw_ts, _ZERO), _NO_TIMESTAMP_KEY, raw_ts)
        archive = pa.array(archive_ids, pa.binary()).cast(pa.string())
        block = pa.RecordBatch.from_arrays(
            [key, message, archive, pa.array(indexes, pa.int64())],
            names=[HIT_KEY, MESSAGE, ARCHIVE_ID, LOG_EVENT_INDEX],
        )
        self.runs.add(block)
        return block

    def finish(self, batch_rows: int = _OUTPUT_BATCH_ROWS) -> MergedBatches:
        # A sample still short of sample_rows is of no use once the search is over: the
        # result's builder trains on its own first rows then.
        self._sample = []
        self._flush()
        return self.runs.finish(batch_rows)


class ClpSBackend:
    """
    KQL search over the ``clp-s`` archives of one data directory.

    :param settings: Source of ``data_dir``, ``clp_s_path``, ``search_timeout_seconds``,
        ``max_query_length``, ``ignore_case`` and ``max_cached_results``.
    :param data_dir: Overrides ``settings.data_dir``.
    :param clp_s_path: Overrides ``settings.clp_s_path``.
    :param timeout_seconds: Overrides ``settings.search_timeout_seconds``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        data_dir: Path | str | None = None,
        clp_s_path: Path | str | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.data_dir = Path(data_dir) if data_dir is not None else Path(self.settings.data_dir)
        configured = clp_s_path if clp_s_path is not None else self.settings.clp_s_path
        self.clp_s = find_clp_s(Path(configured) if configured is not None else None)
        self.timeout_seconds = (
            timeout_seconds if timeout_seconds is not None else self.settings.search_timeout_seconds
        )

    def __repr__(self) -> str:
        return f"ClpSBackend(data_dir={str(self.data_dir)!r}, clp_s={str(self.clp_s)!r})"

    @property
    def archives_dir(self) -> Path:
        """:return: The folder of finished archives."""
        return archives_dir(self.data_dir)

    def list_archives(self) -> list[str]:
        """:return: The ids of the finished archives, sorted."""
        return list_archive_ids(self.data_dir)

    def _no_archives(self) -> NoArchivesError:
        where = (
            f"The data directory {self.data_dir} does not exist."
            if not self.data_dir.exists()
            else f"The data directory {self.data_dir} holds no archives."
        )
        return NoArchivesError(f"{where} {ingest_hint(self.data_dir)}")

    def search(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
    ) -> SearchOutcome:
        """
        Runs a KQL query to completion.

        :param spec: The query (KQL, case-insensitive when ``settings.ignore_case``); its
            earliest and latest timestamps, epoch ms inclusive (``--tge``, ``--tle``); the
            archives to search (those since deleted are skipped; ``None`` searches all); the
            rows to keep, the latest (``None``: ``settings.max_cached_results``).
        :param on_sample: Called at most once, in the searching thread while ``clp-s`` still
            runs, with the first block of hits as result rows (a few thousand, latest first):
            a sample to prepare the result's compression on while the search goes on. Not
            called when all hits fit in one block.
        :return: The kept hits latest first, and the count of all hits.
        :raise QuerySyntaxError: If the query is empty, too long, not UTF-8, or does not parse.
        :raise InvalidTimestampError: If ``begin_ms`` is after ``end_ms``.
        :raise NoArchivesError: If there is nothing to search.
        :raise SearchTimeoutError: If it runs past the timeout (the child is killed).
        :raise BackendCrashedError: If ``clp-s`` fails or its output is cut short.
        """
        return self._search(spec, on_sample, _RunToken())

    async def search_async(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
    ) -> SearchOutcome:
        """
        :meth:`search` in a worker thread; cancelling the awaiting task kills ``clp-s`` and
        returns only once the child is reaped.

        :param spec: As :meth:`search`.
        :param on_sample: As :meth:`search` (called in the worker thread).
        :return: As :meth:`search`.
        :raise SearchError: As :meth:`search`.
        """
        token = _RunToken()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._search, spec, on_sample, token)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            token.cancel()
            # The worker notices at once (its pipe closes) and reaps the child.
            await asyncio.wait({future})
            if not future.cancelled():
                future.exception()  # retrieved, so asyncio does not log it as lost
            raise

    def _select_archives(self, archive_ids: Sequence[str] | None) -> tuple[list[str], list[str]]:
        current = self.list_archives()
        if not current:
            raise self._no_archives()
        if archive_ids is None:
            return current, []
        present = set(current)
        wanted = list(dict.fromkeys(a for a in archive_ids if a in present))
        if not wanted:
            msg = (
                "None of the archives this query ran on exist any more "
                f"({', '.join(archive_ids) or 'none given'}). Please run a new query."
            )
            raise NoArchivesError(msg)
        if set(wanted) == present:
            return current, []
        return wanted, wanted

    def _search(
        self,
        spec: QuerySpec,
        on_sample: Callable[[pa.RecordBatch], object] | None,
        token: _RunToken,
    ) -> SearchOutcome:
        started = time.monotonic()
        query = validate_query(spec.query, self.settings.max_query_length)
        begin_ms, end_ms = spec.begin_ms, spec.end_ms
        if begin_ms is not None and end_ms is not None and begin_ms > end_ms:
            msg = f"The begin timestamp ({begin_ms} ms) is after the end timestamp ({end_ms} ms)."
            raise InvalidTimestampError(msg)
        cap = spec.max_results or self.settings.max_cached_results
        ids, subset = self._select_archives(spec.archive_ids)
        link_dir: Path | None = None
        root = self.archives_dir
        extra: list[str] = []
        try:
            if len(subset) == 1:
                extra = ["--archive-id", subset[0]]
            elif subset:
                # clp-s searches one folder or one archive; a folder of links selects several.
                staging = staging_dir(self.data_dir)
                staging.mkdir(parents=True, exist_ok=True)
                link_dir = Path(tempfile.mkdtemp(prefix="search-", dir=staging))
                for archive_id in subset:
                    (link_dir / archive_id).symlink_to(self.archives_dir.resolve() / archive_id)
                root = link_dir
            argv = [str(self.clp_s), "s"]
            if self.settings.ignore_case:
                argv.append("-i")
            if begin_ms is not None:
                argv += ["--tge", str(int(begin_ms))]
            if end_ms is not None:
                argv += ["--tle", str(int(end_ms))]
            argv += extra
            argv += [str(root), " " + query, "file", "--path", "/dev/stdout"]
            collector = _HitCollector(cap, self.settings, on_sample)
            self._run(argv, query, collector, token, started)
            batches = collector.finish()
        finally:
            if link_dir is not None:
                shutil.rmtree(link_dir, ignore_errors=True)
        seen = sorted(set(ids) | collector.archive_ids)
        return SearchOutcome(
            batches=batches,
            total_matches=collector.total,
            archive_ids=tuple(seen),
            elapsed_seconds=time.monotonic() - started,
        )

    def _run(
        self,
        argv: list[str],
        query: str,
        collector: _HitCollector,
        token: _RunToken,
        started: float,
    ) -> None:
        deadline = started + self.timeout_seconds
        unpacker = msgpack.Unpacker(raw=True, use_list=False, max_buffer_size=1 << 30)
        fed = 0
        with tempfile.TemporaryFile() as stderr:
            proc = token.start(argv, stderr)
            try:
                assert proc.stdout is not None
                fd = proc.stdout.fileno()
                with contextlib.suppress(OSError, AttributeError):  # Linux-only; a hint
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _READ_BYTES)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._timeout()
                    readable, _, _ = select.select([fd], [], [], remaining)
                    if not readable:
                        continue
                    data = os.read(fd, _READ_BYTES)
                    if not data:
                        break
                    fed += len(data)
                    try:
                        unpacker.feed(data)
                        collector.add(list(unpacker))
                    except (ValueError, TypeError, msgpack.UnpackException) as exc:
                        msg = f"clp-s wrote output that is not a search result: {exc!r}"
                        raise BackendCrashedError(msg) from exc
                    if len(data) < _SHORT_READ_BYTES:
                        time.sleep(_PAUSE_AFTER_SHORT_READ_SECONDS)
                try:
                    returncode = proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
                except subprocess.TimeoutExpired:
                    raise self._timeout() from None
            except BaseException:
                _kill_group(proc)
                proc.wait()
                if token.cancelled:
                    raise _CancelledError from None
                raise
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()
            if token.cancelled:
                raise _CancelledError
            stderr.seek(0, os.SEEK_END)
            stderr.seek(max(stderr.tell() - _STDERR_TAIL_BYTES, 0))
            err = stderr.read()
        if returncode == 0:
            if unpacker.tell() != fed:
                msg = (
                    "clp-s ended its output in the middle of a result "
                    f"({fed - unpacker.tell()} bytes left over); nothing was cached."
                )
                raise BackendCrashedError(msg)
            return
        self._raise_for_failure(returncode, err, query, collector)

    def _timeout(self) -> SearchTimeoutError:
        return SearchTimeoutError(
            f"The search ran past {self.timeout_seconds:g} s and was stopped. Narrow the query "
            "or the time range (begin/end) and try again."
        )

    def _raise_for_failure(
        self, returncode: int, err: bytes, query: str, collector: _HitCollector
    ) -> None:
        message = _stderr_message(err)
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = str(-returncode)
            msg = f"clp-s was killed by signal {name} during the search; nothing was cached."
            raise BackendCrashedError(msg)
        if returncode == 1:
            if "is logically false" in message:
                # e.g. `ts > abc`: nothing can match; the reference reports it as no results.
                collector.clear()
                return
            if any(k in message for k in ("Parser error", "Lexer error", "No query specified")):
                msg = f"Invalid KQL query {query!r}: {message}"
                raise QuerySyntaxError(msg)
            if "archive" in message.lower() and not self.list_archives():
                raise self._no_archives()
        msg = f"clp-s failed (exit status {returncode}): {message}; nothing was cached."
        raise BackendCrashedError(msg)

    def resolve_link(
        self, archive_id: str, log_event_index: int, *, context: int = 0
    ) -> LinkedEvent:
        """
        Finds the event a link points to by decompressing its archive in log order.

        Cost grows with the archive (it is decompressed to a temporary folder), so this is for
        following a link now and then, not for bulk reads.

        :param archive_id: The link's archive id.
        :param log_event_index: The link's event index (0-based, in log order).
        :param context: How many events before and after to include.
        :return: The event and its neighbours.
        :raise LookupError: If the archive or the event does not exist.
        :raise SearchTimeoutError: If decompression runs past the search timeout.
        :raise BackendCrashedError: If ``clp-s`` fails.
        """
        if not _ARCHIVE_ID.fullmatch(archive_id) or archive_id not in self.list_archives():
            msg = f"No archive {archive_id!r} in {self.archives_dir}"
            raise LookupError(msg)
        if log_event_index < 0 or context < 0:
            msg = "log_event_index and context must not be negative"
            raise LookupError(msg)
        staging = staging_dir(self.data_dir)
        staging.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix="link-", dir=staging))
        try:
            argv = [
                str(self.clp_s),
                "x",
                "--ordered",
                "--archive-id",
                archive_id,
                str(self.archives_dir),
                str(out),
            ]
            try:
                done = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    timeout=self.timeout_seconds,
                    check=False,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired as exc:
                raise self._timeout() from exc
            if done.returncode != 0:
                msg = f"clp-s could not decompress archive {archive_id}: "
                raise BackendCrashedError(msg + _stderr_message(done.stderr))
            return _pick_event(out, archive_id, log_event_index, context)
        finally:
            shutil.rmtree(out, ignore_errors=True)


def _pick_event(folder: Path, archive_id: str, index: int, context: int) -> LinkedEvent:
    def first_index(path: Path) -> int:
        parts = path.stem.rsplit("_", 2)
        return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0

    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=first_index)
    before: list[str] = []
    target: str | None = None
    after: list[str] = []
    position = 0
    for path in files:
        with path.open("r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if position >= index - context and position < index:
                    before.append(line.rstrip("\n"))
                elif position == index:
                    target = line.rstrip("\n")
                elif position > index:
                    after.append(line.rstrip("\n"))
                position += 1
                if position > index + context:
                    break
        if position > index + context:
            break
    if target is None:
        msg = f"Archive {archive_id} has {position} events; no event {index}"
        raise LookupError(msg)
    return LinkedEvent(archive_id, index, target, tuple(before), tuple(after))
