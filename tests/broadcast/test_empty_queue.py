"""Acceptance 4 of the Broadcaster: with no ready assets the slate is on air within one
segment; when assets become ready they follow the slate."""

from __future__ import annotations

import m3u8
from conftest import make_programme
from sqlalchemy import select

from vvtv.broadcast.broadcaster import Broadcaster
from vvtv.clock import US
from vvtv.programming.programmer import Programmer
from vvtv.storage.models import AssetKind, EntryKind, Event, ScheduleEntry


def _listed(rt) -> list[m3u8.Segment]:  # noqa: ANN001
    return m3u8.load(str(rt.settings.media_dir / "channels" / "main" / "90p.m3u8")).segments


def test_slate_on_air_at_once_and_new_assets_follow_it(runtime, fake_clock) -> None:
    rt = runtime
    start = fake_clock.now_us()
    programmer, broadcaster = Programmer(rt), Broadcaster(rt)
    programmer.fill("main")
    broadcaster.refresh(fake_clock.now_us())
    segment = rt.settings.profiles["tiny"].segment_seconds
    fake_clock.advance(segment)
    assert broadcaster.tick(fake_clock.now_us()), "the first slate segment is published one segment after start"
    assert "/slate-tiny-" in _listed(rt)[0].uri
    with rt.db.session() as session:
        first = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)).first()
        assert (first.start_us, first.kind, first.asset.kind) == (start, EntryKind.EMERGENCY, AssetKind.SLATE)
        assert session.scalars(select(Event).where(Event.kind == "buffer-low")).first() is not None

    fake_clock.advance(1)
    arrived = make_programme(rt, 6, title="First real programme")
    report = programmer.fill("main")
    assert report.dropped > 0
    now = fake_clock.now_us()
    broadcaster.refresh(now)
    on_air = broadcaster.playouts[0].timeline.on_air(now)
    following = broadcaster.playouts[0].timeline.upcoming(now, 1)[0]
    assert on_air.kind == "emergency" and following.asset_id == arrived.id
    assert following.start_us == on_air.end_us

    # Play through to the programme: the playlist shows the slate, a discontinuity, then it.
    fake_clock.advance((following.start_us - now) / US + segment)
    broadcaster.tick(fake_clock.now_us())
    segments = _listed(rt)
    assert segments[-1].discontinuity and arrived.path in segments[-1].uri
    assert "/slate-tiny-" in segments[-2].uri
