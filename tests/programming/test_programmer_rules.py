"""The programmer's choices on a fake clock: dayparts, no repeats, rerun interleave, feedback, replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalogue import catalogue_asset
from conftest import tiny_settings
from sqlalchemy import select

from vvtv.broadcast import schedule
from vvtv.clock import US, FakeClock
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, EntryKind, Event, ScheduleEntry, Viewing

DAY = 1_767_225_600 * US  # 2026-01-01T00:00:00Z
HOUR = 3600 * US


def open_runtime(tmp_path: Path, clock: FakeClock, *, programming: dict, **broadcaster: float) -> Runtime:
    settings = tiny_settings(
        tmp_path / "var", programming=programming,
        broadcaster={"slate_seconds": 8, "horizon_minutes": 60, "buffer_target_minutes": 5, **broadcaster},
    )  # fmt: skip
    return Runtime.open(settings, clock)


def entries(rt: Runtime, channel: str = "main") -> list[ScheduleEntry]:
    with rt.db.session() as session:
        return list(session.scalars(
            select(ScheduleEntry).where(ScheduleEntry.channel == channel).order_by(ScheduleEntry.ordinal)))


def add(rt: Runtime, title: str, tags: list[str], minutes: float, **columns: object) -> Asset:
    with rt.db.session() as session:
        return catalogue_asset(session, title=title, tags=tags, seconds=minutes * 60,
                               ready_at_us=rt.clock.now_us(), **columns)  # fmt: skip


DAYPARTS = [
    {"name": "morning", "start_hour": 6, "end_hour": 10, "tags": ["nature"], "energy": "low"},
    {"name": "prime", "start_hour": 19, "end_hour": 23, "tags": ["music"], "energy": "high"},
]
ONLY_DAYPART = {"daypart": 5, "diversity": 0, "quality": 0, "freshness": 0, "audience": 0}


def test_dayparts_switch_what_airs(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 7 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={
        "dayparts": DAYPARTS, "weights": ONLY_DAYPART, "temperature": 0.05, "exploration": {"epsilon": 0},
        "min_repeat_hours": 0,
    })  # fmt: skip
    for i in range(6):
        add(rt, f"Forest {i}", ["nature", "calm"], 3)
        add(rt, f"Dance {i}", ["music", "dance"], 3)
    programmer = Programmer(rt)
    programmer.fill("main")
    morning = entries(rt)
    assert len(morning) >= 20 and all(e.asset.title.startswith("Forest") for e in morning)
    assert morning[0].score["components"]["daypart"]["why"].startswith("morning:")
    clock.advance(13 * 3600)  # 20:00, the timeline ran out long ago: a new run starts now
    programmer.fill("main")
    evening = [e for e in entries(rt) if e.start_us >= DAY + 20 * HOUR]
    assert len(evening) >= 20 and all(e.asset.title.startswith("Dance") for e in evening)
    assert "prime:" in evening[0].reason and "energy high (wants high)" in evening[0].reason


def test_nothing_repeats_within_the_window_while_others_are_eligible(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"min_repeat_hours": 0.25}, horizon_minutes=120)
    for i in range(10):
        add(rt, f"Clip {i}", [["art", "music", "science"][i % 3]], 2)
    Programmer(rt).fill("main")
    timeline = entries(rt)
    assert timeline[-1].end_us >= clock.now_us() + 120 * 60 * US
    assert {e.kind for e in timeline} <= {EntryKind.PROGRAMME, EntryKind.RERUN}
    last_start: dict[int, int] = {}
    for entry in timeline:
        if entry.asset_id in last_start:
            assert entry.start_us - last_start[entry.asset_id] >= 0.25 * HOUR, entry.asset.title
        last_start[entry.asset_id] = entry.start_us
    assert sum(e.kind == EntryKind.PROGRAMME for e in timeline) == 10  # each first airing is marked so
    assert all(e.score["components"]["diversity"]["why"] for e in timeline)


def test_when_everything_aired_recently_the_emergency_loop_takes_over(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"min_repeat_hours": 5}, emergency_lookahead_minutes=5)
    for i in range(3):
        add(rt, f"Clip {i}", ["art"], 1)
    Programmer(rt).fill("main")
    timeline = entries(rt)
    assert [e.kind for e in timeline[:3]] == [EntryKind.PROGRAMME] * 3
    assert {e.kind for e in timeline[3:]} == {EntryKind.EMERGENCY}
    assert "nothing eligible" in timeline[3].reason
    # The emergency loop is planned only minutes ahead, so new content replaces it soon.
    assert timeline[-1].start_us < clock.now_us() + 5 * 60 * US <= timeline[-1].end_us


def test_reruns_are_interleaved_while_the_fresh_buffer_is_short(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"min_repeat_hours": 1}, buffer_target_minutes=30)
    old = [add(rt, f"Old {i}", ["art"], 2) for i in range(8)]
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, clock.now_us())
        session.flush()
        for i, asset in enumerate(old):
            schedule.append_entry(session, "main", session.get(Asset, asset.id), kind=EntryKind.PROGRAMME,
                                  reason="aired", now_us=clock.now_us(),
                                  start_us=clock.now_us() - 3 * HOUR if i == 0 else None)  # fmt: skip
    clock.advance(2 * 3600)
    for i in range(5):
        add(rt, f"New {i}", ["science"], 2)  # 10 fresh minutes, a third of the target
    Programmer(rt).fill("main")
    new_run = [e for e in entries(rt) if e.start_us >= clock.now_us()]
    kinds = [e.kind for e in new_run]
    assert kinds.count(EntryKind.PROGRAMME) == 5
    assert all(not (a == b == EntryKind.PROGRAMME) for a, b in zip(kinds, kinds[1:])), kinds
    assert any("fresh buffer below target" in e.reason for e in new_run)
    with rt.db.session() as session:
        low = session.scalars(select(Event).where(Event.kind == "buffer-low")).one()
    assert "reruns are interleaved" in low.message


def test_what_viewers_stay_for_airs_first(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={
        "weights": {"daypart": 0, "diversity": 0, "quality": 0, "freshness": 0, "audience": 5},
        "temperature": 0.05, "exploration": {"epsilon": 0}, "min_repeat_hours": 0, "top_k": 1,
    })  # fmt: skip
    loved, skipped = add(rt, "Loved", ["art"], 2), add(rt, "Skipped", ["art"], 2)
    with rt.db.session() as session:
        for n in range(40):
            for asset, watched in ((loved, 0.9), (skipped, 0.1)):
                session.add(Viewing(channel="main", ordinal=n, asset_id=asset.id, viewer=f"{asset.id}-{n}",
                                    first_us=DAY, last_us=DAY, first_index=0, segments=1,
                                    watched_us=round(watched * asset.duration_us), possible_us=asset.duration_us))
    Programmer(rt).fill("main")
    first = entries(rt)[0]
    assert first.asset_id == loved.id
    assert "retention 90% over 40 viewing(s)" in first.score["components"]["audience"]["why"]
    assert first.score["components"]["audience"]["value"] > 0


def test_the_same_state_gives_the_same_day(tmp_path: Path) -> None:
    picks = []
    for run in ("a", "b"):
        clock = FakeClock(DAY + 9 * HOUR)
        rt = open_runtime(tmp_path / run, clock, programming={"min_repeat_hours": 0.5})
        for i in range(12):
            add(rt, f"Clip {i}", [["art", "music", "nature"][i % 3]], 1 + i % 4)
        Programmer(rt).fill("main")
        picks.append([e.asset.title for e in entries(rt)])
        rt.db.dispose()
    assert picks[0] == picks[1] and len(set(picks[0])) > 3


def test_new_content_replans_unstarted_reruns(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"min_repeat_hours": 0.1})
    for i in range(4):
        add(rt, f"Clip {i}", ["art"], 2)
    programmer = Programmer(rt)
    programmer.fill("main")
    assert any(e.kind == EntryKind.RERUN for e in entries(rt))
    clock.advance(30)
    add(rt, "Brand new", ["science"], 2)
    report = programmer.fill("main")
    assert report.dropped > 0
    timeline = entries(rt)
    assert all(a.end_us == b.start_us for a, b in zip(timeline, timeline[1:]))  # still gapless
    assert "Brand new" in [e.asset.title for e in timeline]
    with rt.db.session() as session:
        assert session.scalars(select(Event).where(Event.kind == "reruns-replanned")).first() is not None


@pytest.mark.parametrize("bad", [
    {"temperature": 0}, {"exploration": {"epsilon": 1.5}}, {"weights": {"audiance": 1}},
    {"dayparts": [{"name": "a", "start_hour": 6, "end_hour": 12}, {"name": "b", "start_hour": 11, "end_hour": 14}]},
    {"timezone": "Mars/Olympus"},
])  # fmt: skip
def test_bad_programming_settings_name_the_key(tmp_path: Path, bad: dict) -> None:
    from vvtv.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        tiny_settings(tmp_path, programming=bad)
    assert "programming" in str(error.value)
    with pytest.raises(ConfigError, match="channels.main.programming"):
        tiny_settings(tmp_path, channels=[{"name": "main", "profile": "tiny", "programming": bad}])


def test_viewings_older_than_the_audience_window_no_longer_count(tmp_path: Path) -> None:
    clock = FakeClock(DAY + 40 * 24 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"audience_days": 30, "top_k": 1})
    asset = add(rt, "Once loved", ["art"], 2)
    with rt.db.session() as session:
        session.add(Viewing(channel="main", ordinal=0, asset_id=asset.id, viewer="v", first_us=DAY, last_us=DAY,
                            first_index=0, segments=1, watched_us=asset.duration_us, possible_us=asset.duration_us))
    Programmer(rt).fill("main")
    assert entries(rt)[0].score["components"]["audience"]["why"] == "no viewer data yet"
