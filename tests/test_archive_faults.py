"""Stray entries and bad archives next to good ones: every search still runs over the good.

Each test copies the session's loghub data directory (never changes it). The unreadable
archive is made for a root test run too (root ignores file modes): its ``header`` is a link
to ``/proc/sys/net/ipv4/route/flush``, a write-only sysctl file that root cannot open for
reading either (EACCES), while ``stat`` still sees a regular file, so the archive is listed.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager.errors import BackendCrashedError, NoArchivesError
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.datadir import archives_dir, list_archive_ids
from logpager.server import INSTRUCTIONS, create_server
from logpager.settings import Settings

QUERY = "message: *error*"  # 947 hits in the samples
UNREADABLE_FILE = Path("/proc/sys/net/ipv4/route/flush")
TRUNCATED = "truncated-archive"
UNREADABLE = "unreadable-archive"


def _unreadable_target(tmp_path: Path) -> Path:
    """A regular file this process cannot open for reading, even as root."""
    if os.geteuid() != 0:
        made = tmp_path / "no-read"
        made.write_bytes(b"x")
        made.chmod(0)
        return made
    try:
        with open(UNREADABLE_FILE, "rb"):
            pass
    except PermissionError:
        return UNREADABLE_FILE
    pytest.skip(f"{UNREADABLE_FILE} is readable here")


def _faulty_copy(source: Path, tmp_path: Path) -> Path:
    """The data directory copied, with strays, a truncated and an unreadable archive added."""
    data = tmp_path / "data"
    shutil.copytree(source, data, symlinks=True)
    archives = archives_dir(data)
    good = sorted(p for p in archives.iterdir())
    (archives / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (archives / "README").write_text("archives live here\n")
    (archives / "lost+found").mkdir()
    (archives / "stray-folder").mkdir()
    (archives / "stray-folder" / "notes.txt").write_text("not an archive\n")
    truncated = archives / TRUNCATED
    shutil.copytree(good[0], truncated)
    for part in truncated.iterdir():
        if part.name != "header" and part.is_file():
            os.truncate(part, part.stat().st_size // 2)
    unreadable = archives / UNREADABLE
    shutil.copytree(good[1], unreadable)
    (unreadable / "header").unlink()
    (unreadable / "header").symlink_to(_unreadable_target(tmp_path))
    return data


@pytest.fixture
def faulty(loghub_archives: Path, tmp_path: Path) -> Path:
    return _faulty_copy(loghub_archives, tmp_path)


def test_search_skips_bad_archives_and_names_them(
    loghub_archives: Path, faulty: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean = ClpSBackend(Settings(data_dir=loghub_archives)).search(QuerySpec(QUERY))
    backend = ClpSBackend(Settings(data_dir=faulty))
    caplog.set_level(logging.INFO, logger="logpager")
    outcome = backend.search(QuerySpec(QUERY))
    assert outcome.total_matches == clean.total_matches == 947
    assert outcome.skipped_archives == (TRUNCATED, UNREADABLE)
    archives = archives_dir(faulty)
    text = caplog.text
    for stray in (".DS_Store", "README", "lost+found", "stray-folder"):
        assert f"Ignoring {archives / stray}" in text
    assert f"Skipping archive {archives / TRUNCATED}" in text
    assert "corrupt or truncated" in text
    unreadable = archives / UNREADABLE
    assert f"Skipping archive {unreadable}: cannot read {unreadable}/header" in text
    # Known bad ones are skipped at once; strays and bad archives are logged once, not again.
    caplog.clear()
    again = backend.search(QuerySpec(QUERY))
    assert again.total_matches == 947
    assert again.skipped_archives == (TRUNCATED, UNREADABLE)
    assert "Ignoring" not in caplog.text
    assert "Skipping" not in caplog.text
    # A re-run of the pinned spec skips them again and says so.
    pinned = QuerySpec(QUERY, archive_ids=outcome.archive_ids)
    assert backend.search(pinned).skipped_archives == (TRUNCATED, UNREADABLE)


def test_a_replaced_archive_is_searched_again(faulty: Path, loghub_archives: Path) -> None:
    backend = ClpSBackend(Settings(data_dir=faulty))
    assert backend.search(QuerySpec(QUERY)).skipped_archives == (TRUNCATED, UNREADABLE)
    truncated = archives_dir(faulty) / TRUNCATED
    shutil.rmtree(truncated)
    source = sorted(archives_dir(loghub_archives).iterdir())[0]
    shutil.copytree(source, truncated)
    outcome = backend.search(QuerySpec(QUERY))
    assert outcome.skipped_archives == (UNREADABLE,)
    # The repaired copy's hits count too.
    alone = ClpSBackend(Settings(data_dir=loghub_archives)).search(
        QuerySpec(QUERY, archive_ids=(source.name,))
    )
    assert outcome.total_matches == 947 + alone.total_matches


def test_only_bad_archives_is_an_error_naming_them(faulty: Path) -> None:
    backend = ClpSBackend(Settings(data_dir=faulty))
    # Every archive failing alone may be clp-s's fault: named, not remembered as bad.
    with pytest.raises(BackendCrashedError, match=f"alone fails: {TRUNCATED}: .*corrupt"):
        backend.search(QuerySpec(QUERY, archive_ids=(TRUNCATED,)))
    unreadable = archives_dir(faulty) / UNREADABLE
    with pytest.raises(BackendCrashedError, match=f"{UNREADABLE}: cannot read {unreadable}/header"):
        backend.search(QuerySpec(QUERY, archive_ids=(TRUNCATED, UNREADABLE)))
    # Once found bad next to good ones, they are skipped at once; alone, nothing is left.
    assert backend.search(QuerySpec(QUERY)).skipped_archives == (TRUNCATED, UNREADABLE)
    with pytest.raises(NoArchivesError, match=f"{TRUNCATED}, {UNREADABLE} cannot be read"):
        backend.search(QuerySpec(QUERY, archive_ids=(TRUNCATED, UNREADABLE)))


def test_an_unreadable_archives_folder_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() == 0:
        # A folder root cannot list: scandir gives EACCES even to root.
        target = Path("/proc/1/map_files")
        try:
            os.listdir(target)
            pytest.skip(f"{target} is readable here")
        except PermissionError:
            pass
        (data / "archives").symlink_to(target)
    else:
        (data / "archives").mkdir(mode=0)
    named = f"Cannot read the archives folder {data}/archives: Permission denied"
    with pytest.raises(BackendCrashedError, match=named):
        list_archive_ids(data)


async def _call(client: Client[Any], tool: str, **args: Any) -> Any:
    return (await client.call_tool(tool, args)).data


async def test_every_page_names_the_skipped_archives(faulty: Path, loghub_archives: Path) -> None:
    async with Client(create_server(Settings(data_dir=faulty)), mode="legacy") as client:
        assert await _call(client, "get_instructions") == INSTRUCTIONS
        assert "skipped_archives" in INSTRUCTIONS
        first = await _call(client, "search_by_kql", kql_query=QUERY)
        assert first["num_total_matches"] == 947
        assert first["skipped_archives"] == [TRUNCATED, UNREADABLE]
        handle = first["result_handle"]
        second = await _call(client, "get_nth_page", page_index=1, result_handle=handle)
        assert second["skipped_archives"] == [TRUNCATED, UNREADABLE]
    async with Client(create_server(Settings(data_dir=loghub_archives)), mode="legacy") as client:
        await _call(client, "get_instructions")
        page = await _call(client, "search_by_kql", kql_query=QUERY)
        assert "skipped_archives" not in page


async def test_an_unreadable_folder_is_named_through_the_tool(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() != 0:
        pytest.skip("made for root: the folder is one under /proc")
    (data / "archives").symlink_to("/proc/1/map_files")
    async with Client(create_server(Settings(data_dir=data)), mode="legacy") as client:
        await _call(client, "get_instructions")
        answer = await _call(client, "search_by_kql", kql_query=QUERY)
        assert f"{data}/archives" in answer["Error"]
        assert "Permission denied" in answer["Error"]
