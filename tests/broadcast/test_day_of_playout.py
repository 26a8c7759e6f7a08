"""Acceptance 2 of the Broadcaster: a fake clock drives 24 hours of timeline in seconds.

Every playlist published is parsed by the `m3u8` package and checked across
refreshes by tests/hlscheck.py; the timeline has no gap or overlap.
"""

from __future__ import annotations

import m3u8
from conftest import make_programme
from hlscheck import LiveChecker, check_boundaries
from sqlalchemy import select

from vvtv.broadcast.broadcaster import Broadcaster
from vvtv.clock import US
from vvtv.programming.programmer import Programmer
from vvtv.storage.models import EntryKind, Event, ScheduleEntry

HOUR = 3600 * US


def test_a_day_of_playout_is_valid_hls_and_gapless(runtime, fake_clock) -> None:
    rt = runtime
    start = fake_clock.now_us()
    programmer = Programmer(rt)
    broadcaster = Broadcaster(rt)
    playlists = rt.settings.media_dir / "channels" / "main"
    checkers = {r.name: LiveChecker(base=str(playlists)) for r in rt.settings.profiles["tiny"].renditions}
    # Content arrives during the day: none at first (the slate airs), then a few, then more.
    arrivals = {0: [], 1: [9, 14, 6], 4 * 3600: [21], 13 * 3600: [5, 11]}
    arrived = set()
    next_fill = start
    published = boundaries = 0
    while (now := fake_clock.now_us()) < start + 24 * HOUR:
        for offset, durations in arrivals.items():
            if offset not in arrived and now >= start + offset * US:
                arrived.add(offset)
                for seconds in durations:
                    make_programme(rt, seconds)
        if now >= next_fill:
            programmer.fill("main")
            broadcaster.refresh(now)
            next_fill = now + 60 * US
        if broadcaster.tick(now):
            published += 1
            for name, checker in checkers.items():
                text = (playlists / f"{name}.m3u8").read_text()
                observed = checker.feed(text)
                boundaries += check_boundaries(observed.playlist) if name == "90p" else 0
        upcoming = broadcaster.playouts[0].timeline.next_boundary_us(now)
        assert upcoming is not None, "the timeline ran out"
        fake_clock.advance((min(upcoming, next_fill) - now) / US)

    # A 4 s grid over a day, every boundary published exactly once.
    assert published > 24 * 3600 / 4 * 0.95
    assert boundaries > 1000
    master = m3u8.loads((playlists / "live.m3u8").read_text())
    assert [p.stream_info.resolution for p in master.playlists] == [(160, 90), (128, 72)]
    assert all(p.stream_info.bandwidth and p.stream_info.codecs.startswith("avc1.64") for p in master.playlists)

    with rt.db.session() as session:
        entries = session.scalars(
            select(ScheduleEntry).where(ScheduleEntry.channel == "main").order_by(ScheduleEntry.ordinal)
        ).all()
        kinds = {e.kind for e in entries}
        events = {e.kind for e in session.scalars(select(Event))}
    assert [e.ordinal for e in entries] == list(range(len(entries)))
    for previous, entry in zip(entries, entries[1:]):
        assert entry.start_us == previous.end_us, f"gap or overlap before entry {entry.ordinal}"
        assert entry.first_seq == previous.first_seq + previous.segment_count
    assert entries[0].start_us == start
    assert {EntryKind.PROGRAMME, EntryKind.EMERGENCY} <= kinds
    assert {"buffer-low", "emergency-replaced"} <= events


def test_fifo_airs_unaired_programmes_first_in_queue_order_without_repeats(runtime, fake_clock) -> None:
    rt = runtime
    rt.settings.programming.strategy = "fifo"  # the plain playout order, still there for operators who want it
    made = [make_programme(rt, 5, title=f"P{i}") for i in range(3)]
    fake_clock.advance(1)
    Programmer(rt).fill("main")
    with rt.db.session() as session:
        entries = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)).all()
        first = [(e.asset_id, e.kind) for e in entries[:3]]
        repeats = [e.asset_id for e in entries[3:9]]
    assert first == [(a.id, EntryKind.PROGRAMME) for a in made]
    # Then the emergency loop repeats them, least recently aired first, never the same twice in a row.
    assert repeats[:3] == [a.id for a in made]
    assert all(a != b for a, b in zip(repeats, repeats[1:]))
