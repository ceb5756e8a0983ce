"""Settings: the one object that holds every tunable, and the profiles and environment that
feed it (see :mod:`logpager.settings.model` and :mod:`logpager.settings.profiles`)."""

from __future__ import annotations

from logpager.errors import SettingsError
from logpager.settings.model import Settings
from logpager.settings.profiles import (
    PROFILES_DIR,
    list_profiles,
    load_settings,
    resolve_profile,
)
from logpager.settings.search import default_data_dir

__all__ = [
    "PROFILES_DIR",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "list_profiles",
    "load_settings",
    "resolve_profile",
]
