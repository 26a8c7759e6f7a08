"""One meaning of "buffer": fresh programme time ahead and scheduled time ahead, told apart.

A channel that has aired all its programmes and runs on reruns has plenty scheduled and
nothing fresh: both figures say so, and the programmer's event names both.
"""

from __future__ import annotations

from conftest import make_programme
from sqlalchemy import select

from vvtv.broadcast.buffer import buffer_ahead
from vvtv.clock import US
from vvtv.programming.programmer import Programmer
from vvtv.storage.models import EntryKind, Event, Plan, PlanStatus, ScheduleEntry


def _buffer(rt):  # noqa: ANN001, ANN202
    with rt.db.session() as session:
        return buffer_ahead(session, "main", "tiny", rt.clock.now_us())


def test_fresh_and_scheduled_time_ahead_differ_once_the_channel_is_on_reruns(runtime, fake_clock) -> None:
    rt = runtime
    assert _buffer(rt).fresh_us == _buffer(rt).scheduled_us == 0
    first = make_programme(rt, 4, title="First")
    second = make_programme(rt, 4, title="Second")
    ready = _buffer(rt)
    assert ready.fresh_us == first.duration_us + second.duration_us  # ready, not yet scheduled
    assert ready.scheduled_us == 0

    Programmer(rt).fill("main")
    with rt.db.session() as session:
        entries = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)).all()
        kinds = [e.kind for e in entries]
        end = entries[-1].end_us
    assert kinds[:2] == [EntryKind.PROGRAMME, EntryKind.PROGRAMME] and EntryKind.EMERGENCY in kinds
    scheduled = _buffer(rt)
    assert scheduled.fresh_us == first.duration_us + second.duration_us  # now scheduled, still fresh
    assert scheduled.scheduled_us == end - fake_clock.now_us()  # reruns included
    assert scheduled.scheduled_us > scheduled.fresh_us

    fake_clock.advance(3)  # part of the first programme has aired
    assert _buffer(rt).fresh_us == first.duration_us + second.duration_us - 3 * US

    fake_clock.advance((first.duration_us + second.duration_us) / US)  # both aired: on reruns now
    reruns = _buffer(rt)
    assert reruns.fresh_us == 0
    assert reruns.scheduled_us == end - fake_clock.now_us() > 0

    with rt.db.session() as session:
        now = fake_clock.now_us()
        session.add(Plan(channel="main", page_url="p", duration_s=90.0, status=PlanStatus.APPROVED,
                         created_at_us=now, updated_at_us=now))  # fmt: skip
        session.add(Plan(channel="main", page_url="q", duration_s=None, status=PlanStatus.PROCESSING,
                         created_at_us=now, updated_at_us=now))  # fmt: skip
        session.add(Plan(channel="main", page_url="r", duration_s=500.0, status=PlanStatus.REJECTED,
                         created_at_us=now, updated_at_us=now))  # fmt: skip
    assert _buffer(rt).in_factory_us == 90 * US + 60 * US  # a plan of unknown length counts a minute
    assert _buffer(rt).fresh_us == 0  # not on the channel yet


def test_the_programmers_buffer_event_names_both(runtime) -> None:
    rt = runtime
    make_programme(rt, 4, title="Short")
    Programmer(rt).fill("main")
    with rt.db.session() as session:
        low = session.scalars(select(Event).where(Event.kind == "buffer-low")).one()
    assert "fresh programmes 0.1 min ahead, scheduled " in low.message
    assert "short of the 30 min target" in low.message
    assert low.data["buffer_us"] > 0 and low.data["scheduled_us"] > low.data["buffer_us"]
