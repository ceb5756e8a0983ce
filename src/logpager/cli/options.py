"""What the subcommands share: common options, their settings, exit statuses and errors.

Exit status, the same for every subcommand: 0 done, 1 the work failed (no archives, the
engine failed, a file could not be ingested, the server could not start), 2 what was typed
is wrong (an option, a setting from a flag, a ``LOGPAGER_*`` variable or a profile, a KQL
query that does not parse, a time bound, a page index).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from logpager.errors import (
    InvalidArgumentError,
    InvalidPageIndexError,
    InvalidTimestampError,
    LogpagerError,
    QuerySyntaxError,
    SettingsError,
)
from logpager.settings import Settings, default_data_dir, list_profiles, load_settings

__all__ = [
    "EXIT_FAILURE",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "SubParsers",
    "add_common_options",
    "add_data_dir_option",
    "add_profile_option",
    "data_dir_help",
    "data_dir_note",
    "exit_status",
    "fail",
    "fail_with",
    "settings_from_args",
]

SubParsers = Any  # argparse's _SubParsersAction is private; typed loosely on purpose.

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_STATUS_HELP = (
    "Exit status: 0 done; 1 the work failed (no archives, the search engine failed, a file "
    "could not be ingested, the server could not start); 2 what was typed is wrong (an "
    "option, a setting from a flag, a LOGPAGER_* variable or a profile, a KQL query, a time "
    "bound, a page index)."
)

# Errors in what a person typed; any other LogpagerError is the work failing.
_USAGE_ERRORS = (
    SettingsError,
    QuerySyntaxError,
    InvalidTimestampError,
    InvalidPageIndexError,
    InvalidArgumentError,
)

# How each setting a flag sets is named in messages, so a bad value is blamed on the flag.
_FLAGS = {"data_dir": "--data-dir", "page_size": "--page-size"}


def data_dir_help() -> str:
    """:return: The ``--data-dir`` help, with the directory used without the flag."""
    from_env = os.environ.get("LOGPAGER_DATA_DIR")
    default = (
        f"$LOGPAGER_DATA_DIR, now {from_env}"
        if from_env
        else f"{default_data_dir()}; or set LOGPAGER_DATA_DIR"
    )
    return f"archive directory (default: {default})"


def data_dir_note(settings: Settings) -> str:
    """
    :param settings: The settings a subcommand ran with.
    :return: A sentence saying where the data directory came from and how to choose another.
    """
    source = settings.source_of("data_dir")
    where = "the default" if source == "the default" else f"from {source}"
    return (
        f"(Data directory {settings.data_dir}: {where}; choose another with --data-dir DIR "
        "or LOGPAGER_DATA_DIR.)"
    )


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    """
    Adds ``--data-dir`` to a subcommand.

    :param parser: The subcommand's parser.
    """
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR", help=data_dir_help())


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """
    Adds ``--profile`` to a subcommand.

    :param parser: The subcommand's parser.
    """
    # SUPPRESS: a --profile given to the top-level parser is not overwritten by a default.
    parser.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        metavar="NAME|PATH",
        help="settings profile: a shipped one "
        f"({', '.join(list_profiles()) or 'none'}) or a TOML file "
        "(default: $LOGPAGER_PROFILE, else none)",
    )


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """
    Adds ``--data-dir`` and ``--profile`` to a subcommand.

    :param parser: The subcommand's parser.
    """
    add_data_dir_option(parser)
    add_profile_option(parser)


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """
    :param args: Parsed arguments (``data_dir`` and ``profile`` are read when present).
    :param extra: Settings given by other options, by setting name; ``None`` values are
        left out. A bad value is blamed on its flag (``--page-size``).
    :return: The settings of the profile, the environment and these options.
    :raise SettingsError: If the profile is missing or malformed, or a value is invalid.
    """
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    flags = {k: _FLAGS.get(k, f"--{k.replace('_', '-')}") for k in overrides}
    return load_settings(getattr(args, "profile", None), flags=flags, **overrides)


def exit_status(exc: LogpagerError) -> int:
    """
    :param exc: An error a subcommand met.
    :return: 2 if it is in what was typed, else 1.
    """
    return EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_FAILURE


def fail(message: str, status: int) -> int:
    """
    Prints ``error: MESSAGE`` to stderr.

    :param message: One line for a person to act on.
    :param status: The exit status to return.
    :return: ``status``.
    """
    print(f"error: {message}", file=sys.stderr)
    return status


def fail_with(exc: LogpagerError) -> int:
    """
    Prints ``error: MESSAGE`` for an error to stderr.

    :param exc: The error.
    :return: Its exit status (:func:`exit_status`).
    """
    return fail(str(exc), exit_status(exc))
