"""The ``ingest`` and ``search`` subcommands, for people at a terminal.

``logpager ingest PATH... [--data-dir DIR] [--timestamp-key KEY] [--year Y] [--quiet]``
``logpager search "KQL" [--begin ISO] [--end ISO] [--page N] [--json] [--data-dir DIR]``

A query that starts with ``-`` needs ``--`` before it: ``logpager search -- "-h"``.
Exit status: 0 done, 1 the search or ingest failed, 2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from logpager.errors import InvalidTimestampError, LogpagerError, PageError
from logpager.settings import Settings, SettingsError, load_settings
from logpager.timeutil import format_epoch_ms, parse_iso8601_ms

__all__ = [
    "add_ingest_parser",
    "add_search_parser",
    "format_page_table",
    "run_ingest",
    "run_search",
]

_SubParsers = Any  # argparse's _SubParsersAction is private; typed loosely on purpose.


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="archive directory (default: settings)"
    )
    # SUPPRESS: a --profile given to the top-level parser is not overwritten by a default.
    parser.add_argument(
        "--profile", default=argparse.SUPPRESS, help="settings profile name or TOML path"
    )


def add_ingest_parser(subparsers: _SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``ingest`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="build CLP archives from log files",
        description="Ingest JSON-lines or plain-text logs (optionally .gz/.zst) into CLP "
        "archives; every run adds archives and a search covers them all.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="log files or folders")
    parser.add_argument(
        "--timestamp-key", default=None, help="timestamp field of JSON logs (default: detect)"
    )
    parser.add_argument(
        "--year", type=int, default=None, help="year for text timestamps without one (syslog)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    _add_common(parser)
    parser.set_defaults(handler=run_ingest)
    return parser


def add_search_parser(subparsers: _SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``search`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "search",
        help="search the archives with KQL and print one page",
        description="Search with KQL (case-insensitive) and print a page of results, latest "
        "first. Put -- before a query that starts with '-'.",
    )
    parser.add_argument("query", help='KQL query, e.g. "level: ERROR AND service: auth"')
    parser.add_argument("--begin", default=None, help="earliest time, e.g. 2024-05-01T00:00:00Z")
    parser.add_argument("--end", default=None, help="latest time, e.g. 2024-05-01T23:59:59.999Z")
    parser.add_argument("--page", type=int, default=0, help="0-based page index (default 0)")
    parser.add_argument("--page-size", type=int, default=None, help="items per page")
    parser.add_argument("--json", action="store_true", help="print the page as JSON")
    _add_common(parser)
    parser.set_defaults(handler=run_search)
    return parser


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return load_settings(getattr(args, "profile", None), **overrides)


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def run_ingest(args: argparse.Namespace) -> int:
    """
    Handles ``logpager ingest``.

    :param args: Parsed arguments of :func:`add_ingest_parser`.
    :return: Exit status.
    """
    from logpager.ingest import ingest

    try:
        settings = _settings(args)
    except SettingsError as exc:
        return _fail(str(exc), 2)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        report = ingest(
            args.paths,
            settings=settings,
            timestamp_key=args.timestamp_key,
            default_year=args.year,
            progress=None if args.quiet else progress,
        )
    except LogpagerError as exc:
        return _fail(str(exc), 1)
    if report.skipped and not args.quiet:
        print(f"skipped (no events): {', '.join(report.skipped)}", file=sys.stderr)
    if not args.quiet:
        print(
            f"added {len(report.archive_ids)} archive(s) to {settings.data_dir}: "
            f"{', '.join(report.archive_ids) or 'none'}"
        )
    return 0


def _split_item(item: str) -> tuple[str, str, str]:
    head, _, rest = item.partition(", message: ")
    message, sep, link = rest.rpartition(", link: ")
    if not sep:
        message, link = rest, ""
    return head.removeprefix("timestamp: "), message, link


def format_page_table(page: dict[str, Any], *, query: str, width: int | None = None) -> str:
    """
    Renders a page dict as a table with its paging metadata.

    :param page: What ``QueryResult.get_page`` returned.
    :param query: The query, for the header.
    :param width: Terminal width (default: detected).
    :return: Text ready to print.
    """
    width = width or shutil.get_terminal_size((120, 24)).columns
    index = int(page.get("page_index", 0))
    pages = int(page.get("num_total_pages", 0))
    items = list(page.get("items", []))
    matches = page.get("num_total_matches", page.get("num_total_items", 0))
    cached = page.get("num_total_items", 0)
    lines = [
        f"query: {query}",
        f"matches: {matches:,}; cached: {cached:,}"
        + (" (latest kept)" if page.get("truncated") else "")
        + f"; page {index} of 0-{max(pages - 1, 0)}; {page.get('num_items_per_page', 0)} per page",
    ]
    if not items:
        lines.append("(no results)")
        return "\n".join(lines)
    rows = [_split_item(str(item)) for item in items]
    link_width = max(len(r[2]) for r in rows)
    message_width = max(width - 24 - 2 - link_width - 2, 20)
    lines.append(f"{'TIMESTAMP':<24}  {'MESSAGE':<{message_width}}  LINK")
    for ts, message, link in rows:
        flat = message.replace("\n", "\\n")
        if len(flat) > message_width:
            flat = flat[: message_width - 1] + "…"
        lines.append(f"{ts:<24}  {flat:<{message_width}}  {link}")
    nav = []
    if page.get("has_previous"):
        nav.append(f"previous: --page {index - 1}")
    if page.get("has_next"):
        nav.append(f"next: --page {index + 1}")
    if nav:
        lines.append("; ".join(nav))
    return "\n".join(lines)


def run_search(args: argparse.Namespace) -> int:
    """
    Handles ``logpager search``: runs the query, caches it, prints the requested page.

    :param args: Parsed arguments of :func:`add_search_parser`.
    :return: Exit status.
    """
    from logpager.query import QuerySpec
    from logpager.search import ClpSBackend
    from logpager.search.pipeline import search_and_cache

    try:
        settings = _settings(args, page_size=getattr(args, "page_size", None))
        begin_ms = parse_iso8601_ms(args.begin) if args.begin else None
        end_ms = parse_iso8601_ms(args.end) if args.end else None
    except (SettingsError, InvalidTimestampError) as exc:
        return _fail(str(exc), 2)
    if args.page < 0:
        return _fail("--page must be 0 or more", 2)
    try:
        # The server's streaming path: the result is built while clp-s searches.
        spec = QuerySpec(args.query, begin_ms, end_ms)
        result, _outcome = search_and_cache(ClpSBackend(settings), spec, settings=settings)
        page = dict(result.get_page(args.page))
    except PageError as exc:
        return _fail(str(exc), 2)
    except LogpagerError as exc:
        return _fail(str(exc), 1)
    if args.json:
        print(json.dumps(page, ensure_ascii=False, indent=2))
    else:
        header = args.query
        if begin_ms is not None or end_ms is not None:
            header += f"  [{format_epoch_ms(begin_ms) if begin_ms is not None else '...'}"
            header += f" .. {format_epoch_ms(end_ms) if end_ms is not None else '...'}]"
        print(format_page_table(page, query=header))
    return 0
