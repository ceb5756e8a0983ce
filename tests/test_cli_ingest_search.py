"""Tests of the ingest and search subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from logpager.cli.ingest import add_ingest_parser
from logpager.cli.pagetable import format_page_table
from logpager.cli.search import add_search_parser

LOGHUB = Path(__file__).resolve().parents[1] / "src" / "logpager" / "samples" / "loghub"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="logpager")
    sub = parser.add_subparsers()
    add_ingest_parser(sub)
    add_search_parser(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def data_dir(loghub_archives: Path) -> Path:
    # The session's loghub archives: OpenSSH among them, its year-less stamps read as 2020.
    return loghub_archives


def test_ingest_quiet_with_year(tmp_path: Path) -> None:
    data = tmp_path / "cli"
    assert (
        _run(
            [
                "ingest",
                str(LOGHUB / "OpenSSH_2k.log"),
                "--data-dir",
                str(data),
                "-q",
                "--year",
                "2020",
            ]
        )
        == 0
    )


def test_ingest_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["ingest", str(LOGHUB / "HDFS_2k.log"), "--data-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "added 1 archive(s)" in captured.out
    assert "converting" in captured.err


def test_ingest_prints_a_line_per_file_and_warns_of_undated_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.log"
    plain.write_text("no dates\nhere\n")
    argv = ["ingest", str(LOGHUB / "Linux_2k.log"), str(plain), "--data-dir", str(tmp_path / "d")]
    assert _run([*argv, "--year", "2005"]) == 0
    captured = capsys.readouterr()
    assert (
        f"{LOGHUB / 'Linux_2k.log'}: text, syslog; 2,000 event(s); "
        "2005-06-14T15:16:01Z .. 2005-07-27T14:42:00Z; year 2005 (given)"
    ) in captured.out
    assert f"{plain}: text, no timestamp found; 2 event(s); 2 without a timestamp" in captured.out
    assert f"warning: {plain}: all 2 event(s) have no timestamp" in captured.err


def test_ingest_timestamp_format_and_regex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "odd.log"
    source.write_text(
        "job 7 finished at 03.02.2024 10:11:12 ok\njob 8 finished at 04.02.2024 09:00:00 ok\n"
    )
    data = str(tmp_path / "d")
    assert _run(["ingest", str(source), "--data-dir", data, "-q"]) == 0
    assert "all 2 event(s) have no timestamp" in capsys.readouterr().err
    argv = ["ingest", str(source), "--data-dir", data, "--timestamp-format", "%d.%m.%Y %H:%M:%S"]
    assert _run([*argv, "--timestamp-regex", r"at (?P<ts>[\d.]+ [\d:]+)"]) == 0
    captured = capsys.readouterr()
    assert "2024-02-03T10:11:12Z .. 2024-02-04T09:00:00Z" in captured.out
    assert "warning" not in captured.err
    assert _run(["ingest", str(source), "--data-dir", data, "--timestamp-regex", "x"]) == 2
    assert "--timestamp-regex needs --timestamp-format" in capsys.readouterr().err
    assert _run(["ingest", str(source), "--data-dir", data, "--timestamp-format", "%Q"]) == 2
    assert "%Q is not supported" in capsys.readouterr().err


def test_ingest_year_out_of_range_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        _run(["ingest", str(LOGHUB / "Linux_2k.log"), "--data-dir", str(tmp_path), "--year", "0"])
    assert caught.value.code == 2
    assert "'0' is not a year from 1970 to 9999" in capsys.readouterr().err


def test_ingest_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    assert _run(["ingest", str(bad), "--data-dir", str(tmp_path / "d"), "-q"]) == 1
    assert "bad.jsonl:2" in capsys.readouterr().err


def test_search_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["search", "message: *invalid*", "--data-dir", str(data_dir), "--page", "1"]) == 0
    out = capsys.readouterr().out
    assert "query: message: *invalid*" in out
    assert "page 1 of 0-" in out
    assert "TIMESTAMP" in out
    assert "next: --page 2" in out


def test_search_table_shows_the_log_text_at_80_columns(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["search", 'message: "*Failed password*"', "--data-dir", str(data_dir)]) == 0
    page = dict(json.loads(_json_page(data_dir, 'message: "*Failed password*"', capsys)))
    table = format_page_table(page, query="q", width=80)
    rows = table.splitlines()[3:13]
    source = (LOGHUB / "OpenSSH_2k.log").read_text().splitlines()
    assert len(rows) == 10
    for row in rows:
        assert len(row) <= 80, row
        text = row[26:].removesuffix("…")
        # The row shows the start of a real source line, not the JSON it is stored in.
        assert len(text) >= 50, row
        assert any(line.startswith(text) for line in source), row
        assert "clp://" not in row
        assert '{"timestamp"' not in row


def _json_page(data_dir: Path, query: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert _run(["search", query, "--data-dir", str(data_dir), "--json"]) == 0
    return capsys.readouterr().out


def test_search_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        _run(
            [
                "search",
                "*",
                "--data-dir",
                str(data_dir),
                "--json",
                "--page-size",
                "5",
                "--begin",
                "2020-12-10T07:00:00Z",
                "--end",
                "2020-12-10T07:59:59.999Z",
            ]
        )
        == 0
    )
    page = json.loads(capsys.readouterr().out)
    expected = sum(
        1
        for line in (LOGHUB / "OpenSSH_2k.log").read_text().splitlines()
        if line.startswith("Dec 10 07:")
    )
    assert page["num_total_items"] == expected
    assert page["num_items_per_page"] == 5
    assert len(page["items"]) == 5
    assert page["items"][0].startswith("timestamp: 2020-12-10T07:")
    assert page["has_previous"] is False


@pytest.mark.parametrize(
    ("argv", "status", "text"),
    [
        # One convention: what was typed is wrong, 2; the work failed, 1.
        (["search", "message: ("], 2, "Parser error"),
        (["search", "*", "--begin", "yesterday"], 2, "--begin: Invalid timestamp 'yesterday'"),
        (
            ["search", "*", "--begin", "2020-01-02T00:00:00Z", "--end", "2020-01-01T00:00:00Z"],
            2,
            "--begin 2020-01-02T00:00:00Z is after --end 2020-01-01T00:00:00Z",
        ),
        (["search", "*", "--page", "999999"], 2, "Invalid page index"),
        (["search", "*", "--page", "-1"], 2, "--page must be 0 or more"),
        (["search", "*", "--page-size", "0"], 2, "(got 0 from --page-size)"),
        (["search", "--", "-message: *error*"], 2, "Hint: use NOT: NOT message: *error*"),
    ],
)
def test_search_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, text: str
) -> None:
    assert _run([argv[0], "--data-dir", str(data_dir), *argv[1:]]) == status
    assert text in capsys.readouterr().err


def test_search_without_archives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["search", "*", "--data-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "logpager ingest" in err
    # It says which data directory was searched, why that one, and how to choose another.
    assert f"Data directory {tmp_path / 'none'}: from --data-dir" in err
    assert "LOGPAGER_DATA_DIR" in err


def test_search_without_archives_in_the_default_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert _run(["search", "*"]) == 1
    err = capsys.readouterr().err
    assert f"Data directory {tmp_path / 'logpager'}: the default" in err


@pytest.mark.parametrize(
    ("query", "hint", "fixed"),
    [
        (
            "message: *Failed password*",
            "Hint: quote a value that has spaces (wildcards go inside the quotes): ",
            'message: "*Failed password*"',
        ),
        (
            "message: (*error* OR *fail*)",
            "Hint: a field applies to one value, not to a group; repeat the field: ",
            "(message: *error* OR message: *fail*)",
        ),
    ],
)
def test_kql_mistakes_get_a_hint_and_the_query_as_typed(
    data_dir: Path, capsys: pytest.CaptureFixture[str], query: str, hint: str, fixed: str
) -> None:
    assert _run(["search", query, "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: Invalid KQL query `{query}`: Parser error")
    assert err.rstrip().endswith(hint + fixed)
    # The suggested query is valid and finds what the mistaken one meant.
    assert _run(["search", fixed, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "matches: 0;" not in out


def test_a_query_is_echoed_as_typed(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = """message: "it's \\ here" AND ("""
    assert _run(["search", query, "--data-dir", str(data_dir)]) == 2
    assert f"`{query}`" in capsys.readouterr().err


def test_format_page_table_empty() -> None:
    text = format_page_table({"items": [], "num_total_pages": 1}, query="x")
    assert "(no results)" in text
