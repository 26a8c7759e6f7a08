"""When the curator role discovers: on its interval, and at once (but not too often) when the buffer is low."""

from __future__ import annotations

from conftest import make_programme

from vvtv.clock import US, FakeClock
from vvtv.discovery.schedule import DiscoverySchedule, buffer_ahead_us
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

MINUTE = 60 * US


def test_first_at_start_then_on_the_interval_or_a_low_buffer_after_the_gap() -> None:
    clock = FakeClock()
    plan = DiscoverySchedule(interval_us=60 * MINUTE, min_gap_us=5 * MINUTE, buffer_target_us=30 * MINUTE)
    full, low = 45 * MINUTE, 10 * MINUTE
    assert plan.due(clock.now_us(), full) == "first discovery since the curator started"
    plan.last_run_us = clock.now_us()
    clock.advance(4 * 60)
    assert plan.due(clock.now_us(), full) is None
    assert plan.due(clock.now_us(), low) is None  # too soon after the last one
    clock.advance(60)
    assert plan.due(clock.now_us(), low) == "buffer low: 10.0 min of fresh content ahead, target 30 min"
    assert plan.due(clock.now_us(), full) is None
    clock.advance(55 * 60)
    assert plan.due(clock.now_us(), full) == "scheduled (every 60 min)"
    plan.last_run_us, plan.reached_no_site = clock.now_us(), True  # the site was down
    assert plan.due(clock.now_us(), full) == "the previous discovery reached no site: trying again"


def test_the_buffer_counts_scheduled_ready_and_approved_content(runtime: Runtime) -> None:
    now = runtime.clock.now_us()
    make_programme(runtime, 4.0, title="ready, never scheduled")
    with runtime.db.session() as session:
        for status, duration, url in [
            (PlanStatus.APPROVED, 100.0, "a"), (PlanStatus.PROCESSING, None, "b"), (PlanStatus.REJECTED, 500.0, "c"),
            (PlanStatus.DONE, 500.0, "d"),
        ]:  # fmt: skip
            session.add(Plan(page_url=url, duration_s=duration, status=status, created_at_us=now, updated_at_us=now))
    with runtime.db.session() as session:
        ahead = buffer_ahead_us(session, runtime.settings, "main", now)
    assert ahead == 4 * US + 100 * US + 60 * US  # a plan of unknown length counts a minute
