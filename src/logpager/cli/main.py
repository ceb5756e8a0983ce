"""The ``logpager`` command: ingest, search, serve, and a cache demo."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from logpager import __version__
from logpager.cli.ingest_search import add_ingest_parser, add_search_parser
from logpager.errors import LogpagerError
from logpager.settings import SettingsError, list_profiles, load_settings

__all__ = ["build_parser", "main"]


def _add_serve_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the MCP server (with --samples, on the bundled samples if the data dir is empty)",
        description="Run the MCP server over stdio or streamable HTTP. With --samples, the "
        "bundled real log samples are ingested first when the data directory has no archives.",
        epilog="Exits 1 at once, with a one-line message, when the data directory holds no "
        "archives or the HTTP address cannot be bound. SIGTERM or SIGINT stops the server "
        "gracefully with exit status 0.",
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default=None)
    parser.add_argument("--host", default=None, help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 8000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="archive directory")
    parser.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        help=f"settings profile name or TOML path (shipped: {', '.join(list_profiles())})",
    )
    parser.add_argument(
        "--samples", action="store_true", help="ingest the bundled samples into an empty data dir"
    )
    parser.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    overrides = {
        k: v
        for k, v in {
            "transport": args.transport,
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
        }.items()
        if v is not None
    }
    settings = load_settings(getattr(args, "profile", None), **overrides)
    try:
        if args.samples:
            from logpager.ingest import ingest_samples

            ingest_samples(settings.data_dir, settings=settings)
        from logpager.server import run_server

        # Returns normally on SIGTERM/SIGINT too: a requested stop is a clean exit (0).
        run_server(settings)
    except LogpagerError as exc:
        # Startup failures (no archives, port taken, samples not ingestible) are one line
        # for a person to act on, not a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_demo_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="ingest the bundled samples, search them and page through the result"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="archive directory")
    parser.add_argument("query", nargs="?", default="*", help="KQL query (default: *)")
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from logpager.cli.ingest_search import format_page_table
    from logpager.ingest import ingest_samples
    from logpager.query import QuerySpec
    from logpager.search import ClpSBackend
    from logpager.sessions import SessionManager

    overrides = {"data_dir": args.data_dir} if args.data_dir is not None else {}
    settings = load_settings(None, max_cached_results=100_000, **overrides)
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
    _add_serve_parser(subparsers)
    _add_demo_parser(subparsers)
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
