"""An item's link (``clp://{archive_id}/{log_event_index}``): read back, and followed.

Following a link decompresses its archive in log order with ``clp-s x --ordered`` and reads
the event at that index (and its neighbours) from the decompressed files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from logpager.errors import BackendCrashedError
from logpager.search.backend import LinkedEvent
from logpager.search.datadir import archives_dir, list_archive_ids, staging_dir
from logpager.search.failures import stderr_message, timeout_error

__all__ = ["parse_link", "resolve_link"]

_ARCHIVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


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


def resolve_link(
    clp_s: Path,
    data_dir: Path,
    archive_id: str,
    log_event_index: int,
    *,
    context: int,
    timeout_seconds: float,
) -> LinkedEvent:
    """
    Finds the event a link points to by decompressing its archive in log order.

    Cost grows with the archive (it is decompressed to a temporary folder), so this is for
    following a link now and then, not for bulk reads.

    :param clp_s: The ``clp-s`` binary.
    :param data_dir: The data directory that holds the archive.
    :param archive_id: The link's archive id.
    :param log_event_index: The link's event index (0-based, in log order).
    :param context: How many events before and after to include.
    :param timeout_seconds: Wall-clock cap of the decompression.
    :return: The event and its neighbours.
    :raise LookupError: If the archive or the event does not exist.
    :raise SearchTimeoutError: If decompression runs past ``timeout_seconds``.
    :raise BackendCrashedError: If ``clp-s`` fails.
    """
    archives = archives_dir(data_dir)
    if not _ARCHIVE_ID.fullmatch(archive_id) or archive_id not in list_archive_ids(data_dir):
        msg = f"No archive {archive_id!r} in {archives}"
        raise LookupError(msg)
    if log_event_index < 0 or context < 0:
        msg = "log_event_index and context must not be negative"
        raise LookupError(msg)
    staging = staging_dir(data_dir)
    staging.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="link-", dir=staging))
    try:
        argv = [str(clp_s), "x", "--ordered", "--archive-id", archive_id, str(archives), str(out)]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout_seconds,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise timeout_error(timeout_seconds) from exc
        if done.returncode != 0:
            msg = f"clp-s could not decompress archive {archive_id}: "
            raise BackendCrashedError(msg + stderr_message(done.stderr))
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
