"""Disk housekeeping: what can no longer air leaves the disk and old rows the database, and nothing on air,
ahead in the timeline or in a player's live window is ever deleted."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import make_programme
from sqlalchemy import select

from vvtv.broadcast import schedule
from vvtv.clock import US
from vvtv.healing.housekeeping import Housekeeper, housekeep
from vvtv.programming.programmer import Programmer, fresh_assets
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind, Event, ScheduleEntry

DAY_US = 86_400 * US


def _run(rt: Runtime, assets: list[Asset], *, start_us: int) -> None:
    """Put the assets on main's timeline back to back, from start_us."""
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, rt.clock.now_us())
        session.flush()
        for position, asset in enumerate(assets):
            schedule.append_entry(
                session, "main", session.get(Asset, asset.id), kind=EntryKind.PROGRAMME, reason="test",
                now_us=start_us, start_us=start_us if position == 0 else None,
            )  # fmt: skip
        schedule.bump_version(session, "main")


def _set(rt: Runtime, asset: Asset, **values: object) -> None:
    with rt.db.session() as session:
        row = session.get(Asset, asset.id)
        for key, value in values.items():
            setattr(row, key, value)


def _exists(rt: Runtime, asset: Asset) -> bool:
    return (rt.settings.media_dir / asset.path).is_dir()


def _status(rt: Runtime, asset: Asset) -> AssetStatus:
    with rt.db.session() as session:
        return session.get(Asset, asset.id).status


def _old_folder(rt: Runtime, path: Path, age_us: int) -> Path:
    path.mkdir(parents=True)
    (path / "seg_00000.ts").write_bytes(b"\0" * 1000)
    stamp = (rt.clock.now_us() - age_us) / US
    os.utime(path, (stamp, stamp))
    return path


def test_housekeeping_removes_what_cannot_air_and_never_what_is_on_air_or_ahead(runtime: Runtime) -> None:
    rt = runtime
    now = rt.clock.now_us()
    titles = ("aired long ago", "rerun ahead", "retired", "on air", "ahead", "recent", "retired recently", "slate",
              "waiting")  # fmt: skip
    aired_long_ago, rerun_ahead, retired, on_air, ahead, recent, retired_recently, slate, waiting = (
        make_programme(rt, 4, title=t) for t in titles
    )
    _set(rt, slate, kind=AssetKind.SLATE)
    _set(rt, waiting, ready_at_us=now - 30 * DAY_US, created_at_us=now - 30 * DAY_US)  # old, but never aired
    _run(rt, [aired_long_ago, rerun_ahead, retired, slate], start_us=now - 10 * DAY_US)
    _run(rt, [recent, retired_recently], start_us=now - 60 * US)  # ended 52 s ago: within the retention
    _run(rt, [on_air, ahead, rerun_ahead], start_us=now - 2 * US)  # on air now, then two ahead
    _set(rt, retired, status=AssetStatus.RETIRED)
    _set(rt, retired_recently, status=AssetStatus.RETIRED)
    orphan = _old_folder(rt, rt.settings.media_dir / "assets" / "crashed-before-recording", 10 * DAY_US)
    young_orphan = _old_folder(rt, rt.settings.media_dir / "assets" / "being-published", 60 * US)
    quarantined = _old_folder(rt, rt.settings.data_dir / "factory" / "quarantine" / "job-3-1", 10 * DAY_US)
    with rt.db.session() as session:
        session.add(Event(at_us=now - 40 * DAY_US, kind="old", message="old"))
        session.add(Event(at_us=now - DAY_US, kind="recent", message="recent"))
        entries_before = session.scalar(select(ScheduleEntry.ordinal).order_by(ScheduleEntry.ordinal.desc()).limit(1))

    report = housekeep(rt)

    for kept in (rerun_ahead, on_air, ahead, recent, retired_recently, slate, waiting):
        assert _exists(rt, kept), f"{kept.title} lost its files"
    for ready in (rerun_ahead, on_air, ahead, recent, slate, waiting):
        assert _status(rt, ready) is AssetStatus.READY, ready.title
    assert not _exists(rt, aired_long_ago) and _status(rt, aired_long_ago) is AssetStatus.RETIRED
    assert not _exists(rt, retired)
    assert report.retired == [aired_long_ago.id]
    assert not orphan.exists() and not quarantined.exists() and young_orphan.exists()
    assert report.bytes_freed > 0
    with rt.db.session() as session:
        assert {e.kind for e in session.scalars(select(Event).where(Event.kind.in_(["old", "recent"])))} == {"recent"}
        rows = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal)).all()
        # The old run's four rows went; every row that ends after the cut-off stayed, with its numbering.
        assert report.schedule_rows_pruned == 4
        assert [r.ordinal for r in rows] == list(range(4, entries_before + 1))
        # Every asset of an entry on air or ahead still has its files.
        for row in rows:
            if row.end_us > now:
                assert (rt.settings.media_dir / row.asset.path).is_dir()
        # What lost its old rows did not turn "fresh" again: only the one never aired is.
        assert [a.id for a in fresh_assets(session, "main", "tiny")] == [waiting.id]
        event = session.scalars(select(Event).where(Event.kind == "housekeeping")).one()
    assert "1 asset(s) retired" in event.message
    # The programmer carries on from the newest row, and a second pass finds nothing to do.
    Programmer(rt).fill("main")
    assert not housekeep(rt).anything


def test_the_live_window_behind_now_is_protected_too(runtime: Runtime) -> None:
    """An entry that ended a moment ago may still be in a player's playlist: kept even with a tiny retention."""
    rt = Runtime(settings=runtime.settings.model_copy(
        update={"healing": runtime.settings.healing.model_copy(update={"retention_days": 1e-6})}),
        db=runtime.db, clock=runtime.clock)  # fmt: skip
    just_aired, long_gone = make_programme(rt, 4), make_programme(rt, 4)
    _run(rt, [long_gone], start_us=rt.clock.now_us() - 600 * US)
    _run(rt, [just_aired], start_us=rt.clock.now_us() - 6 * US)  # ended 2 s ago
    housekeep(rt)
    assert _exists(rt, just_aired) and not _exists(rt, long_gone)


def test_the_housekeeper_runs_on_its_interval(runtime: Runtime, fake_clock) -> None:  # noqa: ANN001
    keeper = Housekeeper(runtime)
    assert keeper.maybe_run() is not None
    assert keeper.maybe_run() is None
    fake_clock.advance(runtime.settings.healing.housekeeping_minutes * 60)
    assert keeper.maybe_run() is not None
    assert keeper.maybe_run(now=True) is not None  # the disk ran low: at once


def test_viewings_older_than_the_audience_window_are_pruned(runtime: Runtime) -> None:
    from vvtv.storage.models import Viewing

    now = runtime.clock.now_us()
    with runtime.db.session() as session:
        for viewer, age_days in (("old", 31), ("recent", 29)):
            last = now - age_days * DAY_US
            session.add(Viewing(channel="main", ordinal=1, asset_id=1, viewer=viewer, first_us=last, last_us=last,
                                first_index=0, segments=1, watched_us=4 * US, possible_us=8 * US))  # fmt: skip
    report = housekeep(runtime)
    assert report.viewings_pruned == 1 and "1 viewing(s) pruned" in report.summary()
    with runtime.db.session() as session:
        assert list(session.scalars(select(Viewing.viewer))) == ["recent"]
