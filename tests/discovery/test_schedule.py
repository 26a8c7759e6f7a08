"""When the curator role discovers: on its interval, and at once (but not too often) when the buffer is low."""

from __future__ import annotations

from vvtv.broadcast.buffer import BufferAhead
from vvtv.clock import US, FakeClock
from vvtv.discovery.schedule import DiscoverySchedule

MINUTE = 60 * US


def test_first_at_start_then_on_the_interval_or_a_low_buffer_after_the_gap() -> None:
    clock = FakeClock()
    plan = DiscoverySchedule(interval_us=60 * MINUTE, min_gap_us=5 * MINUTE, buffer_target_us=30 * MINUTE)
    full = BufferAhead(fresh_us=40 * MINUTE, scheduled_us=60 * MINUTE, in_factory_us=5 * MINUTE)
    low = BufferAhead(fresh_us=10 * MINUTE, scheduled_us=60 * MINUTE, in_factory_us=2 * MINUTE)
    assert plan.due(clock.now_us(), full) == "first discovery since the curator started"
    plan.last_run_us = clock.now_us()
    clock.advance(4 * 60)
    assert plan.due(clock.now_us(), full) is None
    assert plan.due(clock.now_us(), low) is None  # too soon after the last one
    clock.advance(60)
    assert plan.due(clock.now_us(), low) == (
        "buffer low: fresh programmes 10.0 min ahead (+ 2.0 min in the Factory), target 30 min"
    )
    assert plan.due(clock.now_us(), full) is None
    clock.advance(55 * 60)
    assert plan.due(clock.now_us(), full) == "scheduled (every 60 min)"
    plan.last_run_us, plan.reached_no_site = clock.now_us(), True  # the site was down
    assert plan.due(clock.now_us(), full) == "the previous discovery reached no site: trying again"
