"""The plain programmer: keeps every channel's timeline filled to the horizon.

Choice: ready programmes in queue order (ready time), none repeated while an
unaired one remains. When unaired content runs out, the emergency loop
repeats what already aired, least recently aired first, and the slate when
there is nothing at all. Emergency entries that have not started are
replaced as soon as new content is ready. Later programming work changes
`choose_next`, not this mechanism.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.broadcast import adbreaks, schedule
from vvtv.broadcast.buffer import PROGRAMME_KINDS, BufferAhead, buffer_ahead, fresh_assets, ready_programmes
from vvtv.broadcast.slate import ensure_slate
from vvtv.clock import US
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetStatus, EntryKind, Event, ScheduleEntry


@dataclass(kw_only=True)
class FillReport:
    channel: str
    appended: int
    dropped: int
    buffer_us: int  # fresh programme time ahead of now (vvtv.broadcast.buffer)
    resumed: bool  # the timeline had run out and a new run started at now


def emergency_candidates(session: Session, channel: str, profile: str) -> list[Asset]:
    """Ready programmes that already aired, least recently scheduled first."""
    last_start = (
        select(ScheduleEntry.asset_id, func.max(ScheduleEntry.start_us).label("last"))
        .where(ScheduleEntry.channel == channel)
        .group_by(ScheduleEntry.asset_id)
        .subquery()
    )
    query = (
        ready_programmes(profile)
        .join(last_start, last_start.c.asset_id == Asset.id)
        .order_by(last_start.c.last, Asset.id)
    )
    return list(session.scalars(query))


class Programmer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._buffer_low: dict[str, bool] = {}
        with rt.db.session() as session:
            schedule.ensure_channels(session, rt.settings, rt.clock.now_us())

    def fill(self, channel: str) -> FillReport:
        rt = self.rt
        settings = rt.settings
        profile_name = settings.channel(channel).profile
        slate_id = ensure_slate(rt, profile_name).id
        break_id = adbreaks.ensure_break_asset(rt, channel)
        now = rt.clock.now_us()
        # Entries starting within one broadcaster poll count as started: a broadcaster
        # re-reads the timeline that often, and publishes nothing of an entry before it starts.
        guard = now + round(settings.broadcaster.poll_seconds * US)
        horizon = now + round(settings.broadcaster.horizon_minutes * 60 * US)
        with rt.db.session() as session:
            slate = session.get(Asset, slate_id)
            fresh = fresh_assets(session, channel, profile_name)
            dropped = 0
            if fresh:
                dropped = schedule.drop_unstarted(
                    session, channel, starting_after_us=guard, kinds=[EntryKind.EMERGENCY]
                )
                if dropped:
                    self._event(session, "emergency-replaced", channel, f"{len(fresh)} new programme(s) ready: "
                                f"replaced {dropped} emergency entries that had not started")
            tail = schedule.last_entry(session, channel)
            resumed = tail is None or tail.end_us < now
            end = now if resumed else tail.end_us
            if resumed and tail is not None:
                self._event(session, "timeline-resumed", channel,
                            f"the timeline ran out {(now - tail.end_us) / US:.1f} s ago; a new run starts now")
            appended = 0
            previous_asset = None if resumed else tail.asset_id
            emergency_horizon = now + round(settings.broadcaster.emergency_lookahead_minutes * 60 * US)
            while end < (horizon if fresh else min(horizon, emergency_horizon)):
                ad_break = adbreaks.append_if_due(session, settings.channel(channel), break_id, at_us=end, now_us=now)
                if ad_break is not None:
                    end, appended = ad_break.end_us, appended + 1
                    continue
                asset, kind, reason = self.choose_next(session, channel, profile_name, fresh, previous_asset, slate)
                entry = schedule.append_entry(
                    session, channel, asset, kind=kind, reason=reason, now_us=now,
                    start_us=end if resumed and appended == 0 else None,
                )  # fmt: skip
                end = entry.end_us
                previous_asset = asset.id
                appended += 1
            if appended or dropped:
                schedule.bump_version(session, channel)
            buffer = buffer_ahead(session, channel, profile_name, now)
            self._watch_buffer(session, channel, buffer)
        return FillReport(
            channel=channel, appended=appended, dropped=dropped, buffer_us=buffer.fresh_us, resumed=resumed
        )

    def choose_next(
        self,
        session: Session,
        channel: str,
        profile: str,
        fresh: list[Asset],
        previous_asset: int | None,
        slate: Asset,
    ) -> tuple[Asset, EntryKind, str]:
        if fresh:
            return fresh.pop(0), EntryKind.PROGRAMME, "next in queue"
        candidates = [a for a in emergency_candidates(session, channel, profile) if a.id != previous_asset]
        if candidates:
            return candidates[0], EntryKind.EMERGENCY, "emergency loop: no unaired content, repeating"
        if previous_asset is not None and previous_asset != slate.id:
            only = session.get(Asset, previous_asset)
            if only is not None and only.kind in PROGRAMME_KINDS and only.status == AssetStatus.READY:
                return only, EntryKind.EMERGENCY, "emergency loop: the only programme, repeating"
        return slate, EntryKind.EMERGENCY, "emergency loop: no ready content, slate"

    def _watch_buffer(self, session: Session, channel: str, buffer: BufferAhead) -> None:
        target = self.rt.settings.broadcaster.buffer_target_minutes * 60 * US
        low = buffer.fresh_us < target
        if low != self._buffer_low.get(channel, False):
            if low:
                message = (f"{buffer.describe()}: fresh programmes are short of the "
                           f"{target / US / 60:.0f} min target")
            else:
                message = f"{buffer.describe()}: fresh programmes are back above the target"
            self._event(session, "buffer-low" if low else "buffer-ok", channel, message,
                        buffer_us=buffer.fresh_us, scheduled_us=buffer.scheduled_us)  # fmt: skip
        self._buffer_low[channel] = low

    def _event(self, session: Session, kind: str, channel: str, message: str, **data: object) -> None:
        session.add(Event(at_us=self.rt.clock.now_us(), kind=kind, channel=channel, message=message, data=data))


def newest_ready_asset_id(session: Session) -> int:
    return session.scalar(select(func.max(Asset.id)).where(Asset.status == AssetStatus.READY)) or 0


@dataclass(kw_only=True)
class FillState:
    """What a channel looked like after its last fill, to tell when another is needed."""

    refill_at_us: int
    newest_asset_id: int
    timeline_version: int


def run(rt: Runtime) -> None:
    """The programmer role: fill a channel when half its planned span has aired, when new
    content is ready, or when someone else changed its timeline; idle otherwise."""
    started = rt.clock.now_us()
    programmer = Programmer(rt)
    states: dict[str, FillState] = {}
    buffers: dict[str, int] = {}
    next_heartbeat = 0
    while not rt.stop.is_set():
        now = rt.clock.now_us()
        with rt.db.session() as session:
            newest = newest_ready_asset_id(session)
            versions = schedule.timeline_versions(session)
        for channel in rt.settings.channels:
            state = states.get(channel.name)
            if state and now < state.refill_at_us and state.newest_asset_id == newest \
                    and state.timeline_version == versions.get(channel.name):  # fmt: skip
                continue
            report = programmer.fill(channel.name)
            buffers[channel.name] = report.buffer_us
            with rt.db.session() as session:
                tail = schedule.last_entry(session, channel.name)
                version = schedule.timeline_versions(session).get(channel.name)
            states[channel.name] = FillState(
                refill_at_us=now + (tail.end_us - now) // 2, newest_asset_id=newest, timeline_version=version
            )
        if now >= next_heartbeat:
            rt.heartbeat("programmer", started, buffer_us=buffers)
            next_heartbeat = now + 5 * US
        rt.stop.wait(max(rt.settings.broadcaster.poll_seconds, 1.0))
