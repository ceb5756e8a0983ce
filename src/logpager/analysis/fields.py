"""The fields present in the archives: each field's dotted path, its JSON types, how many
events carry it, and a few example values.

Every event of the archives is streamed (:func:`logpager.search.scan.scan_events`) and parsed
in batches of about ``fields_batch_bytes`` with ``pyarrow.json`` (C++), so memory is bounded
by one batch, not the archives. A batch that Arrow cannot read as one table (a field that is
a number in one event and a string in another) is walked event by event in Python instead.
The answer is cached per set of archives: archives never change once written, and an ingest
adds new ones (so a new set, a new key).

A field's count is the events in which it holds a value other than JSON ``null``. Its types
are JSON's (``string``, ``number``, ``boolean``, ``object``, ``array``, ``null``); ``null``
shows where a batch held the field only as null. A key holding a dot is written ``a\\.b`` in a
path, as KQL wants it. Events ingested from plain text are ``{"timestamp": <epoch ms>,
"message": "<line>"}``, so text logs show those two fields.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from logpager.search.child import Rows, RunToken
from logpager.search.clp_s import ClpSBackend
from logpager.search.scan import StopScan, scan_events
from logpager.settings import Settings

__all__ = ["FieldCatalog", "FieldCollector", "FieldStats"]

_MAX_EXAMPLES = 3
# Values looked at for new examples, per column and batch, while a field has fewer than 3.
_EXAMPLE_PROBE = 64


@dataclass
class FieldStats:
    """
    What the scan saw of one field.

    :param types: Its JSON types.
    :param count: Events in which it holds a non-null value.
    :param examples: Up to three distinct example values (long ones cut short).
    """

    types: set[str] = field(default_factory=set)
    count: int = 0
    examples: list[Any] = field(default_factory=list)

    def as_dict(self, path: str) -> dict[str, Any]:
        """:return: The field as the tool lists it."""
        return {
            "path": path,
            "types": sorted(self.types),
            "count": self.count,
            "examples": list(self.examples),
        }


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace(".", "\\.")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{_escape(key)}" if prefix else _escape(key)


def _json_type(data_type: pa.DataType) -> str:
    if pa.types.is_struct(data_type):
        return "object"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return "array"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "number"
    if pa.types.is_null(data_type):
        return "null"
    return "string"  # strings, and strings Arrow read as timestamps


class FieldCollector:
    """
    Tallies the fields of events handed over in batches of JSON lines.

    :param example_chars: Longest example value kept whole; longer ones are cut, ending in
        ``"..."``.
    """

    def __init__(self, example_chars: int) -> None:
        self.example_chars = example_chars
        self.stats: dict[str, FieldStats] = {}
        self.events = 0

    def add_lines(self, data: bytes | bytearray, count: int) -> None:
        """
        :param data: ``count`` JSON objects, each on its own line ending with ``"\\n"``
            (read in place, not copied).
        :param count: How many.
        """
        self.events += count
        try:
            table = pa_json.read_json(pa.BufferReader(pa.py_buffer(data)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Mixed types in one batch: Arrow wants one type a column.
            self._add_python(data)
            return
        for name, column in zip(table.column_names, table.columns, strict=True):
            for chunk in column.chunks:
                self._add_array(_join("", name), chunk)

    def fields(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """
        :param limit: Most fields to list.
        :return: The most common ``limit`` fields, sorted by path, and how many were left out.
        """
        ranked = sorted(self.stats.items(), key=lambda kv: (-kv[1].count, kv[0]))
        kept = sorted(ranked[:limit], key=lambda kv: kv[0])
        return [stats.as_dict(path) for path, stats in kept], max(len(ranked) - limit, 0)

    def _stats(self, path: str) -> FieldStats:
        stats = self.stats.get(path)
        if stats is None:
            stats = self.stats[path] = FieldStats()
        return stats

    def _add_array(self, path: str, array: pa.Array) -> None:
        stats = self._stats(path)
        kind = _json_type(array.type)
        present = len(array) - array.null_count
        if kind == "null" or present:
            stats.types.add(kind)
        stats.count += present
        if kind == "object":
            # flatten() gives the children with the parent's nulls applied.
            for child, child_field in zip(array.flatten(), array.type, strict=True):
                self._add_array(_join(path, child_field.name), child)
        elif kind != "null" and len(stats.examples) < _MAX_EXAMPLES and present:
            values = array.drop_null().slice(0, _EXAMPLE_PROBE)
            if pa.types.is_timestamp(values.type):
                values = pc.strftime(values, format="%Y-%m-%dT%H:%M:%S")
            self._note_examples(stats, values.to_pylist())

    def _note_examples(self, stats: FieldStats, values: list[Any]) -> None:
        for value in values:
            if len(stats.examples) >= _MAX_EXAMPLES:
                return
            # Arrow may have read strings in an array as timestamps: shown in ISO 8601 again.
            shown = value if not isinstance(value, list | dict) else json.dumps(value, default=_iso)
            if isinstance(shown, str) and len(shown) > self.example_chars:
                shown = shown[: self.example_chars] + "..."
            if shown not in stats.examples:
                stats.examples.append(shown)

    def _add_python(self, data: bytes | bytearray) -> None:
        for line in data.splitlines():
            if line.strip():
                event = json.loads(line)
                if isinstance(event, dict):
                    self._add_object("", event)

    def _add_object(self, prefix: str, event: dict[str, Any]) -> None:
        for key, value in event.items():
            path = _join(prefix, key)
            stats = self._stats(path)
            kind = _python_type(value)
            stats.types.add(kind)
            if value is None:
                continue
            stats.count += 1
            if isinstance(value, dict):
                self._add_object(path, value)
            elif len(stats.examples) < _MAX_EXAMPLES:
                self._note_examples(stats, [value])


def _iso(value: object) -> str:
    """:return: A value JSON cannot write (a timestamp Arrow read) as text."""
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def _python_type(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


class _Batcher:
    """Gathers a scan's events into batches of about ``batch_bytes`` for a collector."""

    def __init__(self, collector: FieldCollector, batch_bytes: int, max_events: int) -> None:
        self.collector = collector
        self.batch_bytes = batch_bytes
        self.max_events = max_events
        # One buffer the events are appended to and Arrow reads in place: a list of the
        # events plus their joined copy held the batch three times over (18 MB of Python
        # heap at its peak for a 4 MiB batch, against 10 MB with this buffer).
        self.pending = bytearray()
        self.pending_events = 0
        self.taken = 0

    def add(self, rows: Rows) -> None:
        room = self.max_events - self.taken
        # clp-s ends every event with "\n" (logpager.search.hits relies on it too), so the
        # events join into JSON lines as they are.
        taken = rows[:room]
        self.pending += b"".join([row[1] for row in taken])
        self.pending_events += len(taken)
        self.taken += len(taken)
        if len(self.pending) >= self.batch_bytes:
            self.flush()
        if len(rows) > room:  # the cap left events out
            self.flush()
            raise StopScan

    def flush(self) -> None:
        if self.pending_events:
            self.collector.add_lines(self.pending, self.pending_events)
            # A new buffer: Arrow may still hold a view of the old one.
            self.pending, self.pending_events = bytearray(), 0


class FieldCatalog:
    """
    The fields of the archives, computed by a scan and cached per set of archives (the
    sorted archive ids): archives never change once written.

    :param settings: Source of ``fields_max_events_scanned``, ``fields_batch_bytes``,
        ``fields_example_chars``, ``fields_max_listed`` and ``fields_cache_entries``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._answers: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
        # One scan at a time: a second caller of the same archives waits for the first's
        # answer rather than scanning them again.
        self._lock = threading.Lock()

    def list_fields(self, backend: ClpSBackend, *, token: RunToken | None = None) -> dict[str, Any]:
        """
        :param backend: The engine and data directory.
        :param token: Lets another thread cancel the scan.
        :return: ``fields`` (path, types, count, examples), ``events_scanned``, whether the
            scan covered every event, the archives, and a note when the listing is partial.
        :raise NoArchivesError: If the data directory holds no archives.
        :raise SearchTimeoutError: If the scan runs past the search timeout.
        :raise BackendCrashedError: If ``clp-s`` fails.
        """
        with self._lock:
            key = tuple(backend.list_archives())
            cached = self._answers.get(key)
            if cached is not None:
                self._answers.move_to_end(key)
                return cached
            answer, scanned = self._scan(backend, token)
            self._answers[scanned] = answer
            while len(self._answers) > self.settings.fields_cache_entries:
                self._answers.popitem(last=False)
            return answer

    def _scan(
        self, backend: ClpSBackend, token: RunToken | None
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        settings = self.settings
        collector = FieldCollector(settings.fields_example_chars)
        batcher = _Batcher(
            collector, settings.fields_batch_bytes, settings.fields_max_events_scanned
        )
        outcome = scan_events(backend, batcher.add, token=token)
        batcher.flush()
        listed, left_out = collector.fields(settings.fields_max_listed)
        answer: dict[str, Any] = {
            "fields": listed,
            "events_scanned": collector.events,
            "all_events_scanned": outcome.complete,
            "archives": len(outcome.archive_ids),
        }
        notes = list(_notes(outcome.complete, collector.events, left_out))
        if notes:
            answer["note"] = " ".join(notes)
        return answer, outcome.archive_ids


def _notes(complete: bool, events: int, left_out: int) -> Iterator[str]:
    if not complete:
        yield (
            f"Counts are over the first {events} events scanned (fields_max_events_scanned), "
            "not every event: fields only in later events are missing."
        )
    if left_out:
        yield f"{left_out} less common fields are not listed (fields_max_listed)."
