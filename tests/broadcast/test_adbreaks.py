"""Ad breaks: the programmer plans them at programme boundaries, and the playlists mark them.

The marks are read back by independent parsers: the `m3u8` package for the
EXT-X-DATERANGE and EXT-X-CUE-OUT/IN tags, `threefive` for the SCTE-35 cues.
"""

from __future__ import annotations

from pathlib import Path

import m3u8
import pytest
import threefive
from conftest import make_programme, tiny_settings

from vvtv.broadcast import schedule
from vvtv.broadcast.adbreaks import break_due
from vvtv.broadcast.playlists import media_playlist
from vvtv.broadcast.scte35 import SpliceInsert, crc32_mpeg2, splice_insert_section
from vvtv.clock import US, FakeClock, iso
from vvtv.config import ChannelSettings
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import AssetKind, EntryKind, ScheduleEntry

BREAK_SECONDS = 8
EVERY_MINUTES = 0.25  # 15 s: a break after every second 8 s programme


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    channels = [ChannelSettings(name="main", profile="tiny",
                                ads={"every_minutes": EVERY_MINUTES, "break_seconds": BREAK_SECONDS, "cpm": 12})]
    settings = tiny_settings(tmp_path / "var", channels=channels,
                             broadcaster={"slate_seconds": 8, "horizon_minutes": 1})  # fmt: skip
    runtime = Runtime.open(settings, FakeClock())
    yield runtime
    runtime.db.dispose()


def test_breaks_at_programme_boundaries(rt: Runtime) -> None:
    for title in ("One", "Two", "Three"):
        make_programme(rt, 8, title=title)
    report = Programmer(rt).fill("main")
    assert report.appended > 0
    with rt.db.session() as session:
        rows = session.query(ScheduleEntry).filter_by(channel="main").order_by(ScheduleEntry.ordinal).all()
        kinds = [(row.kind, row.asset.title) for row in rows]
        breaks = [row for row in rows if row.kind == EntryKind.BREAK]
        assert {row.asset.kind for row in breaks} == {AssetKind.BREAK}
        durations = {row.duration_us for row in breaks}
        starts = [row.start_us for row in rows]
        ends = [row.end_us for row in rows]
    # Gapless, and a break after every 16 s of programmes (the first boundary 15 s after the last break).
    assert starts[1:] == ends[:-1]
    assert kinds[:6] == [
        (EntryKind.PROGRAMME, "One"), (EntryKind.PROGRAMME, "Two"), (EntryKind.BREAK, "Commercial break"),
        (EntryKind.PROGRAMME, "Three"), (EntryKind.EMERGENCY, "One"), (EntryKind.BREAK, "Commercial break"),
    ]  # fmt: skip
    assert durations == {BREAK_SECONDS * US}
    # Never two breaks in a row.
    assert all(not (a[0] == b[0] == EntryKind.BREAK) for a, b in zip(kinds, kinds[1:]))
    # The break slate was made once.
    with rt.db.session() as session:
        made = {row.asset_id for row in session.query(ScheduleEntry).filter_by(kind=EntryKind.BREAK)}
    assert len(made) == 1


def test_no_break_after_the_slate_or_without_ads(rt: Runtime) -> None:
    # Nothing ready: the slate loops, and no break interrupts it.
    Programmer(rt).fill("main")
    with rt.db.session() as session:
        kinds = {row.kind for row in session.query(ScheduleEntry).filter_by(channel="main")}
        assert kinds == {EntryKind.EMERGENCY}
        tail = schedule.last_entry(session, "main")
        assert not break_due(session, "main", rt.settings.channel("main").ads, at_us=tail.end_us)
        ads_off = rt.settings.channel("main").ads.model_copy(update={"every_minutes": 0})
        assert not break_due(session, "main", ads_off, at_us=tail.end_us)


def test_playlists_mark_the_break_for_ad_insertion(rt: Runtime) -> None:
    for title in ("One", "Two", "Three"):
        make_programme(rt, 8, title=title)
    Programmer(rt).fill("main")
    with rt.db.session() as session:
        timeline = schedule.load_timeline(session, "main", ending_after_us=0)
    brk = next(e for e in timeline.entries if e.kind == "break")
    after = next(e for e in timeline.entries if e.ordinal == brk.ordinal + 1)

    # A window from before the break to after it.
    window = timeline.window(after.start_us + after.segment_ends_us[0], 12)
    assert window[0].entry.kind != "break" and window[-1].entry is after
    text = media_playlist(window, rendition="90p", target_duration_s=4)
    parsed = m3u8.loads(text)
    segments = parsed.segments
    first_break = next(i for i, s in enumerate(window) if s.entry is brk)
    first_after = next(i for i, s in enumerate(window) if s.entry is after)

    out = segments[first_break]
    assert out.cue_out_start and float(out.scte35_duration) == BREAK_SECONDS
    (out_range,) = out.dateranges
    assert out_range.id == f"break-{brk.ordinal}"
    assert out_range.start_date == iso(brk.start_us)
    assert float(out_range.planned_duration) == BREAK_SECONDS == brk.duration_us / US
    for inside in segments[first_break + 1 : first_after]:
        assert inside.cue_out and not inside.dateranges
    back = segments[first_after]
    assert back.cue_in
    (in_range,) = back.dateranges
    assert (in_range.id, in_range.start_date) == (out_range.id, out_range.start_date)
    assert float(in_range.duration) == BREAK_SECONDS
    assert in_range.end_date == iso(brk.end_us) == iso(after.start_us)
    assert all(not s.dateranges and not s.cue_in and not s.cue_out_start for s in segments[first_after + 1 :])

    # The SCTE-35 cues, decoded by threefive: OUT leaves for the break's length and returns by itself.
    cue_out = threefive.Cue(out_range.scte35_out)
    cue_out.decode()
    assert cue_out.command.out_of_network_indicator and cue_out.command.break_auto_return
    assert cue_out.command.break_duration == BREAK_SECONDS
    cue_in = threefive.Cue(in_range.scte35_in)
    cue_in.decode()
    assert not cue_in.command.out_of_network_indicator
    assert cue_in.command.splice_event_id == cue_out.command.splice_event_id == brk.ordinal

    # A player joining inside the break still learns it started, and how far in it is.
    joined = timeline.window(brk.start_us + brk.segment_ends_us[1], 1)
    assert [(s.entry, s.index) for s in joined] == [(brk, 1)]
    rejoined = m3u8.loads(media_playlist(joined, rendition="90p", target_duration_s=4)).segments
    (repeated,) = rejoined[0].dateranges
    assert (repeated.id, repeated.scte35_out, repeated.start_date) == (out_range.id, out_range.scte35_out,
                                                                       out_range.start_date)  # fmt: skip
    assert rejoined[0].cue_out and float(rejoined[0].scte35_elapsedtime) == brk.segment_durations_us[0] / US


def test_scte35_section_layout() -> None:
    section = splice_insert_section(SpliceInsert(event_id=0x1234, out_of_network=True, duration_ticks=30 * 90_000))
    assert section[0] == 0xFC
    assert int.from_bytes(section[1:3], "big") & 0xFFF == len(section) - 3
    # The CRC: ours, and threefive's own, agree with the last four bytes.
    assert crc32_mpeg2(section[:-4]) == int.from_bytes(section[-4:], "big")
    assert threefive.crc.crc32(section[:-4]) == int.from_bytes(section[-4:], "big")
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7  # the CRC-32/MPEG-2 check value
