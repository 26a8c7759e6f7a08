"""The discovery, llm and demo_site settings: defaults and clear errors."""

from __future__ import annotations

import pytest

from vvtv.config import load_settings
from vvtv.errors import ConfigError


def test_defaults_point_at_the_demo_site_and_need_no_llm() -> None:
    settings = load_settings()
    assert settings.discovery.start_sites == ["http://127.0.0.1:8091/"]
    assert settings.discovery.allowed_hosts == ["127.0.0.1:8091"]
    assert settings.demo_site.port == 8091
    assert settings.llm.base_url == "" and settings.llm.model == "llama3.1:8b"
    assert settings.discovery.min_height == 720 and settings.discovery.headless


def test_chromium_is_found_on_the_path_or_named() -> None:
    assert load_settings().discovery.chromium_executable().endswith("chromium")
    with pytest.raises(ConfigError, match="discovery.chromium_path: no file at /nope/chromium"):
        load_settings(["discovery.chromium_path=/nope/chromium"]).discovery.chromium_executable()


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("llm.base_url=ftp://ollama:11434", "llm.base_url"),
        ("llm.breaker_failures=0", "llm.breaker_failures"),
        ("discovery.pacing=-1", "discovery.pacing"),
        ("discovery.min_score=2", "discovery.min_score"),
        ("discovery.min_duration_seconds=100000", "min_duration_seconds must be below max_duration_seconds"),
        ("discovery.queries=[]", "discovery.queries"),
    ],
)
def test_bad_values_name_the_setting(override: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings([override])


def test_moving_the_demo_site_moves_where_the_curator_looks_unless_set() -> None:
    moved = load_settings(["demo_site.port=9999"])
    assert moved.discovery.start_sites == ["http://127.0.0.1:9999/"]
    assert moved.discovery.allowed_hosts == ["127.0.0.1:9999"]
    chosen = load_settings(["demo_site.port=9999", 'discovery.start_sites=["https://videos.example/"]'])
    assert chosen.discovery.start_sites == ["https://videos.example/"]
