"""``logpager search``: run a KQL query and print one page, for people at a terminal.

``logpager search "KQL" [--begin ISO] [--end ISO] [--page N] [--json] [--data-dir DIR]``

A query that starts with ``-`` needs ``--`` before it: ``logpager search -- "-h"``.
Exit status: see :data:`~logpager.cli.options.EXIT_STATUS_HELP`.
"""

from __future__ import annotations

import argparse
import json

from logpager.cli.options import (
    EXIT_STATUS_HELP,
    EXIT_USAGE,
    SubParsers,
    add_common_options,
    data_dir_note,
    exit_status,
    fail,
    fail_with,
    settings_from_args,
)
from logpager.cli.pagetable import format_page_table
from logpager.errors import LogpagerError, NoArchivesError, PageError
from logpager.settings import Settings
from logpager.timeutil import format_epoch_ms, parse_iso8601_ms

__all__ = ["add_search_parser", "run_search"]


def add_search_parser(subparsers: SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``search`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "search",
        help="search the archives with KQL and print one page",
        description="Search with KQL (case-insensitive) and print a page of results, latest "
        "first: each event's time and log text. Put -- before a query that starts with '-'.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument(
        "query", help="KQL query, e.g. 'message: \"*Failed password*\" AND message: *root*'"
    )
    parser.add_argument(
        "--begin",
        default=None,
        metavar="ISO",
        help="earliest time, inclusive, e.g. 2015-07-29T17:00:00Z (default: none)",
    )
    parser.add_argument(
        "--end",
        default=None,
        metavar="ISO",
        help="latest time, inclusive, e.g. 2015-07-29T23:59:59.999Z (default: none)",
    )
    parser.add_argument(
        "--page", type=int, default=0, metavar="N", help="0-based page index (default: 0)"
    )
    page_size = Settings.model_fields["page_size"].default
    parser.add_argument(
        "--page-size",
        type=int,
        default=None,
        metavar="N",
        help=f"items per page (default: {page_size}, or LOGPAGER_PAGE_SIZE or the profile's)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the page as JSON: whole items with their links"
    )
    add_common_options(parser)
    parser.set_defaults(handler=run_search)
    return parser


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
        settings = settings_from_args(args, page_size=getattr(args, "page_size", None))
    except LogpagerError as exc:
        return fail_with(exc)
    bounds: list[int | None] = []
    for flag, text in (("--begin", args.begin), ("--end", args.end)):
        try:
            bounds.append(parse_iso8601_ms(text) if text else None)
        except LogpagerError as exc:
            return fail(f"{flag}: {exc}", exit_status(exc))
    begin_ms, end_ms = bounds
    if begin_ms is not None and end_ms is not None and begin_ms > end_ms:
        return fail(f"--begin {args.begin} is after --end {args.end}", EXIT_USAGE)
    if args.page < 0:
        return fail(f"--page must be 0 or more, not {args.page}", EXIT_USAGE)
    try:
        # The server's streaming path: the result is built while clp-s searches.
        spec = QuerySpec(args.query, begin_ms, end_ms)
        result, _outcome = search_and_cache(ClpSBackend(settings), spec, settings=settings)
        page = dict(result.get_page(args.page))
    except NoArchivesError as exc:
        return fail(f"{exc} {data_dir_note(settings)}", exit_status(exc))
    except PageError as exc:
        # A page past the end is a --page that was wrong.
        return fail(f"{exc} (--page {args.page})", EXIT_USAGE)
    except LogpagerError as exc:
        return fail_with(exc)
    if args.json:
        print(json.dumps(page, ensure_ascii=False, indent=2))
    else:
        header = args.query
        if begin_ms is not None or end_ms is not None:
            header += f"  [{format_epoch_ms(begin_ms) if begin_ms is not None else '...'}"
            header += f" .. {format_epoch_ms(end_ms) if end_ms is not None else '...'}]"
        print(format_page_table(page, query=header))
    return 0
