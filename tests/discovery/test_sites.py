"""Site profiles from YAML, and how a site name or URL becomes a profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from vvtv.discovery.sites import all_profiles, load_profiles, resolve_site
from vvtv.errors import ConfigError


def test_profiles_load_by_name_and_urls_get_the_generic_profile(tmp_path: Path) -> None:
    (tmp_path / "tube.yaml").write_text("name: tube\nstart_url: https://tube.example/\nresult_links: a.title\n")
    (tmp_path / "other.yml").write_text("name: other\nstart_url: http://other.example/\n")
    profiles = load_profiles(tmp_path)
    assert sorted(profiles) == ["other", "tube"]
    assert resolve_site("tube", profiles).result_links == "a.title"
    generic = resolve_site("https://new.example/videos", profiles)
    assert (generic.start_url, generic.search_input, generic.result_links) == ("https://new.example/videos", None, None)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\nstart_url: ftp://x/\n", "start_url"),
        ("name: x\nstart_url: https://x/\nsearch_box: '#q'\n", "search_box"),
        ("name: [unclosed\n", "bad.yaml"),
    ],
)
def test_a_bad_profile_names_its_file_and_problem(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_profiles(tmp_path)


def test_unknown_sites_and_missing_folders_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neither a URL nor one of the site profiles"):
        resolve_site("nowhere", {})
    with pytest.raises(ConfigError, match="no folder"):
        load_profiles(tmp_path / "missing")


def test_the_built_in_profiles_resolve_by_name_and_an_operators_profile_takes_their_place(tmp_path: Path) -> None:
    built_in = all_profiles(None)
    assert sorted(built_in) == ["internet-archive", "peertube", "wikimedia-commons"]
    assert resolve_site("wikimedia-commons", built_in).next_page == "a.mw-nextlink"
    (tmp_path / "my-peertube.yaml").write_text("name: peertube\nstart_url: https://videos.example.org/\n")
    mine = all_profiles(tmp_path)
    assert resolve_site("peertube", mine).start_url == "https://videos.example.org/"
    assert resolve_site("internet-archive", mine).start_url == "https://archive.org/details/movies"
