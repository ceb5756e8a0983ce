"""``logpager ingest``: build archives from log files, for people at a terminal.

``logpager ingest PATH... [--data-dir DIR] [--timestamp-key KEY] [--year Y]
[--timestamp-format STRPTIME [--timestamp-regex REGEX]] [--quiet]``

Prints one summary line per file (layout found, events, time range, year assumed) and a
warning for each file with events that have no timestamp.

Exit status: 0 done, 1 the ingest failed, 2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logpager.cli.options import SubParsers, add_common_options, fail, settings_from_args
from logpager.errors import LogpagerError, SettingsError
from logpager.ingest.customformat import TimestampSpec, custom_format

__all__ = ["add_ingest_parser", "run_ingest"]


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 1970 <= year <= 9999:
        msg = f"{text!r} is not a year from 1970 to 9999"
        raise argparse.ArgumentTypeError(msg)
    return year


def add_ingest_parser(subparsers: SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``ingest`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="build CLP archives from log files",
        description="Ingest JSON-lines or plain-text logs (optionally .gz/.zst) into CLP "
        "archives; every run adds archives and a search covers them all. Prints a line per "
        "file: the timestamp layout found, events, those without a timestamp (with a warning), "
        "the first and last timestamp and the year assumed.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="log files or folders")
    parser.add_argument(
        "--timestamp-key",
        default=None,
        help="timestamp field of JSON logs, a clp-s path such as a.b (default: detect); a key "
        "no event has is an error",
    )
    parser.add_argument(
        "--year",
        type=_year,
        default=None,
        help="year of text timestamps without one (syslog, logcat); default: each file's "
        "modification year, a year earlier for dates after it",
    )
    parser.add_argument(
        "--timestamp-format",
        default=None,
        metavar="STRPTIME",
        help="layout of text timestamps no built-in one fits, as for Python's strptime, e.g. "
        "'%%d.%%m.%%Y %%H:%%M:%%S'; looked for at the start of a line or after one of its "
        "first fields (default: detect per file)",
    )
    parser.add_argument(
        "--timestamp-regex",
        default=None,
        metavar="REGEX",
        help="with --timestamp-format: where the timestamp is, anywhere in the line; its group "
        "named ts (else the whole match) is read, e.g. 'took place at (?P<ts>[^;]+);'",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    add_common_options(parser)
    parser.set_defaults(handler=run_ingest)
    return parser


def run_ingest(args: argparse.Namespace) -> int:
    """
    Handles ``logpager ingest``.

    :param args: Parsed arguments of :func:`add_ingest_parser`.
    :return: Exit status.
    """
    from logpager.ingest import ingest

    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        return fail(str(exc), 2)
    if args.timestamp_regex is not None and args.timestamp_format is None:
        return fail("--timestamp-regex needs --timestamp-format (how to read what it finds)", 2)
    spec = None
    if args.timestamp_format is not None:
        spec = TimestampSpec(args.timestamp_format, args.timestamp_regex)
        try:
            custom_format(spec)
        except LogpagerError as exc:
            return fail(str(exc), 2)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        report = ingest(
            args.paths,
            settings=settings,
            timestamp_key=args.timestamp_key,
            default_year=args.year,
            timestamp_format=spec,
            progress=None if args.quiet else progress,
        )
    except LogpagerError as exc:
        return fail(str(exc), 1)
    if report.skipped and not args.quiet:
        print(f"skipped (no events): {', '.join(report.skipped)}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        for summary in report.summaries:
            print(summary.describe())
        print(
            f"added {len(report.archive_ids)} archive(s) to {settings.data_dir}: "
            f"{', '.join(report.archive_ids) or 'none'}"
        )
    return 0
