"""The embedded search engine: ``clp-s`` archives in a data directory, searched with KQL.

The data directory's layout is :mod:`logpager.search.datadir`'s.

How a search runs: ``clp-s s [-i] [--tge B] [--tle E] DIR " QUERY" file --path /dev/stdout``,
where ``DIR`` is a folder of links to exactly the listed archives (or the archives folder with
``--archive-id`` for one), never the archives folder as is: it streams each hit as a msgpack
array ``[timestamp_ms, event_json, path, archive_id, index]``. The query is positional (the
file output handler rules out ``--query=``) and starts with a space, so a query such as ``-h``
or ``--help`` is parsed as KQL, never as an option (without the space ``--help`` exits 0 with
no output, indistinguishable from "no matches"). No shell is involved. The child and the
reading of its stream are :mod:`logpager.search.child`'s; the hits become sorted runs as they
arrive (:mod:`logpager.search.hits`), and the best ``max_results`` rows (latest first) are
kept, so memory stays bounded however many rows match. Nothing is returned until ``clp-s`` has
exited 0 and the stream ended cleanly; the outcome's batches are then merged from the runs as
they are read. A failure is read from ``clp-s``'s exit status and stderr
(:mod:`logpager.search.failures`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from logpager.cache.streaming import StreamingBuild
from logpager.errors import BackendCrashedError, InvalidTimestampError, NoArchivesError
from logpager.query import QuerySpec
from logpager.search.archive_faults import BadArchives, failure_reason
from logpager.search.backend import LinkedEvent, SearchOutcome
from logpager.search.child import Rows, RunToken, StreamDecoder, run_cancellable, run_search
from logpager.search.datadir import archives_dir, find_clp_s, list_archive_ids, staging_dir
from logpager.search.failures import no_archives_error, raise_for_failure
from logpager.search.hits import HitCollector
from logpager.search.kql import validate_query
from logpager.search.links import resolve_link
from logpager.settings import Settings

__all__ = ["MAX_CLP_MS", "MIN_CLP_MS", "ClpSBackend"]

# clp-s holds time bounds as signed 64-bit nanoseconds: the last whole milliseconds it can
# represent (2262-04-11T23:47:16.854Z and 1677-09-21T00:12:43.146Z). One ms past either
# overflows, and the search silently matches nothing (measured with --tle/--tge).
MAX_CLP_MS = (2**63 - 1) // 1_000_000
MIN_CLP_MS = -MAX_CLP_MS


class ClpSBackend:
    """
    KQL search over the ``clp-s`` archives of one data directory.

    :param settings: Source of ``data_dir``, ``clp_s_path``, ``search_timeout_seconds``,
        ``max_query_length``, ``ignore_case`` and ``max_cached_results``, and of the search
        engine's tunables (``search_block_rows`` and the rest of its section).
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
        self._bad = BadArchives()

    def __repr__(self) -> str:
        return f"ClpSBackend(data_dir={str(self.data_dir)!r}, clp_s={str(self.clp_s)!r})"

    @property
    def archives_dir(self) -> Path:
        """:return: The folder of finished archives."""
        return archives_dir(self.data_dir)

    def list_archives(self) -> list[str]:
        """:return: The ids of the finished archives, sorted."""
        return list_archive_ids(self.data_dir)

    def search(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        stream: StreamingBuild | None = None,
    ) -> SearchOutcome:
        """
        Runs a KQL query to completion.

        :param spec: The query (KQL, case-insensitive when ``settings.ignore_case``); its
            earliest and latest timestamps, epoch ms inclusive (``--tge``, ``--tle``; clamped
            to what clp-s represents, so a far bound means unbounded); the archives to search
            (those since deleted are skipped; ``None`` searches all listed); the rows to keep,
            the latest (``None``: ``settings.max_cached_results``). Archives that cannot be
            read are skipped and named in the outcome's ``skipped_archives`` (see
            :mod:`logpager.search.archive_faults`).
        :param on_sample: Called at most once, in the searching thread while ``clp-s`` still
            runs, with the first block of hits as result rows (a few thousand, latest first):
            a sample to prepare the result's compression on while the search goes on. Not
            called when all hits fit in one block.
        :param stream: A streaming build to hand the hits to while they arrive oldest first
            (see :class:`~logpager.search.backend.SearchBackend`).
        :return: The kept hits latest first, and the count of all hits.
        :raise QuerySyntaxError: If the query is empty, too long, not UTF-8, or does not parse.
        :raise InvalidTimestampError: If ``begin_ms`` is after ``end_ms``.
        :raise NoArchivesError: If there is nothing to search.
        :raise SearchTimeoutError: If it runs past the timeout (the child is killed).
        :raise BackendCrashedError: If ``clp-s`` fails or its output is cut short (if every
            archive fails when searched alone, the message names each with its reason), or
            the archives folder cannot be read.
        """
        return self._search(spec, on_sample, stream, RunToken())

    async def search_async(
        self,
        spec: QuerySpec,
        *,
        on_sample: Callable[[pa.RecordBatch], object] | None = None,
        stream: StreamingBuild | None = None,
    ) -> SearchOutcome:
        """
        :meth:`search` in a worker thread; cancelling the awaiting task kills ``clp-s`` and
        returns only once the child is reaped.

        :param spec: As :meth:`search`.
        :param on_sample: As :meth:`search` (called in the worker thread).
        :param stream: As :meth:`search` (fed in the worker thread).
        :return: As :meth:`search`.
        :raise SearchError: As :meth:`search`.
        """
        return await run_cancellable(lambda token: self._search(spec, on_sample, stream, token))

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
        return resolve_link(
            self.clp_s,
            self.data_dir,
            archive_id,
            log_event_index,
            context=context,
            timeout_seconds=self.timeout_seconds,
        )

    def _select_archives(self, archive_ids: Sequence[str] | None) -> list[str]:
        """:return: The listed archives to search (all, or those of ``archive_ids`` present)."""
        current = self.list_archives()
        if not current:
            raise no_archives_error(self.data_dir)
        if archive_ids is None:
            return current
        present = set(current)
        wanted = list(dict.fromkeys(a for a in archive_ids if a in present))
        if not wanted:
            msg = (
                "None of the archives this query ran on exist any more "
                f"({', '.join(archive_ids) or 'none given'}). Please run a new query."
            )
            raise NoArchivesError(msg)
        return wanted

    def _argv(
        self, root: Path, query: str, spec: QuerySpec, extra: list[str], output: str
    ) -> list[str]:
        """:return: The ``clp-s s`` command line that searches ``root`` for ``query``."""
        argv = [str(self.clp_s), "s"]
        if self.settings.ignore_case:
            argv.append("-i")
        # clp-s holds bounds as signed 64-bit nanoseconds: one past the edge overflows and
        # silently matches nothing, so a bound beyond it is clamped to it (= unbounded).
        if spec.begin_ms is not None:
            argv += ["--tge", str(min(max(int(spec.begin_ms), MIN_CLP_MS), MAX_CLP_MS))]
        if spec.end_ms is not None:
            argv += ["--tle", str(min(max(int(spec.end_ms), MIN_CLP_MS), MAX_CLP_MS))]
        argv += extra
        argv += [str(root), " " + query, "file", "--path", output]
        return argv

    def _search(
        self,
        spec: QuerySpec,
        on_sample: Callable[[pa.RecordBatch], object] | None,
        stream: StreamingBuild | None,
        token: RunToken,
    ) -> SearchOutcome:
        started = time.monotonic()
        query = validate_query(spec.query, self.settings.max_query_length)
        begin_ms, end_ms = spec.begin_ms, spec.end_ms
        if begin_ms is not None and end_ms is not None and begin_ms > end_ms:
            msg = f"The begin timestamp ({begin_ms} ms) is after the end timestamp ({end_ms} ms)."
            raise InvalidTimestampError(msg)
        cap = spec.max_results or self.settings.max_cached_results
        ids, skipped = self._bad.split(self.archives_dir, self._select_archives(spec.archive_ids))
        if not ids:
            raise _all_bad_error(skipped)
        search = _Search(self, query, spec, token, started)
        collector = HitCollector(cap, self.settings, on_sample, stream)
        try:
            search.run(ids, collector)
        except BackendCrashedError as e:
            bad = search.probe(ids)
            if not bad:
                raise
            if len(bad) == len(ids):
                # Every archive fails alone: clp-s itself may be broken, so none is
                # remembered as bad; the error names each with its reason.
                named = "; ".join(f"{a}: {why}" for a, why in bad.items())
                msg = f"{e} Each archive searched alone fails: {named}"
                raise BackendCrashedError(msg) from e
            for archive_id, why in bad.items():
                self._bad.mark(self.archives_dir / archive_id, why)
            ids = [a for a in ids if a not in bad]
            skipped += bad
            # The failed run may have handed on its sample already: no second one.
            # The stream starts over too.
            collector = HitCollector(cap, self.settings, None, stream)
            search.run(ids, collector)
        batches = collector.finish()
        # Skipped archives stay pinned: a re-run skips them again (still known bad) and its
        # pages name them too; the set equals the listed one, so the search can be reused.
        seen = sorted(set(ids) | set(skipped) | collector.archive_ids)
        return SearchOutcome(
            batches=batches,
            total_matches=collector.total,
            archive_ids=tuple(seen),
            elapsed_seconds=time.monotonic() - started,
            skipped_archives=tuple(sorted(skipped)),
            streamed=collector.streamed,
        )


def _all_bad_error(skipped: Sequence[str]) -> NoArchivesError:
    return NoArchivesError(
        f"No archive could be searched: {', '.join(sorted(skipped))} cannot be read "
        "(see the server log). Re-ingest the logs or remove those archives."
    )


class _Search:
    """One search's runs of ``clp-s``: over a list of archives, or over each one alone."""

    def __init__(
        self, backend: ClpSBackend, query: str, spec: QuerySpec, token: RunToken, started: float
    ) -> None:
        self.backend = backend
        self.query = query
        self.spec = spec
        self.token = token
        self.deadline = started + backend.timeout_seconds

    def _exec(
        self, argv: list[str], on_rows: Callable[[Rows], object] | StreamDecoder
    ) -> tuple[int, bytes]:
        backend = self.backend
        return run_search(
            argv,
            self.token,
            on_rows,
            deadline=self.deadline,
            timeout_seconds=backend.timeout_seconds,
            settings=backend.settings,
        )

    def run(self, ids: list[str], collector: HitCollector) -> None:
        """
        Searches exactly ``ids``: one by ``--archive-id``, several through a folder of links
        to them (clp-s searches one folder or one archive), never the archives folder itself.
        """
        # Measured on the five loghub archives, `message: *error*`: building the folder of
        # links takes ~1 ms and one clp-s run over it 16 ms, against 62 ms for one run per
        # archive with --archive-id (each run pays clp-s's start-up).
        backend = self.backend
        archives = backend.archives_dir
        link_dir: Path | None = None
        try:
            if len(ids) == 1:
                root, extra = archives, ["--archive-id", ids[0]]
            else:
                staging = staging_dir(backend.data_dir)
                staging.mkdir(parents=True, exist_ok=True)
                link_dir = Path(tempfile.mkdtemp(prefix="search-", dir=staging))
                target = archives.resolve()
                for archive_id in ids:
                    (link_dir / archive_id).symlink_to(target / archive_id)
                root, extra = link_dir, []
            argv = backend._argv(root, self.query, self.spec, extra, "/dev/stdout")
            returncode, err = self._exec(argv, collector.decoder())
        finally:
            if link_dir is not None:
                shutil.rmtree(link_dir, ignore_errors=True)
        if returncode != 0:
            raise_for_failure(returncode, err, self.query, backend.data_dir)
            # clp-s found that the query can match nothing: no hits.
            collector.clear()

    def probe(self, ids: list[str]) -> dict[str, str]:
        """
        Searches each archive alone (hits to ``/dev/null``) after a failed search.

        :return: The archives that fail alone, with why (a path that cannot be read, or what
            ``clp-s`` said).
        """
        backend = self.backend
        bad: dict[str, str] = {}
        for archive_id in ids:
            extra = ["--archive-id", archive_id]
            argv = backend._argv(backend.archives_dir, self.query, self.spec, extra, "/dev/null")
            returncode, err = self._exec(argv, _ignore)
            if returncode == 0 or b"is logically false" in err:
                continue
            archive = backend.archives_dir / archive_id
            bad[archive_id] = failure_reason(archive, returncode, err)
        return bad


def _ignore(rows: Rows) -> None:
    """Drops a probe's hits (there are none: its output goes to ``/dev/null``)."""
