"""Bytes a cached result really holds, counted in a fresh process.

tracemalloc sees only Python's allocators and ``pa.total_allocated_bytes()`` only Arrow's
pool, so memory that C libraries take with ``malloc`` (python-zstandard's compression and
decompression contexts, its digested dictionaries) is invisible to both. This probe runs in
a child process configured so that every allocation goes through glibc's ``malloc``:

- ``PYTHONMALLOC=malloc``: Python objects too (no pymalloc arenas);
- ``ARROW_DEFAULT_MEMORY_POOL=system``: Arrow buffers too (no jemalloc/mimalloc);
- ``MALLOC_ARENA_MAX=1``: every thread allocates from the main arena, the one that
  ``mallinfo2()`` reports.

``mallinfo2().uordblks + hblkhd`` is then the exact number of bytes in live allocations
(including malloc's own headers), unaffected by fragmentation or by memory not returned to
the OS. The probe builds ``copies`` results after a few warm-up builds (module-level caches and
shared contexts are the process's, not a result's), serves page 0 of each (so state created
lazily on first use is counted) and divides the growth by ``copies``.

The reference's lines are pure Python objects, so it is counted with tracemalloc under the
default allocator, which is exact for them (pymalloc's rounding to 16 bytes is not counted,
which errs in the reference's favour).

Usage (the benchmark does this)::

    python -m benchmarks._heap RESULT.arrow logpager|reference COPIES
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

__all__ = ["MALLOC_ENV", "held_bytes_per_copy", "write_batches"]

_WARM_UP_BUILDS = 8

MALLOC_ENV = {
    "PYTHONMALLOC": "malloc",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    "MALLOC_ARENA_MAX": "1",
}


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_in_use() -> int:
    """:return: Bytes in live ``malloc`` allocations (glibc 2.33 or later)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    gc.collect()
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def write_batches(path: Path, batches: list[pa.RecordBatch]) -> Path:
    """
    Stores batches for a probe process to read.

    :param path: Arrow IPC file to write.
    :param batches: The result rows (at least one batch).
    :return: ``path``.
    """
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return path


def held_bytes_per_copy(path: Path, impl: str, copies: int) -> dict[str, int]:
    """
    Runs the probe in a fresh process.

    :param path: Arrow IPC file of the result rows (see :func:`write_batches`).
    :param impl: ``logpager`` or ``reference``.
    :param copies: Results built and held at once; more copies, less rounding noise.
    :return: ``held_bytes`` per copy, ``events`` per copy and, for logpager,
        ``compressed_bytes`` (the result's own count) per copy.
    :raise subprocess.CalledProcessError: If the probe fails.
    """
    env = dict(os.environ)
    if impl == "logpager":
        env.update(MALLOC_ENV)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._heap", str(path), impl, str(copies)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    figures: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _probe(path: Path, impl: str, copies: int) -> dict[str, int]:
    from benchmarks.reference_baseline import format_lines
    from logpager.cache import QueryResult
    from logpager.settings import Settings

    batches = pa.ipc.open_file(str(path)).read_all().to_batches()
    events = sum(b.num_rows for b in batches)
    settings = Settings(max_cached_results=10**8)

    def build_ours() -> QueryResult:
        result = QueryResult.from_batches(batches, settings=settings)
        result.get_page(0)
        result.drop_decoded()
        return result

    if impl == "reference":
        build_ours().get_page(0)  # the same imports and kernels as the other probe
        warm_up: Callable[[], object] = lambda: format_lines(batches)  # noqa: E731
        warm_up()
        gc.collect()
        tracemalloc.start()
        held = [format_lines(batches) for _ in range(copies)]
        gc.collect()
        grown, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"held_bytes": grown // copies, "events": events, "copies": len(held)}
    # More warm-up builds than codec.contexts keeps dictionary contexts, so the measured builds
    # replace cached contexts rather than add to them: those are the process's, not a result's.
    for _ in range(_WARM_UP_BUILDS):
        build_ours()
    before = _malloc_in_use()
    results = [build_ours() for _ in range(copies)]
    grown = _malloc_in_use() - before
    return {
        "held_bytes": grown // copies,
        "events": events,
        "compressed_bytes": results[0].compressed_bytes,
        "copies": len(results),
    }


if __name__ == "__main__":
    print(json.dumps(_probe(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))
