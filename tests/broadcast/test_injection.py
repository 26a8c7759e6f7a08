"""Emergency injection on a real database, with a fake clock: the slate when nothing is ready,
a new run when the timeline had run out, bad asset ids named, and the Programmer filling
the timeline after the injected entries without touching them."""

from __future__ import annotations

import pytest
from conftest import make_programme
from sqlalchemy import select

from vvtv.broadcast import injection, schedule
from vvtv.errors import InputError
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import EntryKind, Event, ScheduleEntry


def _timeline(rt: Runtime) -> list[ScheduleEntry]:
    with rt.db.session() as session:
        return list(session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)))


def test_nothing_ready_injects_the_slate_from_now(runtime: Runtime) -> None:
    report = injection.inject(runtime, "main", count=3, reason="storm warning")
    assert report.slate and report.after_ordinal is None and len(report.entries) == 1
    [entry] = _timeline(runtime)
    assert entry.kind == EntryKind.INJECTED and entry.reason == "operator: storm warning"
    assert entry.start_us == runtime.clock.now_us()
    with runtime.db.session() as session:
        event = session.scalars(select(Event).where(Event.kind == "emergency-inject")).one()
    assert event.data["reason"] == "storm warning" and event.channel == "main"


def test_after_the_entry_on_air_and_the_programmer_continues_after_them(runtime: Runtime) -> None:
    first, second, newest = make_programme(runtime, 6), make_programme(runtime, 6), make_programme(runtime, 6)
    programmer = Programmer(runtime)
    programmer.fill("main")
    runtime.clock.advance(2)  # the first programme is on air
    on_air = next(e for e in _timeline(runtime) if e.start_us <= runtime.clock.now_us() < e.end_us)
    report = injection.inject(runtime, "main", count=1, reason="breaking")
    assert report.after_ordinal == on_air.ordinal
    assert [e.asset_id for e in report.entries] == [newest.id]  # the newest ready first
    programmer.fill("main")
    timeline = _timeline(runtime)
    position = next(i for i, e in enumerate(timeline) if e.ordinal == on_air.ordinal)
    injected = timeline[position + 1]
    assert injected.kind == EntryKind.INJECTED and injected.asset_id == newest.id
    assert injected.start_us == on_air.end_us
    assert len(timeline) > position + 2, "the programmer filled the timeline after the injection"
    assert all(a.start_us == b.end_us for b, a in zip(timeline, timeline[1:]))
    assert {first.id, second.id} <= {e.asset_id for e in timeline[position + 2 :]}

    cleared = injection.clear(runtime, "main")
    assert cleared.removed_injected == 1
    assert EntryKind.INJECTED not in {e.kind for e in _timeline(runtime)}


def test_bad_requests_are_named_and_change_nothing(runtime: Runtime) -> None:
    make_programme(runtime, 6)
    with pytest.raises(InputError, match="asset 999 is not a ready programme"):
        injection.inject(runtime, "main", count=1, reason="x", asset_ids=[999])
    with pytest.raises(InputError, match="--reason"):
        injection.inject(runtime, "main", count=1, reason="  ")
    with pytest.raises(InputError, match="between 1 and"):
        injection.inject(runtime, "main", count=0, reason="x")
    assert _timeline(runtime) == []
    with runtime.db.session() as session:
        assert schedule.timeline_versions(session).get("main", 0) == 0
