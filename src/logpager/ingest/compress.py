"""One ``clp-s c`` run over a staged group of inputs, and the check of what it built."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from logpager.errors import IngestError
from logpager.ingest.failures import explain_failure, explain_truncation
from logpager.ingest.progress import Progress
from logpager.ingest.staging import StagedGroup

__all__ = ["compress_group"]


def _run_compress(
    clp_s: Path,
    out_dir: Path,
    files: list[Path],
    timestamp_key: str | None,
    progress: Progress,
    label: str,
    target_bytes: int | None,
) -> tuple[int, str]:
    argv = [str(clp_s), "c"]
    if target_bytes is not None:
        argv += ["--target-encoded-size", str(target_bytes)]
    if timestamp_key:
        argv += ["--timestamp-key", timestamp_key]
    argv += [str(out_dir), *(str(f) for f in files)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        started = time.monotonic()
        # A thread blocks in wait() and is joined with a timeout for the progress lines:
        # Popen.wait(timeout) polls with sleeps of up to 50 ms, which added up to 7% to an
        # ingest of 200,000 JSON events (0.7 s) over bare clp-s c.
        waiter = threading.Thread(target=proc.wait, name="clp-s-wait", daemon=True)
        waiter.start()
        try:
            while waiter.is_alive():
                waiter.join(progress.interval)
                if waiter.is_alive():
                    progress.say(f"  compressing {label}: {time.monotonic() - started:.0f} s")
            returncode = proc.wait()
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()
        err.seek(0)
        return returncode, err.read().decode("utf-8", errors="replace")


def compress_group(
    clp_s: Path,
    out_dir: Path,
    group: StagedGroup,
    progress: Progress,
    *,
    target_bytes: int | None = None,
) -> list[Path]:
    """
    Compresses one group with ``clp-s c`` (killed if interrupted).

    :param clp_s: The ``clp-s`` binary.
    :param out_dir: A folder of this ingest's own where ``clp-s`` writes the archives.
    :param group: The staged files and their timestamp key.
    :param progress: Gets a line when the run starts, and then one per interval while it runs.
    :param target_bytes: Size at which clp-s starts a new archive (None: clp-s's default).
    :return: The complete archive folders it built, sorted.
    :raise IngestError: If ``clp-s`` fails, drops a cut-off last object, or builds no complete
        archive; the message names the input (and the line when known).
    """
    label = f"{len(group.sources)} file(s)"
    progress.say(f"compressing {label} (timestamp key {group.timestamp_key or 'none'})")
    returncode, stderr = _run_compress(
        clp_s, out_dir, list(group.files), group.timestamp_key, progress, label, target_bytes
    )
    produced = sorted(p for p in out_dir.iterdir() if p.is_dir()) if out_dir.is_dir() else []
    if returncode != 0:
        raise IngestError(explain_failure(stderr, group.sources, group.files, returncode))
    truncated = explain_truncation(stderr, group.files)
    if truncated is not None:
        # clp-s drops a cut-off last object with only a warning (exit 0); we refuse.
        raise IngestError(truncated)
    if not produced or not all((p / "header").is_file() for p in produced):
        names = ", ".join(str(i.path) for i in group.sources)
        msg = f"{names}: clp-s produced no complete archive"
        raise IngestError(msg)
    return produced
