"""``logpager serve``: run the MCP server, optionally on the bundled samples.

Exit status: 0 stopped on request (SIGTERM, SIGINT), 1 the server could not start, 2 the
command line or the settings were wrong.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from logpager.cli.options import SubParsers, fail
from logpager.errors import LogpagerError, SettingsError
from logpager.settings import list_profiles, load_settings

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
        "status 0.",
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
        "--metrics-port",
        type=int,
        default=None,
        help="stdio: serve GET /metrics and /health on this 127.0.0.1 port (HTTP: on its port)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="session store shared by replicas and kept across restarts: redis://HOST:PORT/DB, "
        "redis+cluster://HOST:PORT or memory:// (default: this process only)",
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
    overrides = {
        k: v
        for k, v in {
            "transport": args.transport,
            "host": args.host,
            "port": args.port,
            "metrics_port": args.metrics_port,
            "data_dir": args.data_dir,
            "auth_tokens_file": args.auth_tokens_file,
            "auth_jwt_public_key_file": args.jwt_public_key,
            "auth_jwt_jwks_uri": args.jwt_jwks_uri,
            "auth_jwt_issuer": args.jwt_issuer,
            "auth_jwt_audience": args.jwt_audience,
            "allow_unauthenticated": args.allow_unauthenticated,
            "store_url": args.store,
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
    except SettingsError:
        raise  # an unusable auth setting: the caller exits 2, as for any bad setting
    except LogpagerError as exc:
        # Startup failures (no archives, port taken, samples not ingestible) are one line
        # for a person to act on, not a traceback.
        return fail(str(exc), 1)
    return 0
