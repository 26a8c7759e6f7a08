"""After an outage longer than the planned timeline, the channel resumes at once and its
sequence numbers keep rising: a player that was watching sees a discontinuity, not a reset."""

from __future__ import annotations

from conftest import make_programme
from hlscheck import LiveChecker
from sqlalchemy import select

from vvtv.broadcast.broadcaster import Broadcaster
from vvtv.programming.programmer import Programmer
from vvtv.storage.models import Event, ScheduleEntry


def test_resume_after_the_timeline_ran_out(runtime, fake_clock) -> None:
    rt = runtime
    make_programme(rt, 6)
    Programmer(rt).fill("main")
    broadcaster = Broadcaster(rt)
    broadcaster.refresh(fake_clock.now_us())
    fake_clock.advance(20)
    broadcaster.tick(fake_clock.now_us())
    playlist = rt.settings.media_dir / "channels" / "main" / "90p.m3u8"
    checker = LiveChecker(base=str(playlist.parent))
    before = checker.feed(playlist.read_text())

    fake_clock.advance(3 * 3600)  # everything down for longer than the 2 h horizon
    report = Programmer(rt).fill("main")
    assert report.resumed
    restarted = Broadcaster(rt)
    restarted.refresh(fake_clock.now_us())
    fake_clock.advance(4)
    assert restarted.tick(fake_clock.now_us())
    after = checker.feed(playlist.read_text())
    assert after.media_sequence > before.media_sequence
    with rt.db.session() as session:
        entries = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)).all()
        assert session.scalars(select(Event).where(Event.kind == "timeline-resumed")).first() is not None
    resumed = next(e for e in entries if e.start_us > entries[0].start_us + 3600 * 10**6)
    previous = entries[resumed.ordinal - 1]
    assert resumed.first_seq == previous.first_seq + previous.segment_count
