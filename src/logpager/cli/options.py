"""What the subcommands share: the data-dir and profile options, their settings, and errors.

Exit status: 0 done, 1 the work failed, 2 the command line (or the settings it names) was
wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from logpager.settings import Settings, load_settings

__all__ = ["SubParsers", "add_common_options", "fail", "settings_from_args"]

SubParsers = Any  # argparse's _SubParsersAction is private; typed loosely on purpose.


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """
    Adds ``--data-dir`` and ``--profile`` to a subcommand.

    :param parser: The subcommand's parser.
    """
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="archive directory (default: settings)"
    )
    # SUPPRESS: a --profile given to the top-level parser is not overwritten by a default.
    parser.add_argument(
        "--profile", default=argparse.SUPPRESS, help="settings profile name or TOML path"
    )


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """
    :param args: Parsed arguments (``data_dir`` and ``profile`` are read when present).
    :param extra: Settings given by other options; ``None`` values are left out.
    :return: The settings of the profile, the environment and these options.
    :raise SettingsError: If the profile is missing or malformed, or a value is invalid.
    """
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return load_settings(getattr(args, "profile", None), **overrides)


def fail(message: str, status: int) -> int:
    """
    Prints ``error: MESSAGE`` to stderr.

    :param message: One line for a person to act on.
    :param status: The exit status to return.
    :return: ``status``.
    """
    print(f"error: {message}", file=sys.stderr)
    return status
