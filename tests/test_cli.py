"""The logpager command: help, bad settings, and the demo on the bundled samples."""

from __future__ import annotations

import pytest

from logpager.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "search", "serve", "demo"):
        assert command in out


def test_bad_profile_is_a_clear_error(capsys, tmp_path):
    status = main(["serve", "--profile", "no-such-profile", "--data-dir", str(tmp_path)])
    assert status == 2
    assert "unknown profile" in capsys.readouterr().err


def test_demo_ingests_searches_and_pages(capsys, tmp_path):
    assert main(["demo", "--data-dir", str(tmp_path), "message: *error*"]) == 0
    out = capsys.readouterr().out
    assert "matches: 947" in out
    assert "bytes per 1,000" in out
