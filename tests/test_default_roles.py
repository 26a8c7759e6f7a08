"""Plain `vvtv up` runs the whole loop: the Curator and the demo site it searches are default roles,
and a channel's own sites and queries stand in for the discovery defaults."""

from __future__ import annotations

from vvtv.config import ChannelSettings, load_settings
from vvtv.supervisor import Supervisor


def test_plain_up_runs_the_curator_on_the_demo_site(tmp_path) -> None:  # noqa: ANN001
    settings = load_settings(data_dir=tmp_path / "var", demo_site={"port": 9123})
    assert {"curator", "demo-site", "factory"} <= set(settings.supervisor.roles)
    assert settings.sites_for("main") == ["http://127.0.0.1:9123/"]
    assert settings.discovery.allowed_hosts == settings.factory.allowed_hosts == ["127.0.0.1:9123"]
    from vvtv.runtime import Runtime

    rt = Runtime.open(settings)
    try:
        assert {"curator", "demo-site"} <= {child.role for child in Supervisor(rt, []).children}
    finally:
        rt.db.dispose()


def test_without_the_demo_site_no_site_is_configured_unless_set(tmp_path) -> None:  # noqa: ANN001
    roles = {"roles": ["programmer", "broadcaster", "origin", "factory", "curator"]}
    bare = load_settings(data_dir=tmp_path, supervisor=roles)
    assert bare.sites_for("main") == [] and bare.factory.allowed_hosts == []
    chosen = load_settings(data_dir=tmp_path, supervisor=roles, discovery={"start_sites": ["https://videos.example.org/"]})
    assert chosen.sites_for("main") == ["https://videos.example.org/"]


def test_a_channels_sites_and_queries_stand_in_for_the_defaults(tmp_path) -> None:  # noqa: ANN001
    settings = load_settings(
        data_dir=tmp_path,
        channels=[ChannelSettings(name="main"), ChannelSettings(name="birds", sites=["birdsite"], queries=["owls"]),
                  ChannelSettings(name="dark", sites=[])],
        discovery={"start_sites": ["https://videos.example.org/"], "queries": ["music"]},
    )  # fmt: skip
    assert (settings.sites_for("main"), settings.queries_for("main")) == (["https://videos.example.org/"], ["music"])
    assert (settings.sites_for("birds"), settings.queries_for("birds")) == (["birdsite"], ["owls"])
    assert settings.sites_for("dark") == []  # an empty list means: no discovery for this channel
