"""The ``logpager`` command: its parser, and the dispatch to a subcommand's handler."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from logpager import __version__
from logpager.cli.demo import add_demo_parser
from logpager.cli.ingest import add_ingest_parser
from logpager.cli.search import add_search_parser
from logpager.cli.serve import add_serve_parser
from logpager.errors import SettingsError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """:return: The ``logpager`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="logpager",
        description="Search logs with KQL and page through very large results, as an MCP "
        "server for AI agents or from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"logpager {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_ingest_parser(subparsers)
    add_search_parser(subparsers)
    add_serve_parser(subparsers)
    add_demo_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """
    Entry point of the ``logpager`` console script.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status (0 ok, 1 failure, 2 bad command line or settings).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.handler(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return status
