"""The ``logpager`` command: its parser, and the dispatch to a subcommand's handler."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from logpager import __version__
from logpager.cli.demo import add_demo_parser
from logpager.cli.ingest import add_ingest_parser
from logpager.cli.options import EXIT_STATUS_HELP, fail_with
from logpager.cli.search import add_search_parser
from logpager.cli.serve import add_serve_parser
from logpager.errors import LogpagerError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """:return: The ``logpager`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="logpager",
        description="Search logs with KQL and page through very large results, as an MCP "
        "server for AI agents or from the command line.",
        epilog=EXIT_STATUS_HELP,
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

    Output cut short by its reader (``logpager search ... | head``) ends the command quietly
    with status 0: the reader had what it wanted.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status (0 ok, 1 failure, 2 bad command line or settings; see
        :data:`~logpager.cli.options.EXIT_STATUS_HELP`).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except LogpagerError as exc:
        # Handlers report what they expect; anything else is still one line, not a traceback.
        return fail_with(exc)
    return status


def _silence_stdout() -> None:
    """
    Points stdout at /dev/null, so that the interpreter's last flush at exit does not fail
    on the closed pipe again (and print "Exception ignored ... BrokenPipeError").
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor
        pass
    finally:
        os.close(devnull)
