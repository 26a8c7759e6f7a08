"""Disk housekeeping: what can no longer air leaves the disk, old rows leave the database.

Under `healing.retention_days`:
- a programme whose last airing ended longer ago than that (or one retired that long ago)
  is retired and its folder removed; one never aired is fresh content and stays;
- schedule rows that ended longer ago are pruned (a channel's newest row always stays:
  ordinals and media sequence numbers continue from it);
- asset folders nobody recorded (left by a crash) and quarantined failures that old go too;
- events older than `healing.event_retention_days` are pruned.

Nothing on air, ahead in the timeline, or still in a player's live window is ever touched:
the protected set is read in the same transaction that retires, and read again just before
any folder is removed. The asset is retired first and its files removed after, so a crash
in between leaves only files that the next pass removes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.errors import StorageError
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, Event, ScheduleEntry, Viewing
from vvtv.storage.objects import unpublish_asset

DAY_US = 86_400 * US


@dataclass(kw_only=True)
class HousekeepingReport:
    retired: list[int] = field(default_factory=list)  # asset ids retired in this pass
    folders_removed: list[str] = field(default_factory=list)  # relative to the data folder
    bytes_freed: int = 0
    schedule_rows_pruned: int = 0
    events_pruned: int = 0
    viewings_pruned: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.retired or self.folders_removed or self.schedule_rows_pruned or self.events_pruned
                    or self.viewings_pruned)  # fmt: skip

    def summary(self) -> str:
        return (f"{len(self.retired)} asset(s) retired, {len(self.folders_removed)} folder(s) removed "
                f"({self.bytes_freed / 1e6:.1f} MB), {self.schedule_rows_pruned} schedule row(s) and "
                f"{self.events_pruned} event(s) and {self.viewings_pruned} viewing(s) pruned")  # fmt: skip


def live_lookback_us(rt: Runtime) -> int:
    """How far behind now a player may still fetch segments: the longest live window, with slack."""
    settings = rt.settings
    longest = max(settings.profile_for(c.name).segment_seconds for c in settings.channels)
    return (settings.broadcaster.window_segments + 2) * longest * US + round(settings.broadcaster.poll_seconds * US)


def protected_assets(session: Session, since_us: int) -> set[int]:
    """Assets of every entry that ends after `since_us` (on air, ahead, or in a live window), and the slates."""
    scheduled = select(ScheduleEntry.asset_id).where(ScheduleEntry.start_us + ScheduleEntry.duration_us > since_us)
    slates = select(Asset.id).where(Asset.kind == AssetKind.SLATE)
    return set(session.scalars(scheduled.union(slates)))


def _retire(
    session: Session, media: Path, cutoff_us: int, protected: set[int]
) -> tuple[list[int], list[tuple[int, str]]]:
    """Retire what can no longer air: the ids newly retired, and (id, path) of every folder to remove."""
    last_aired = (
        select(ScheduleEntry.asset_id, func.max(ScheduleEntry.start_us + ScheduleEntry.duration_us).label("end_us"))
        .group_by(ScheduleEntry.asset_id)
        .subquery()
    )
    rows = session.execute(
        select(Asset.id, Asset.path, Asset.status, last_aired.c.end_us)
        .join(last_aired, last_aired.c.asset_id == Asset.id, isouter=True)
        .where(Asset.kind != AssetKind.SLATE)
        .where(
            or_(
                Asset.status == AssetStatus.RETIRED,
                last_aired.c.end_us < cutoff_us,  # aired, and not since the cut-off (never aired: NULL, kept)
            )
        )
    ).all()
    newly, folders = [], []
    for asset_id, path, status, end_us in rows:
        if asset_id in protected:
            continue
        if status == AssetStatus.READY:
            newly.append(asset_id)
        elif end_us is not None and end_us >= cutoff_us:
            continue  # retired by hand after a recent airing: its files wait for the retention too
        if (media / path).exists():
            folders.append((asset_id, path))
    if newly:
        session.execute(
            update(Asset).where(Asset.id.in_(newly)).values(status=AssetStatus.RETIRED)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    return newly, folders


def _prune_schedule(session: Session, cutoff_us: int) -> int:
    newest_per_channel = select(ScheduleEntry.channel, func.max(ScheduleEntry.ordinal)).group_by(ScheduleEntry.channel)
    keep = {(channel, ordinal) for channel, ordinal in session.execute(newest_per_channel)}
    old = session.execute(
        select(ScheduleEntry.id, ScheduleEntry.channel, ScheduleEntry.ordinal).where(
            ScheduleEntry.start_us + ScheduleEntry.duration_us < cutoff_us
        )
    ).all()
    ids = [entry_id for entry_id, channel, ordinal in old if (channel, ordinal) not in keep]
    if ids:
        session.execute(delete(ScheduleEntry).where(ScheduleEntry.id.in_(ids)))
    return len(ids)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _remove(folder: Path, root: Path, report: HousekeepingReport) -> None:
    if not folder.exists():
        return
    size = _size(folder)
    shutil.rmtree(folder, ignore_errors=True)
    report.folders_removed.append(folder.relative_to(root).as_posix())
    report.bytes_freed += size


def _old_folders(parent: Path, cutoff_us: int) -> list[Path]:
    """Folders last changed before the cut-off (on the runtime's clock, like everything else here)."""
    if not parent.is_dir():
        return []
    return [p for p in parent.iterdir() if p.is_dir() and p.stat().st_mtime * US < cutoff_us]


def housekeep(rt: Runtime) -> HousekeepingReport:
    """One pass; returns what it did (an event records it when it did anything)."""
    settings = rt.settings
    healing = settings.healing
    now = rt.clock.now_us()
    cutoff = now - round(healing.retention_days * DAY_US)
    since = now - live_lookback_us(rt)
    report = HousekeepingReport()
    media = settings.media_dir
    with rt.db.session() as session:
        protected = protected_assets(session, since)
        report.retired, folders = _retire(session, media, cutoff, protected)
        report.schedule_rows_pruned = _prune_schedule(session, cutoff)
        report.events_pruned = session.execute(
            delete(Event).where(Event.at_us < now - round(healing.event_retention_days * DAY_US))
        ).rowcount
        # Viewer statistics count for programming.audience_days (the longest any channel uses).
        audience_days = max(settings.programming_for(c.name).audience_days for c in settings.channels)
        report.viewings_pruned = session.execute(
            delete(Viewing).where(Viewing.last_us < now - round(audience_days * DAY_US))
        ).rowcount
    root = settings.data_dir.resolve()
    if folders:
        with rt.db.session() as session:  # read again: nothing scheduled since may lose its files
            protected = protected_assets(session, rt.clock.now_us() - live_lookback_us(rt))
        for asset_id, path in folders:
            if asset_id not in protected:
                _remove(media / path, root, report)
                try:
                    unpublish_asset(settings.storage, path)  # its copy in object storage, if media goes there
                except StorageError as exc:  # tried again at the next pass only if the folder is back: say so
                    rt.record_event("housekeeping.unpublish-failed", str(exc), asset_id=asset_id)
    with rt.db.session() as session:
        recorded = set(session.scalars(select(Asset.path)))
    for folder in _old_folders(media / "assets", cutoff):
        if f"assets/{folder.name}" not in recorded:  # a crash's leftover: no asset row points at it
            _remove(folder, root, report)
    for folder in _old_folders(root / "factory" / "quarantine", cutoff):
        _remove(folder, root, report)
    if report.anything:
        rt.record_event("housekeeping", f"housekeeping: {report.summary()}", retired=report.retired,
                        folders=report.folders_removed[:50], bytes_freed=report.bytes_freed,
                        schedule_rows=report.schedule_rows_pruned, events=report.events_pruned,
                        viewings=report.viewings_pruned)  # fmt: skip
    return report


class Housekeeper:
    """Runs a pass every healing.housekeeping_minutes, or at once when asked (the disk ran low)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.next_us = 0

    def maybe_run(self, *, now: bool = False) -> HousekeepingReport | None:
        clock = self.rt.clock
        if not now and clock.now_us() < self.next_us:
            return None
        self.next_us = clock.now_us() + round(self.rt.settings.healing.housekeeping_minutes * 60 * US)
        try:
            return housekeep(self.rt)
        except (OSError, SQLAlchemyError) as exc:  # the disk or the database this time: the next pass tries again
            self.rt.record_event("housekeeping-failed", f"housekeeping failed: {exc}")
            return None
