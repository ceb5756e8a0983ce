"""Settings: defaults, profiles, environment precedence, clear errors."""

from __future__ import annotations

import pytest

from logpager.settings import Settings, SettingsError, list_profiles, load_settings


def test_defaults():
    s = load_settings()
    assert s.page_size == 10
    assert s.chunk_rows == s.page_size * s.pages_per_chunk


def test_profile_file_and_env_precedence(tmp_path, monkeypatch):
    prof = tmp_path / "p.toml"
    prof.write_text("page_size = 20\nmax_cached_results = 50\n[governor]\nhigh_watermark = 0.8\n")
    s = load_settings(prof)
    assert (s.page_size, s.max_cached_results, s.high_watermark) == (20, 50, 0.8)
    monkeypatch.setenv("LOGPAGER_PAGE_SIZE", "7")
    s = load_settings(prof)
    assert (s.page_size, s.max_cached_results) == (7, 50)
    assert load_settings(prof, page_size=3).page_size == 3


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("page_size", "0", "page_size"),
        ("session_ttl_minutes", "-1", "session_ttl_minutes"),
        ("query_ttl_minutes", '"soon"', "query_ttl_minutes"),
    ],
)
def test_nonsense_values_are_rejected_clearly(tmp_path, key, value, fragment):
    prof = tmp_path / "bad.toml"
    prof.write_text(f"{key} = {value}\n")
    with pytest.raises(SettingsError, match=fragment) as exc:
        load_settings(prof)
    assert str(prof) in str(exc.value)


def test_env_nonsense_is_rejected(monkeypatch):
    monkeypatch.setenv("LOGPAGER_PAGE_SIZE", "0")
    with pytest.raises(SettingsError, match="page_size"):
        load_settings()


def test_unknown_key_and_profile(tmp_path):
    prof = tmp_path / "x.toml"
    prof.write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(prof)
    with pytest.raises(SettingsError, match="unknown profile"):
        load_settings("no-such-profile")


def test_watermarks_must_be_ordered():
    with pytest.raises(ValueError, match="low_watermark"):
        Settings(low_watermark=0.95, high_watermark=0.9)


def test_validate_assignment():
    s = Settings()
    with pytest.raises(ValueError, match="page_size"):
        s.page_size = 0


def test_shipped_profiles_load():
    names = list_profiles()
    assert "default" in names
    for name in names:
        load_settings(name)


def test_edge_and_analysis_profiles():
    assert {"default", "edge", "analysis"} <= set(list_profiles())
    edge = load_settings("edge")
    # 256 MiB for the whole process: a fixed cache budget well under it, RSS watched.
    assert edge.memory_budget_bytes is not None
    assert edge.memory_budget_bytes <= 64 * 2**20
    assert edge.rss_limit_bytes is not None
    assert edge.rss_limit_bytes < 256 * 2**20
    assert edge.max_cached_results >= 100_000
    assert edge.governor_enabled
    analysis = load_settings("analysis")
    assert analysis.max_cached_results == 1_000_000
    default = load_settings("default")
    assert (default.page_size, default.max_cached_results) == (10, 1000)
    assert (default.session_ttl_minutes, default.query_ttl_minutes) == (60, 30)


def test_each_value_knows_its_source(tmp_path, monkeypatch):
    profile = tmp_path / "p.toml"
    profile.write_text("zstd_level = 5\npage_size = 7\n")
    monkeypatch.setenv("LOGPAGER_PAGE_SIZE", "9")
    s = load_settings(profile, flags={"data_dir": "--data-dir"}, data_dir=tmp_path, port=9000)
    assert s.source_of("data_dir") == "--data-dir"
    assert s.source_of("port") == "the caller"
    assert s.source_of("page_size") == "LOGPAGER_PAGE_SIZE"  # the environment beats a profile
    assert s.source_of("zstd_level") == f"profile {profile}"
    assert s.source_of("query_ttl_minutes") == "the default"


def test_a_check_across_settings_blames_no_single_source(monkeypatch):
    monkeypatch.setenv("LOGPAGER_HIGH_WATERMARK", "0.5")
    with pytest.raises(SettingsError) as exc:
        load_settings(None, low_watermark=0.6)
    message = str(exc.value)
    assert "must not exceed high_watermark (0.5)" in message
    assert " from " not in message  # neither the variable nor the caller alone is wrong
