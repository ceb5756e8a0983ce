"""``logpager serve``: run the MCP server, optionally on the bundled samples.

Exit status: 0 stopped on request (SIGTERM, SIGINT), 1 the server could not start, 2 the
command line or the settings were wrong (see :data:`~logpager.cli.options.EXIT_STATUS_HELP`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from logpager.cli.options import (
    EXIT_FAILURE,
    EXIT_STATUS_HELP,
    SubParsers,
    add_common_options,
    data_dir_note,
    fail,
)
from logpager.errors import LogpagerError, ServerStartupError, SettingsError
from logpager.settings import Settings, load_settings

# Settings the flags of serve set, by flag.
_FLAG_SETTINGS = {
    "--transport": "transport",
    "--host": "host",
    "--port": "port",
    "--metrics-port": "metrics_port",
    "--data-dir": "data_dir",
    "--auth-tokens-file": "auth_tokens_file",
    "--jwt-public-key": "auth_jwt_public_key_file",
    "--jwt-jwks-uri": "auth_jwt_jwks_uri",
    "--jwt-issuer": "auth_jwt_issuer",
    "--jwt-audience": "auth_jwt_audience",
    "--allow-unauthenticated": "allow_unauthenticated",
    "--store": "store_url",
    "--access-log": "access_log",
    "--workers": "workers",
}

__all__ = ["add_serve_parser", "run_serve"]


def add_serve_parser(subparsers: SubParsers) -> argparse.ArgumentParser:
    """
    Adds ``serve`` to a CLI.

    :param subparsers: The object ``ArgumentParser.add_subparsers()`` returned.
    :return: The new subcommand's parser (its handler is set as ``args.handler``).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the MCP server (with --samples, on the bundled samples if the data dir is empty)",
        description="Run the MCP server over stdio or streamable HTTP. With --samples, the "
        "bundled real log samples are ingested first when the data directory has no archives.",
        epilog="Exits 1 at once, with a one-line message, when the data directory holds no "
        "archives, the HTTP address is not loopback and no authentication is configured, or "
        "the address cannot be bound. SIGTERM or SIGINT stops the server gracefully with exit "
        f"status 0. {EXIT_STATUS_HELP}",
    )
    fields = Settings.model_fields
    parser.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default=None,
        help=f"(default: {fields['transport'].default}, or LOGPAGER_TRANSPORT or the profile's)",
    )
    parser.add_argument(
        "--host",
        default=None,
        help=f"HTTP bind address (default: {fields['host'].default}, or LOGPAGER_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"HTTP port (default: {fields['port'].default}, or LOGPAGER_PORT)",
    )
    add_common_options(parser)
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="stdio: serve GET /metrics and /health on this 127.0.0.1 port (HTTP: on its "
        "port) (default: none, or LOGPAGER_METRICS_PORT)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="session store shared by replicas and kept across restarts: redis://HOST:PORT/DB, "
        "redis+cluster://HOST:PORT or memory:// (default: none, this process only, or "
        "LOGPAGER_STORE_URL)",
    )
    parser.add_argument(
        "--access-log",
        action="store_const",
        const=True,
        default=None,
        help="HTTP: log every request on stderr (default: off, or LOGPAGER_ACCESS_LOG)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="HTTP: N server processes on the port, sharing the session store (N > 1 needs "
        "--store redis://...; they serve stateless HTTP) (default: 1, or LOGPAGER_WORKERS)",
    )
    parser.add_argument(
        "--samples", action="store_true", help="ingest the bundled samples into an empty data dir"
    )
    _add_auth_options(parser)
    parser.set_defaults(handler=run_serve)
    return parser


def _add_auth_options(parser: argparse.ArgumentParser) -> None:
    """
    Adds the HTTP authentication options (settings ``auth_*`` and ``allow_unauthenticated``).

    :param parser: The ``serve`` parser.
    """
    group = parser.add_argument_group(
        "authentication (HTTP)", "Bearer tokens from a file, or JWTs; one kind at a time."
    )
    group.add_argument(
        "--auth-tokens-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="accepted tokens, one 'PRINCIPAL TOKEN' pair a line",
    )
    group.add_argument(
        "--jwt-public-key", type=Path, default=None, metavar="FILE", help="PEM key for JWTs"
    )
    group.add_argument("--jwt-jwks-uri", default=None, metavar="URL", help="JWKS URL for JWTs")
    group.add_argument("--jwt-issuer", default=None, metavar="ISS", help="required JWT 'iss'")
    group.add_argument("--jwt-audience", default=None, metavar="AUD", help="required JWT 'aud'")
    # default=None, not False: without the flag, a profile's or the environment's value holds.
    group.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=None,
        help="serve a non-loopback address without authentication (a proxy authenticates)",
    )


def run_serve(args: argparse.Namespace) -> int:
    """
    Handles ``logpager serve``: runs the server until it is asked to stop.

    :param args: Parsed arguments of :func:`add_serve_parser`.
    :return: Exit status.
    :raise SettingsError: If the profile or a setting is invalid, the auth settings included
        (the caller exits 2).
    """
    given = {
        name: getattr(args, flag.removeprefix("--").replace("-", "_"))
        for flag, name in _FLAG_SETTINGS.items()
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    flags = {name: flag for flag, name in _FLAG_SETTINGS.items() if name in overrides}
    settings = load_settings(getattr(args, "profile", None), flags=flags, **overrides)
    try:
        if args.samples:
            from logpager.ingest import ingest_samples

            ingest_samples(settings.data_dir, settings=settings)
        from logpager.server import run_server

        # Returns normally on SIGTERM/SIGINT too: a requested stop is a clean exit (0).
        run_server(settings)
    except SettingsError:
        raise  # an unusable auth setting: the caller exits 2, as for any bad setting
    except ServerStartupError as exc:
        from logpager.search.datadir import list_archive_ids

        # Nothing to search: say which data directory that was, and how to choose another.
        note = "" if list_archive_ids(settings.data_dir) else f" {data_dir_note(settings)}"
        return fail(f"{exc}{note}", EXIT_FAILURE)
    except LogpagerError as exc:
        # Startup failures (no archives, port taken, samples not ingestible) are one line
        # for a person to act on, not a traceback.
        return fail(str(exc), 1)
    return 0
