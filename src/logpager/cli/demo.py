"""``logpager demo``: ingest the bundled samples, search them and show the first and last page."""

from __future__ import annotations

import argparse
import sys

from logpager.cli.options import (
    EXIT_STATUS_HELP,
    SubParsers,
    add_common_options,
    data_dir_note,
    settings_from_args,
)
from logpager.cli.pagetable import format_page_table

__all__ = ["add_demo_parser", "run_demo"]


def add_demo_parser(subparsers: SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``demo`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="ingest the bundled samples, search them and page through the result",
        description="Ingest the bundled real log samples into the data directory when it "
        "holds no archives, search it, and print the first and the last page and what the "
        "cache holds.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument("query", nargs="?", default="*", help="KQL query (default: *)")
    add_common_options(parser)
    parser.set_defaults(handler=run_demo)
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """
    Handles ``logpager demo``: prints the first and the last page and what the cache holds.

    :param args: Parsed arguments of :func:`add_demo_parser`.
    :return: Exit status (0).
    :raise LogpagerError: If the samples cannot be ingested or searched (the caller prints
        it and exits 1), or a setting or the query is invalid (the caller exits 2).
    """
    from logpager.ingest import ingest_samples
    from logpager.query import QuerySpec
    from logpager.search import ClpSBackend
    from logpager.sessions import SessionManager

    settings = settings_from_args(args, max_cached_results=100_000)
    print(data_dir_note(settings).strip("()"), file=sys.stderr)
    ingest_samples(settings.data_dir, settings=settings)
    outcome = ClpSBackend(settings).search(QuerySpec(args.query))
    manager = SessionManager(settings=settings)
    manager.mark_instructions_retrieved("demo")
    first, total = manager.cache_query_result(
        "demo",
        args.query,
        outcome.batches,
        total_matches=outcome.total_matches,
        archive_ids=outcome.archive_ids,
    )
    print(format_page_table(first, query=args.query))
    if total > 1:
        print(format_page_table(manager.get_nth_page("demo", total - 1), query=args.query))
    print(
        f"cached {manager.total_items()} results in {manager.total_bytes():,} bytes "
        f"({manager.total_bytes() * 1000 // max(manager.total_items(), 1):,} bytes per 1,000)"
    )
    return 0
