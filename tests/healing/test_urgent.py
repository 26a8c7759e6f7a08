"""Urgent discovery: a channel short of fresh programmes gets a discovery at once and the Factory's priority,
and on the demo site its buffer recovers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conftest import TINY, make_programme, tiny_settings
from demosite import FAST_DISCOVERY, DemoSite, demo_site  # noqa: F401 - demo_site is a fixture
from sqlalchemy import select

from vvtv.broadcast.buffer import BufferAhead, buffer_ahead
from vvtv.clock import US
from vvtv.config import ChannelSettings, load_settings
from vvtv.discovery import curator
from vvtv.healing.urgent import URGENT_PRIORITY, UrgentDiscovery
from vvtv.processing import factory, jobs
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Job, Plan, PlanStatus

TWO_CHANNELS = [ChannelSettings(name="main", profile="tiny"), ChannelSettings(name="second", profile="tiny")]


def _approved_plan(rt: Runtime, channel: str, n: int) -> int:
    now = rt.clock.now_us()
    with rt.db.session() as session:
        plan = Plan(channel=channel, page_url=f"http://127.0.0.1:9/{channel}/{n}", media_url=None, title=f"{n}",
                    status=PlanStatus.APPROVED, created_at_us=now, updated_at_us=now)  # fmt: skip
        session.add(plan)
        session.flush()
        return plan.id


def _events(rt: Runtime, kind: str) -> list[Event]:
    with rt.db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_the_factory_takes_an_urgent_channels_jobs_first(tmp_path: Path, fake_clock) -> None:  # noqa: ANN001
    rt = Runtime.open(tiny_settings(tmp_path / "var", channels=TWO_CHANNELS), fake_clock)
    older = _approved_plan(rt, "second", 1)
    urgent = _approved_plan(rt, "main", 2)
    jobs.enqueue_approved(rt.db, rt.clock, max_attempts=3)
    assert jobs.set_priority(rt.db, "main", URGENT_PRIORITY) == 1
    first = jobs.claim(rt.db, rt.clock, owner="w", lease_seconds=30)
    second = jobs.claim(rt.db, rt.clock, owner="w", lease_seconds=30)
    assert (first.plan_id, second.plan_id) == (urgent, older)
    rt.db.dispose()


def _buffer(rt: Runtime, channel: str = "main") -> BufferAhead:
    with rt.db.session() as session:
        return buffer_ahead(session, channel, "tiny", rt.clock.now_us())


def test_urgency_below_the_target_ends_with_fresh_programmes(tmp_path: Path, fake_clock) -> None:  # noqa: ANN001
    rt = Runtime.open(tiny_settings(tmp_path / "var", broadcaster={"buffer_target_minutes": 0.1}), fake_clock)
    urgency = UrgentDiscovery(rt)
    why = urgency.check("main", rt.clock.now_us(), _buffer(rt))
    assert why is not None and why.startswith("urgent: 0.0 min of fresh programmes ahead")
    plan_id = _approved_plan(rt, "main", 1)  # found by that discovery
    jobs.enqueue_approved(rt.db, rt.clock, max_attempts=3)
    assert urgency.check("main", rt.clock.now_us(), _buffer(rt)) is None  # once per shortage
    [started] = _events(rt, "urgent-discovery")
    assert started.channel == "main" and started.data["discovering"]
    with rt.db.session() as session:  # the job that appeared while urgent was raised
        assert session.scalars(select(Job.priority).where(Job.plan_id == plan_id)).one() == URGENT_PRIORITY
    make_programme(rt, 8)  # 8 s ready: above the 6 s target
    assert urgency.check("main", rt.clock.now_us(), _buffer(rt)) is None
    assert not urgency.is_urgent("main")
    [recovered] = _events(rt, "buffer-recovered")
    assert "back to normal (1 job(s))" in recovered.message
    with rt.db.session() as session:
        assert session.scalars(select(Job.priority).where(Job.plan_id == plan_id)).one() == 0
    rt.db.dispose()


def test_plans_in_the_factory_get_priority_without_a_new_discovery(tmp_path: Path, fake_clock) -> None:  # noqa: ANN001
    rt = Runtime.open(tiny_settings(tmp_path / "var", broadcaster={"buffer_target_minutes": 0.1}), fake_clock)
    _approved_plan(rt, "main", 1)  # of unknown length: counts as a minute on its way
    jobs.enqueue_approved(rt.db, rt.clock, max_attempts=3)
    assert UrgentDiscovery(rt).check("main", rt.clock.now_us(), _buffer(rt)) is None
    [started] = _events(rt, "urgent-discovery")
    assert not started.data["discovering"] and "no discovery yet" in started.message
    assert started.data["jobs_raised"] == 1
    rt.db.dispose()


def test_urgent_discovery_refills_the_buffer_from_the_demo_site(demo_site: DemoSite, tmp_path: Path) -> None:
    """The real curator and factory roles, the real demo site: a channel with nothing gets programmes."""
    settings = load_settings(
        data_dir=tmp_path / "var", profiles={"tiny": TINY}, channels=[ChannelSettings(name="main", profile="tiny")],
        broadcaster={"buffer_target_minutes": 0.4},  # 24 s: two of the demo site's 12 s videos
        healing={"max_load_per_core": 1000},  # a shared test machine is often "overloaded": not what this tests
        discovery={**FAST_DISCOVERY, "start_sites": [demo_site.url], "max_plans": 2, "buffer_check_seconds": 0.5,
                   "min_gap_minutes": 0, "schedule_minutes": 600},
        factory={"min_height": 120, "min_seconds": 3, "poll_seconds": 0.2, "vmaf_subsample": 5, "min_free_bytes": 0,
                 "max_download_bytes": 100_000_000,
                 "retry_backoff_seconds": 0, "allowed_hosts": ["127.0.0.1"]},
    )  # fmt: skip
    rt = Runtime.open(settings)
    roles = [threading.Thread(target=role, args=(rt,), daemon=True) for role in (curator.run, factory.run)]
    for role in roles:
        role.start()
    raised_seen = False
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not _events(rt, "buffer-recovered"):
            with rt.db.session() as session:
                raised_seen = raised_seen or bool(
                    session.scalars(select(Job.id).where(Job.priority == URGENT_PRIORITY)).first()
                )
            time.sleep(0.2)
    finally:
        rt.stop.set()
        for role in roles:
            role.join(timeout=60)
    [started] = _events(rt, "urgent-discovery")
    assert started.data["discovering"] and started.data["fresh_us"] == 0
    [recovered] = _events(rt, "buffer-recovered")
    assert raised_seen, "no job of the urgent channel was ever given the urgent priority"
    with rt.db.session() as session:
        assert buffer_ahead(session, "main", "tiny", rt.clock.now_us()).fresh_us >= 24 * US
        assert session.scalars(select(Job.id).where(Job.priority != 0, Job.state == "queued")).first() is None
        starts = [e.message for e in session.scalars(select(Event).where(Event.kind == "discovery-start"))]
    assert started.at_us <= recovered.at_us
    assert starts and all("discovering" in s for s in starts)
    rt.db.dispose()
