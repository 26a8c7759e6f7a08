"""An operator's emergency injection: programmes put on air right after the entry on air.

The past is immutable and the future is not: an injection removes every entry that has
not started, places the chosen programmes (or the slate when no programme is ready) as
INJECTED entries right after the one on air, and bumps the timeline version, so the
Broadcaster airs them at the next programme boundary and the Programmer rebuilds the rest
of the timeline after them. Clearing removes the injected entries that have not started
(and what follows them, rebuilt the same way). Each is one transaction and one Event,
with the operator's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from vvtv.broadcast import schedule
from vvtv.broadcast.slate import ensure_slate
from vvtv.clock import US, iso
from vvtv.errors import InputError
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind, Event, ScheduleEntry

MAX_INJECT = 50
MAX_REASON = 200
INJECTABLE_KINDS = (AssetKind.PROGRAMME, AssetKind.EVERGREEN)


@dataclass(kw_only=True)
class InjectedEntry:
    ordinal: int
    asset_id: int
    title: str
    start: str


@dataclass(kw_only=True)
class InjectionReport:
    channel: str
    reason: str
    after_ordinal: int | None  # the entry on air they follow; None when the timeline had run out
    slate: bool  # no programme was ready: the slate was injected
    removed: int  # entries that had not started, rebuilt by the programmer after the injection
    entries: list[InjectedEntry] = field(default_factory=list)


@dataclass(kw_only=True)
class ClearReport:
    channel: str
    removed_injected: int
    removed_after: int  # entries after them, rebuilt by the programmer


def _started_by(rt: Runtime) -> tuple[int, int]:
    """Now, and the time until which an entry counts as started.

    Entries starting within one broadcaster poll count as started, as for the Programmer:
    a broadcaster may have read them already, and re-reads the timeline only that often.
    """
    now = rt.clock.now_us()
    return now, now + round(rt.settings.broadcaster.poll_seconds * US)


def _choose(session: Session, profile: str, count: int, asset_ids: list[int]) -> list[Asset]:
    if asset_ids:
        chosen = []
        for asset_id in asset_ids:
            asset = session.get(Asset, asset_id)
            if asset is None or asset.status != AssetStatus.READY or asset.kind not in INJECTABLE_KINDS:
                raise InputError(f"asset {asset_id} is not a ready programme")
            if asset.profile != profile:
                raise InputError(f"asset {asset_id} is made to profile {asset.profile!r}, the channel's is {profile!r}")
            chosen.append(asset)
        return chosen
    # The newest ready first: what an operator has just made (`vvtv process`) is what the emergency is about.
    return list(
        session.scalars(
            select(Asset)
            .where(Asset.status == AssetStatus.READY, Asset.profile == profile, Asset.kind.in_(INJECTABLE_KINDS))
            .order_by(Asset.ready_at_us.desc(), Asset.id.desc())
            .limit(count)
        )
    )


def inject(
    rt: Runtime, channel: str, *, count: int, reason: str, asset_ids: list[int] | None = None
) -> InjectionReport:
    profile = rt.settings.channel(channel).profile
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InputError(f"--reason: say why, in 1 to {MAX_REASON} characters")
    if not asset_ids and not 1 <= count <= MAX_INJECT:
        raise InputError(f"--inject: between 1 and {MAX_INJECT} programmes, got {count}")
    slate_id = ensure_slate(rt, profile).id
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, rt.clock.now_us())  # a channel that never ran yet
        session.flush()
        schedule.lock_timeline(session, channel)
        now, started_by = _started_by(rt)  # after the lock, which may have waited for the programmer
        assets = _choose(session, profile, count, asset_ids or [])
        use_slate = not assets
        if use_slate:
            assets = [session.get(Asset, slate_id)]
        removed = schedule.drop_unstarted(session, channel, starting_after_us=started_by, kinds=list(EntryKind))
        tail = schedule.last_entry(session, channel)
        resumed = tail is None or tail.end_us < now
        entries = []
        for asset in assets:
            entry = schedule.append_entry(
                session, channel, asset, kind=EntryKind.INJECTED, reason=f"operator: {reason}", now_us=now,
                start_us=now if resumed and not entries else None,
            )  # fmt: skip
            entries.append(InjectedEntry(ordinal=entry.ordinal, asset_id=asset.id, title=asset.title,
                                         start=iso(entry.start_us)))  # fmt: skip
        schedule.bump_version(session, channel)
        report = InjectionReport(
            channel=channel, reason=reason, after_ordinal=None if resumed else tail.ordinal, slate=use_slate,
            removed=removed, entries=entries,
        )  # fmt: skip
        what = "the slate" if use_slate else f"{len(entries)} programme(s)"
        session.add(Event(
            at_us=now, kind="emergency-inject", channel=channel,
            message=f"operator injected {what} from {entries[0].start}: {reason}",
            data={"reason": reason, "asset_ids": [e.asset_id for e in entries],
                  "ordinals": [e.ordinal for e in entries], "removed": removed},
        ))  # fmt: skip
    return report


def clear(rt: Runtime, channel: str) -> ClearReport:
    rt.settings.channel(channel)
    with rt.db.session() as session:
        schedule.lock_timeline(session, channel)
        now, started_by = _started_by(rt)
        injected = session.scalars(
            select(ScheduleEntry.ordinal).where(
                ScheduleEntry.channel == channel,
                ScheduleEntry.kind == EntryKind.INJECTED,
                ScheduleEntry.start_us > started_by,
            )
        ).all()
        removed = schedule.drop_unstarted(session, channel, starting_after_us=started_by, kinds=[EntryKind.INJECTED])
        if removed:
            schedule.bump_version(session, channel)
        session.add(Event(
            at_us=now, kind="emergency-clear", channel=channel,
            message=f"operator cleared {len(injected)} injected entries that had not started",
            data={"ordinals": list(injected), "removed": removed},
        ))  # fmt: skip
    return ClearReport(channel=channel, removed_injected=len(injected), removed_after=removed - len(injected))
