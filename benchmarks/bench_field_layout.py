"""A field-wise message section for chunks, measured against the layout in use (which it lost to).

Run::

    .venv/bin/pytest benchmarks/bench_field_layout.py --benchmark-only -s

A chunk stores its messages whole, back to back (:mod:`logpager.cache.codec.layout`). This
probe stores them field-wise instead, byte-exactly: every message is cut into a *shape* (its
text with each variable replaced by a NUL) and its variables. A variable is a run of
``[A-Za-z0-9_.-/$@+]`` holding a digit, or a whole such run between ``:"`` and ``"`` (a JSON
string value); keys, punctuation and words stay in the shape, so a JSON event's keys and a
text line's constant words are stored once per chunk. The cut is a partition of the text, so
joining shape pieces and variables gives the message back exactly. The section replaces the
message lengths and bytes of a chunk:

==========  ==================================================================
table       u32 byte count, then the chunk's distinct shapes, each ended by 0x01
shape ids   one byte a row (the shape's position in the table)
values      *sparse*: the variables slot-major (every row's first, then every
            row's second, ...), each ended by a NUL; *dense*: the same with an
            empty value for each slot a row's shape lacks, a u8 slot count first
==========  ==================================================================

Decoding rebuilds the chunk's messages: the sparse form with one numpy byte gather, the dense
form with one Arrow ``take`` over the pieces and values as one binary array. Both are checked
to give every chunk's messages back byte for byte.

Datasets: 20,000 synthetic events and every loghub sample beside the repository (the five
bundled ones where the shared set is absent), ingested and searched for ``*``. Bytes are per
1,000 events with one procedure for both layouts (a zstd dictionary trained on
whole chunks with the settings' trainer parameters, kept if it pays); the decode times
alternate today's :func:`~logpager.cache.codec.decode.decode_chunk_bytes` of a whole chunk
with the field-wise message section alone, chunk by chunk, in the same loop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import zstandard

from benchmarks.bench_cache import synthetic_batch
from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.encode import encode_table
from logpager.cache.codec.layout import STORED_COLUMNS, UNSIGNED, pack_chunks
from logpager.ingest import ingest, sample_files
from logpager.query import QuerySpec
from logpager.schema import MESSAGE
from logpager.search import ClpSBackend
from logpager.settings import Settings

ROWS = 100
# The twelve loghub samples beside the repository, or the five bundled ones.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"
SAMPLES = {
    path.name.split("_")[0]: path
    for path in (sorted(_SHARED.glob("*.log")) if _SHARED.is_dir() else sample_files())
}
DATASETS = ["synthetic", *SAMPLES]

_VARIABLE_CHARS = np.zeros(256, np.bool_)
for _letters in (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b"abcdefghijklmnopqrstuvwxyz",
    b"0123456789_.-/$@+",
):
    _VARIABLE_CHARS[np.frombuffer(_letters, np.uint8)] = True
_DIGITS = np.zeros(256, np.int32)
_DIGITS[ord("0") : ord("9") + 1] = 1

Ints = npt.NDArray[np.int64]


class Tokens(NamedTuple):
    """The variables of a table's messages and each message's shape."""

    starts: Ints
    ends: Ints
    rows: Ints
    shape_ids: Ints
    shapes: list[bytes]


def message_blob(stored: pa.Table) -> tuple[npt.NDArray[np.uint8], Ints]:
    """:return: The stored messages back to back and their offsets."""
    column = stored.column(STORED_COLUMNS[MESSAGE]).combine_chunks()
    buffers = column.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, len(column) + 1, column.offset).astype(np.int64)
    blob = np.frombuffer(buffers[2], np.uint8, int(offsets[-1]))
    assert not (blob < 2).any(), "NUL and 0x01 mark pieces; such a chunk would stay whole"
    return blob, offsets


def tokenize(blob: npt.NDArray[np.uint8], offsets: Ints) -> Tokens:
    """:return: Every variable of the messages (see the module docstring) and their shapes."""
    size = len(blob)
    inside = _VARIABLE_CHARS[blob]
    before = np.zeros_like(inside)
    before[1:] = inside[:-1]
    after = np.zeros_like(inside)
    after[:-1] = inside[1:]
    nonempty = offsets[:-1] < offsets[1:]
    before[offsets[:-1][nonempty]] = False  # runs never cross messages
    after[offsets[1:][nonempty] - 1] = False
    starts = np.flatnonzero(inside & ~before)
    ends = np.flatnonzero(inside & ~after) + 1
    digits = np.add.reduceat(_DIGITS[blob], starts) > 0 if len(starts) else starts > 0
    rows = np.searchsorted(offsets, starts, "right") - 1
    quoted = (
        (starts - 2 >= offsets[rows])
        & (blob[np.maximum(starts - 2, 0)] == ord(":"))
        & (blob[np.maximum(starts - 1, 0)] == ord('"'))
        & (blob[np.minimum(ends, size - 1)] == ord('"'))
        & (ends < size)
    )
    chosen = digits | quoted
    starts, ends, rows = starts[chosen], ends[chosen], rows[chosen]
    edges = np.zeros(size + 1, np.int32)
    edges[starts] += 1
    edges[ends] -= 1
    keep = np.cumsum(edges[:-1]) == 0
    keep[starts] = True
    marked = blob.copy()
    marked[starts] = 0
    kept = np.zeros(size + 1, np.int64)
    np.cumsum(keep, out=kept[1:])
    shape_offsets = kept[offsets].astype(np.int32)
    shapes = pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(shape_offsets), pa.py_buffer(marked[keep].tobytes())],
    )
    encoded = pc.dictionary_encode(shapes)
    return Tokens(
        starts,
        ends,
        rows,
        encoded.indices.to_numpy().astype(np.int64),
        encoded.dictionary.to_pylist(),
    )


def field_section(
    tokens: Tokens, blob: npt.NDArray[np.uint8], first: int, stop: int, *, dense: bool
) -> bytes:
    """:return: The field-wise message section of rows ``first:stop`` (module docstring)."""
    rows = stop - first
    global_ids = tokens.shape_ids[first:stop]
    unique, first_seen, local = np.unique(global_ids, return_index=True, return_inverse=True)
    order = np.argsort(first_seen)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    table = b"".join(tokens.shapes[int(shape)] + b"\x01" for shape in unique[order])
    low, high = np.searchsorted(tokens.rows, [first, stop])
    row = tokens.rows[low:high] - first
    counts = np.bincount(row, minlength=rows)
    slot = np.arange(high - low) - np.repeat(np.cumsum(counts) - counts, counts)
    starts, ends = tokens.starts[low:high], tokens.ends[low:high]
    slots = int(counts.max(initial=0))
    if dense:
        at = slot * rows + row
        starts, ends = np.zeros(slots * rows, np.int64), np.zeros(slots * rows, np.int64)
        starts[at], ends[at] = tokens.starts[low:high], tokens.ends[low:high]
    else:
        by_slot = np.lexsort((row, slot))
        starts, ends = starts[by_slot], ends[by_slot]
    lengths = ends - starts + 1
    ends_out = np.cumsum(lengths)
    gather = np.repeat(starts - (ends_out - lengths), lengths) + np.arange(int(ends_out[-1]))
    values = blob[np.minimum(gather, len(blob) - 1)]
    values[ends_out - 1] = 0
    head = len(table).to_bytes(4, "little") + table + rank[local].astype(np.uint8).tobytes()
    return head + (bytes([slots]) if dense else b"") + values.tobytes()


def decode_sparse(raw: bytes, position: int, rows: int) -> tuple[bytes, Ints]:
    """:return: The messages of a sparse section at ``position`` and their offsets."""
    data = np.frombuffer(raw, np.uint8)
    table_start = position + 4
    table_end = table_start + int.from_bytes(raw[position:table_start], "little")
    ids = data[table_end : table_end + rows]
    base = table_end + rows
    marks = np.flatnonzero(data[table_start:table_end] < 2) + table_start
    piece_starts = np.empty_like(marks)
    piece_starts[0] = table_start
    piece_starts[1:] = marks[:-1] + 1
    piece_lengths = marks - piece_starts
    last = np.flatnonzero(data[marks] == 1)
    first = np.zeros_like(last)
    first[1:] = last[:-1] + 1
    row_slots = (last - first)[ids]
    terminators = np.flatnonzero(data[base:] == 0) + base
    value_starts = np.empty_like(terminators)
    value_starts[0] = base
    value_starts[1:] = terminators[:-1] + 1
    slots = int(row_slots.max())
    columns = np.arange(slots + 1)
    present = columns[:slots, None] < row_slots  # (slot, row), stored slot-major
    stored_at = (np.cumsum(present, dtype=np.int64).reshape(slots, rows) - 1).T
    stored_at[~present.T] = 0
    sources = np.empty((rows, 2 * slots + 1), np.int64)
    lengths = np.zeros((rows, 2 * slots + 1), np.int64)
    pieces = np.minimum(first[ids][:, None] + columns, len(piece_starts) - 1)
    sources[:, 0::2] = piece_starts[pieces]
    lengths[:, 0::2] = np.where(columns <= row_slots[:, None], piece_lengths[pieces], 0)
    sources[:, 1::2] = value_starts[stored_at]
    lengths[:, 1::2] = np.where(present.T, (terminators - value_starts)[stored_at], 0)
    flat = lengths.ravel()
    ends = np.cumsum(flat)
    gather = np.repeat(sources.ravel() - (ends - flat), flat)
    gather += np.arange(int(ends[-1]))
    offsets = np.zeros(rows + 1, np.int64)
    offsets[1:] = ends.reshape(rows, -1)[:, -1]
    return data[gather].tobytes(), offsets


def decode_dense(raw: bytes, position: int, rows: int) -> tuple[bytes, Ints]:
    """:return: The messages of a dense section at ``position`` and their offsets."""
    data = np.frombuffer(raw, np.uint8)
    table_start = position + 4
    table_end = table_start + int.from_bytes(raw[position:table_start], "little")
    ids = data[table_end : table_end + rows]
    slots = raw[table_end + rows]
    base = table_end + rows + 1
    marks = np.flatnonzero(data[table_start:table_end] < 2) + table_start
    terminators = np.flatnonzero(data[base:] == 0) + base
    pieces, values = len(marks), len(terminators)
    # One binary array over the chunk: entry 2i is piece i, 2(pieces + k) value k, odd
    # entries the marks between them, the last entry empty.
    bounds = np.empty(2 * (pieces + values) + 2, np.int32)
    bounds[0] = table_start
    bounds[1 : 2 * pieces : 2] = marks
    bounds[2 : 2 * pieces + 1 : 2] = marks + 1
    bounds[2 * pieces] = base
    bounds[2 * pieces + 1 : -1 : 2] = terminators
    bounds[2 * pieces + 2 : -1 : 2] = terminators + 1
    bounds[-1] = bounds[-2]
    whole = pa.Array.from_buffers(
        pa.binary(), len(bounds) - 1, [None, pa.py_buffer(bounds), pa.py_buffer(raw)]
    )
    last = np.flatnonzero(data[marks] == 1)
    first = np.zeros_like(last)
    first[1:] = last[:-1] + 1
    columns = np.arange(slots + 1)
    grid = np.empty((rows, 2 * slots + 1), np.int32)
    in_shape = columns <= (last - first)[ids][:, None]
    grid[:, 0::2] = np.where(in_shape, 2 * (first[ids][:, None] + columns), len(bounds) - 2)
    grid[:, 1::2] = 2 * pieces + 2 * (np.arange(slots) * rows + np.arange(rows)[:, None])
    taken = whole.take(pa.array(grid.ravel()))
    buffers = taken.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, len(taken) + 1)
    return buffers[2].to_pybytes()[: offsets[-1]], offsets[:: 2 * slots + 1].astype(np.int64)


def sample_rows(folder: Path, path: Path) -> list[pa.RecordBatch]:
    """:return: Every event of one log file, as a search for ``*`` returns them."""
    settings = Settings(data_dir=folder, max_cached_results=10**6)
    ingest([path], data_dir=folder, settings=settings, default_year=2020, progress=None)
    return list(ClpSBackend(settings).search(QuerySpec("*")).batches)


def per_1000(chunks: list[bytes], events: int, settings: Settings) -> float:
    """:return: Compressed bytes per 1,000 events, a dictionary included if it pays."""
    plain = zstandard.ZstdCompressor(level=settings.zstd_level)
    best = sum(len(plain.compress(chunk)) for chunk in chunks)
    samples: list[bytes | bytearray | memoryview] = list(
        chunks[:: max(len(chunks) // settings.dictionary_samples, 1)]
    )
    try:
        trained = zstandard.train_dictionary(
            min(settings.zstd_dictionary_bytes, best // settings.dictionary_size_share),
            samples * max(40 // len(samples), 1),
            k=settings.dictionary_trainer_segment,
            d=settings.dictionary_trainer_dmer,
            f=settings.dictionary_trainer_table_log,
        )
    except zstandard.ZstdError:
        return best * 1000 / events
    with_dictionary = zstandard.ZstdCompressor(level=settings.zstd_level, dict_data=trained)
    total = sum(len(with_dictionary.compress(chunk)) for chunk in chunks)
    return min(best, total + len(trained.as_bytes())) * 1000 / events


def quartiles(seconds: list[float]) -> str:
    """:return: ``median (p25-p75) us``."""
    p25, p50, p75 = np.percentile(np.array(seconds) * 1e6, [25, 50, 75]).tolist()
    return f"{p50:.0f} us ({p25:.0f}-{p75:.0f})"


@pytest.mark.parametrize("dataset", DATASETS)
def test_field_layout(benchmark: Any, dataset: str, tmp_path: Path) -> None:
    batches = (
        [synthetic_batch(20_000)]
        if dataset == "synthetic"
        else sample_rows(tmp_path, SAMPLES[dataset])
    )
    stored, _ = encode_table(pa.Table.from_batches(batches), ROWS)
    today = pack_chunks(stored, ROWS)
    blob, offsets = message_blob(stored)
    tokens = benchmark.pedantic(tokenize, (blob, offsets), rounds=1, iterations=1)
    laid: dict[str, list[tuple[bytes, int, int]]] = {"sparse": [], "dense": []}
    decoders = {"sparse": decode_sparse, "dense": decode_dense}
    for chunk_index, chunk in enumerate(today):
        first = chunk_index * ROWS
        stop = min(first + ROWS, stored.num_rows)
        rows = stop - first
        message_bytes = blob[offsets[first] : offsets[stop]].tobytes()
        width = UNSIGNED[chunk[2] >> 6 & 3].itemsize
        prefix = chunk[: len(chunk) - len(message_bytes) - width * rows]
        for form, decoder in decoders.items():
            section = field_section(tokens, blob, first, stop, dense=form == "dense")
            laid[form].append((prefix + section, len(prefix), rows))
            text, got = decoder(prefix + section, len(prefix), rows)
            assert text == message_bytes, f"{dataset} chunk {chunk_index} ({form})"
            assert (got == offsets[first : stop + 1] - offsets[first]).all()
    times: dict[str, list[float]] = {"today": [], "sparse": [], "dense": []}
    for _ in range(20):
        for chunk_index, chunk in enumerate(today[:20]):
            began = time.perf_counter()
            decode_chunk_bytes(chunk)
            times["today"].append(time.perf_counter() - began)
            for form, decoder in decoders.items():
                raw, position, rows = laid[form][chunk_index]
                began = time.perf_counter()
                decoder(raw, position, rows)
                times[form].append(time.perf_counter() - began)
    settings, events = Settings(), stored.num_rows
    base = per_1000(today, events, settings)
    sizes = {form: per_1000([c for c, _, _ in laid[form]], events, settings) for form in laid}
    benchmark.extra_info.update(
        today_bytes_per_1000=round(base),
        **{f"{form}_bytes_per_1000": round(size) for form, size in sizes.items()},
        **{
            f"{name}_decode_median_us": round(float(np.median(t)) * 1e6)
            for name, t in times.items()
        },
    )
    print(
        f"\n[{dataset}] {events} events, {len(tokens.shapes)} shapes: today {base:,.0f} B/1000, "
        + ", ".join(f"{f} {s:,.0f} ({s / base:.3f})" for f, s in sizes.items())
        + f"; whole-chunk decode today {quartiles(times['today'])}, message section alone: "
        + ", ".join(f"{f} {quartiles(times[f])}" for f in decoders)
    )
