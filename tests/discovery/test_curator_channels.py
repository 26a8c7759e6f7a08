"""The curator role serves every channel with that channel's own sites, queries and brief, and
leaves a channel without a site idle, saying so in its heartbeat, its log and `vvtvctl status`."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from pathlib import Path

import pytest
from demosite import FAST_DISCOVERY, VVTVCTL, DemoSite, demo_site  # noqa: F401 - demo_site is a fixture
from ollama_standin import OllamaStandIn, ollama  # noqa: F401 - the stand-in server fixture
from sqlalchemy import select

from vvtv.config import ChannelSettings, load_settings
from vvtv.discovery.curator import run
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Heartbeat, Plan


def _role(rt: Runtime) -> threading.Thread:
    role = threading.Thread(target=run, args=(rt,), daemon=True)
    role.start()
    return role


def _stop(rt: Runtime, role: threading.Thread) -> None:
    rt.stop.set()
    role.join(timeout=60)
    assert not role.is_alive()


def test_no_site_configured_the_curator_idles_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Without the demo-site role nothing is configured to search (discovery.start_sites defaults to none).
    settings = load_settings(data_dir=tmp_path / "var", supervisor={"roles": ["programmer", "curator"]},
                             discovery={"buffer_check_seconds": 0.2})  # fmt: skip
    assert settings.discovery.start_sites == [] and settings.sites_for("main") == []
    rt = Runtime.open(settings)
    caplog.set_level(logging.WARNING, logger="vvtv.discovery.curator")
    role = _role(rt)
    try:
        idle = "idle: no site configured (set discovery.start_sites or channels.main.sites)"
        deadline = time.monotonic() + 120  # loading the judge's embedding model takes a while on a busy machine
        beat = None
        while time.monotonic() < deadline and not (beat and "idle" in beat.data["status"]):
            time.sleep(0.3)
            with rt.db.session() as session:
                beat = session.get(Heartbeat, "curator")
        assert beat is not None, "the idle curator heartbeats all the same (the supervisor must not restart it)"
        assert beat.data["status"] == f"main: {idle}"
        assert beat.data["channels"]["main"]["status"] == idle
        assert idle in caplog.text
        env = {"PATH": "/usr/bin:/bin", "VVTV_DATA_DIR": str(settings.data_dir),
               "VVTV_SUPERVISOR__ROLES": json.dumps(["programmer", "curator"])}  # fmt: skip
        shown = subprocess.run([VVTVCTL, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert f"main: {idle}" in shown.stdout
        time.sleep(1)
        with rt.db.session() as session:
            assert not session.scalars(select(Event).where(Event.kind.like("discovery%"))).all()  # nothing searched
    finally:
        _stop(rt, role)
        rt.db.dispose()


def test_every_channel_is_served_with_its_own_sites_queries_and_brief(
    demo_site: DemoSite, ollama: OllamaStandIn, tmp_path: Path
) -> None:
    channels = [
        ChannelSettings(name="main", profile="broadcast", queries=["calm music"]),
        ChannelSettings(name="nature", profile="broadcast", queries=["forest"], sites=[demo_site.url],
                        brief="Quiet nature films: forests, rivers, animals."),  # fmt: skip
        ChannelSettings(name="quiet", profile="broadcast", sites=[]),  # no discovery for this one
    ]
    settings = load_settings(
        data_dir=tmp_path / "var", channels=channels, llm={"base_url": ollama.url},
        discovery={**FAST_DISCOVERY, "start_sites": [demo_site.url], "max_plans": 1, "buffer_check_seconds": 0.2,
                   "min_gap_minutes": 60},
    )  # fmt: skip
    rt = Runtime.open(settings)
    role = _role(rt)
    try:
        deadline = time.monotonic() + 300
        found: set[str] = set()
        while time.monotonic() < deadline and found != {"main", "nature"}:
            time.sleep(0.5)
            with rt.db.session() as session:
                found = set(session.scalars(select(Plan.channel).distinct()))
    finally:
        _stop(rt, role)
    with rt.db.session() as session:
        events = session.scalars(select(Event).where(Event.kind == "discovery-start"))
        starts = {(e.channel, e.message.split(":")[0]) for e in events}
        plans = session.scalars(select(Plan)).all()
        beat = session.get(Heartbeat, "curator")
    rt.db.dispose()
    assert found == {"main", "nature"}
    assert starts == {("main", "discovering 'calm music'"), ("nature", "discovering 'forest'")}
    asked = [json.dumps(request) for request in ollama.chat_requests]
    assert any("Quiet nature films" in a for a in asked), "the nature channel's plans were judged by its brief"
    assert any(ChannelSettings(name="x").brief in a for a in asked), "main's by the default brief"
    assert all(p.channel in {"main", "nature"} for p in plans)
    assert beat.data["channels"]["quiet"]["status"].startswith("idle: no site configured")
    assert beat.data["channels"]["main"]["status"].startswith(("waiting", "discovering"))
