"""Named settings presets (TOML files shipped in the package) and how settings are loaded.

Precedence, lowest to highest: the defaults, a profile file (``profiles/NAME.toml`` or any
TOML path), ``LOGPAGER_*`` environment variables, then keyword arguments given in code.
"""

from __future__ import annotations

import os
import tomllib
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


def _format_validation_error(source: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "settings"
        parts.append(f"{loc}: {e['msg']} (got {e.get('input')!r})")
    return f"invalid settings from {source}: " + "; ".join(parts)


def load_settings(profile: str | Path | None = None, **overrides: Any) -> Settings:
    """
    Builds the settings from a profile, the environment and explicit overrides.

    :param profile: Profile name or TOML path; ``None`` reads ``LOGPAGER_PROFILE`` if set.
    :param overrides: Values that win over everything else.
    :return: Validated settings.
    :raise SettingsError: If the profile is missing or malformed, or any value is invalid.
    """
    profile = profile if profile is not None else os.environ.get("LOGPAGER_PROFILE") or None
    file_values: dict[str, Any] = {}
    source = "defaults and environment"
    if profile is not None:
        path = resolve_profile(profile)
        source = f"profile {path}"
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            msg = f"profile {path} is not valid TOML: {exc}"
            raise SettingsError(msg) from exc
        # Profiles may group keys under tables for readability; they flatten to one namespace.
        flat: dict[str, Any] = {}
        for key, value in file_values.items():
            if isinstance(value, dict) and key not in Settings.model_fields:
                flat.update(value)
            else:
                flat[key] = value
        file_values = flat
    try:
        from_env = Settings()
        env_values = {k: getattr(from_env, k) for k in from_env.model_fields_set}
        merged = {**file_values, **env_values, **overrides}
        return Settings(**merged)
    except ValidationError as exc:
        raise SettingsError(_format_validation_error(source, exc)) from exc
