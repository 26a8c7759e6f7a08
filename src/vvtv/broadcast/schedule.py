"""Reading and extending channel timelines in the database.

The programmer appends entries and rewrites only those that have not started;
the broadcaster reads them. Every change bumps the channel's timeline_version
in the same transaction, so readers re-read only when something changed.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vvtv.broadcast.timeline import Timeline, TimelineEntry
from vvtv.config import Settings
from vvtv.storage.models import Asset, Channel, EntryKind, ScheduleEntry


def ensure_channels(session: Session, settings: Settings, now_us: int) -> None:
    known = set(session.scalars(select(Channel.name)))
    for channel in settings.channels:
        if channel.name not in known:
            session.add(Channel(name=channel.name, created_at_us=now_us, timeline_version=0))


def timeline_versions(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Channel.name, Channel.timeline_version)).all())


def lock_timeline(session: Session, channel: str) -> None:
    """Hold the channel's timeline for this transaction: a no-op write on its row, so another writer
    (the programmer, an operator's injection) waits until this one commits instead of planning from
    a tail that is about to change. Call it before reading the timeline."""
    session.execute(
        update(Channel).where(Channel.name == channel).values(timeline_version=Channel.timeline_version)
    )


def bump_version(session: Session, channel: str) -> None:
    session.execute(
        update(Channel).where(Channel.name == channel).values(timeline_version=Channel.timeline_version + 1)
    )


def to_timeline_entry(row: ScheduleEntry) -> TimelineEntry:
    return TimelineEntry(
        ordinal=row.ordinal,
        start_us=row.start_us,
        first_seq=row.first_seq,
        asset_id=row.asset_id,
        asset_path=row.asset.path,
        title=row.asset.title,
        kind=row.kind.value,
        segment_durations_us=tuple(row.asset.segment_durations_us[: row.segment_count]),
    )


def load_timeline(session: Session, channel: str, *, ending_after_us: int) -> Timeline:
    """Entries that end after the given time (the live window's past and all of the future)."""
    rows = session.scalars(
        select(ScheduleEntry)
        .where(ScheduleEntry.channel == channel, ScheduleEntry.start_us + ScheduleEntry.duration_us > ending_after_us)
        .order_by(ScheduleEntry.ordinal)
    ).all()
    return Timeline([to_timeline_entry(r) for r in rows])


def last_entry(session: Session, channel: str) -> ScheduleEntry | None:
    return session.scalars(
        select(ScheduleEntry).where(ScheduleEntry.channel == channel).order_by(ScheduleEntry.ordinal.desc()).limit(1)
    ).first()


def append_entry(
    session: Session,
    channel: str,
    asset: Asset,
    *,
    kind: EntryKind,
    reason: str,
    now_us: int,
    start_us: int | None = None,
    score: dict | None = None,
) -> ScheduleEntry:
    """Place `asset` right after the channel's last entry (or at start_us for a new run).

    Ordinal and first_seq always continue from the last entry, so sequence
    numbers keep rising even across a restart after a long outage.
    """
    previous = last_entry(session, channel)
    ordinal = previous.ordinal + 1 if previous else 0
    first_seq = previous.first_seq + previous.segment_count if previous else 0
    if start_us is None:
        if previous is None:
            raise ValueError("the first entry of a channel needs a start time")
        start_us = previous.end_us
    entry = ScheduleEntry(
        channel=channel,
        ordinal=ordinal,
        start_us=start_us,
        duration_us=asset.duration_us,
        first_seq=first_seq,
        segment_count=len(asset.segment_durations_us),
        asset_id=asset.id,
        kind=kind,
        reason=reason,
        score=score or {},
        created_at_us=now_us,
    )
    session.add(entry)
    session.flush()
    return entry


def drop_unstarted(session: Session, channel: str, *, starting_after_us: int, kinds: list[EntryKind]) -> int:
    """Delete entries of the given kinds that start after the time, and every entry after them.

    Deleting from the first such entry onwards keeps the timeline gapless:
    what follows is rebuilt by the programmer.
    """
    first = session.scalars(
        select(ScheduleEntry.ordinal)
        .where(
            ScheduleEntry.channel == channel,
            ScheduleEntry.start_us > starting_after_us,
            ScheduleEntry.kind.in_(kinds),
        )
        .order_by(ScheduleEntry.ordinal)
        .limit(1)
    ).first()
    if first is None:
        return 0
    result = session.execute(
        delete(ScheduleEntry).where(ScheduleEntry.channel == channel, ScheduleEntry.ordinal >= first)
    )
    return result.rowcount
