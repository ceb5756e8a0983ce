"""Named settings presets (TOML files shipped in the package) and how settings are loaded.

Precedence, lowest to highest: the defaults, a profile file (``profiles/NAME.toml`` or any
TOML path), ``LOGPAGER_*`` environment variables, then keyword arguments given in code.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from logpager.errors import SettingsError
from logpager.settings.model import Settings

__all__ = ["PROFILES_DIR", "list_profiles", "load_settings", "resolve_profile"]

# Profiles are package data (``src/logpager/profiles``; the repository's ``profiles/`` is a
# link to it), so a checkout, an editable install and an installed wheel read the same files.
PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"


def list_profiles() -> list[str]:
    """:return: Names of the profiles that ship with logpager."""
    if not PROFILES_DIR.is_dir():
        return []
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def resolve_profile(profile: str | Path) -> Path:
    """
    :param profile: A profile name (``edge``) or a path to a TOML file.
    :return: The profile file's path.
    :raise SettingsError: If no such profile exists.
    """
    candidate = Path(profile)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            msg = f"profile file not found: {candidate}"
            raise SettingsError(msg)
        return candidate
    named = PROFILES_DIR / f"{profile}.toml"
    if not named.is_file():
        known = ", ".join(list_profiles()) or "none"
        msg = f"unknown profile {str(profile)!r} (known profiles: {known})"
        raise SettingsError(msg)
    return named


def _format_validation_error(err: ValidationError, sources: Mapping[str, str]) -> str:
    """
    :param err: What pydantic refused.
    :param sources: Where each given setting came from (see :func:`load_settings`).
    :return: One line naming each bad setting, the value and where it came from.
    """
    parts = []
    for e in err.errors():
        name = str(e["loc"][0]) if e["loc"] else ""
        loc = ".".join(str(x) for x in e["loc"]) or "settings"
        # A check across settings (the watermarks' order) has no one setting to blame.
        where = f" from {sources.get(name, 'the default')}" if name in Settings.model_fields else ""
        if name and name not in Settings.model_fields and name in sources:
            where = f" from {sources[name]}"  # an unknown key, in a profile or given in code
        parts.append(f"{loc}: {e['msg']} (got {e.get('input')!r}{where})")
    return "invalid settings: " + "; ".join(parts)


def _env_values() -> tuple[dict[str, Any], dict[str, str]]:
    """
    :return: The settings the ``LOGPAGER_*`` environment gives, and their sources.
    :raise SettingsError: If a variable holds a value that cannot be used.
    """
    names = {name: f"LOGPAGER_{name.upper()}" for name in Settings.model_fields}
    try:
        from_env = Settings()
    except ValidationError as exc:
        raise SettingsError(_format_validation_error(exc, names)) from exc
    values = {k: getattr(from_env, k) for k in from_env.model_fields_set}
    return values, {k: names[k] for k in values}


def _profile_values(profile: str | Path) -> tuple[dict[str, Any], str]:
    """
    :param profile: Profile name or TOML path.
    :return: The profile's settings (tables flattened to one namespace), and its name as a
        source (``profile PATH``).
    :raise SettingsError: If it is missing or not valid TOML.
    """
    path = resolve_profile(profile)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"profile {path} is not valid TOML: {exc}"
        raise SettingsError(msg) from exc
    # Profiles may group keys under tables for readability; they flatten to one namespace.
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and key not in Settings.model_fields:
            flat.update(value)
        else:
            flat[key] = value
    return flat, f"profile {path}"


def load_settings(
    profile: str | Path | None = None,
    *,
    flags: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """
    Builds the settings from a profile, the environment and explicit overrides.

    :param profile: Profile name or TOML path; ``None`` reads ``LOGPAGER_PROFILE`` if set.
    :param flags: How a person gave some of the overrides, by setting name (for example
        ``{"page_size": "--page-size"}``): an invalid value is blamed on that, not on code.
    :param overrides: Values that win over everything else.
    :return: Validated settings; :meth:`Settings.source_of` says where each value came from.
    :raise SettingsError: If the profile is missing or malformed, or any value is invalid;
        the message names each bad setting and its source (a flag, a ``LOGPAGER_*``
        variable, the profile's path).
    """
    profile = profile if profile is not None else os.environ.get("LOGPAGER_PROFILE") or None
    file_values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if profile is not None:
        file_values, where = _profile_values(profile)
        sources.update(dict.fromkeys(file_values, where))
    env_values, env_sources = _env_values()
    sources.update(env_sources)
    given = dict(flags or {})
    sources.update({k: given.get(k, "the caller") for k in overrides})
    try:
        settings = Settings(**{**file_values, **env_values, **overrides})
    except ValidationError as exc:
        raise SettingsError(_format_validation_error(exc, sources)) from exc
    settings.record_sources(sources)
    problem = settings.workers_problem()
    if problem is not None:
        raise SettingsError(f"invalid settings: {problem}")
    return settings
