"""The programmer: keeps every channel's timeline filled to the horizon.

What airs is chosen by the programming policy (chooser.py: scores, Gumbel-top-k, the
optional LLM rerank, exploration). First airings are PROGRAMME entries, programmes chosen
again are RERUN entries. When nothing is eligible (no content, or all of it aired within
the repeat window), the emergency loop repeats what aired least recently, and the slate
when there is nothing at all; it is planned only minutes ahead. Unstarted emergency
entries are replaced as soon as new content is ready, and unstarted reruns when content
newer than their plan is ready, so new programmes reach the air within one fill.

Programming settings changed at run time (`vvtvctl business-logic set`) are read at every
fill, so they apply from the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.broadcast import adbreaks, schedule
from vvtv.broadcast.buffer import PROGRAMME_KINDS, BufferAhead, buffer_ahead, fresh_assets
from vvtv.broadcast.slate import ensure_slate
from vvtv.clock import US
from vvtv.config import ProgrammingSettings
from vvtv.llm.breaker import BreakerState
from vvtv.programming.candidates import stored_overrides
from vvtv.programming.chooser import ChannelState, Chooser
from vvtv.programming.rerank import Reranker
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetStatus, EntryKind, Event, ScheduleEntry

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class FillReport:
    channel: str
    appended: int
    dropped: int
    buffer_us: int  # fresh programme time ahead of now (vvtv.broadcast.buffer)
    resumed: bool  # the timeline had run out and a new run started at now


class Programmer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._buffer_low: dict[str, bool] = {}
        self._override_errors: dict[str, str] = {}
        # Breaker changes happen inside a fill's transaction: noted here, written with it.
        self._breaker_notes: list[tuple[str, str]] = []
        self.reranker = Reranker(
            rt.settings.llm, rt.settings.programming.rerank, clock=rt.clock, on_breaker_change=self._breaker_changed
        )
        self.chooser = Chooser(rt.settings, self.reranker)
        with rt.db.session() as session:
            schedule.ensure_channels(session, rt.settings, rt.clock.now_us())

    def close(self) -> None:
        self.reranker.close()

    def programming(self, session: Session, channel: str) -> ProgrammingSettings:
        """The file's settings with the run-time overrides; a stored override that no longer validates is
        skipped (and said once), so a bad row can never stop the programming."""
        try:
            effective = self.rt.settings.programming_for(channel, *stored_overrides(session, channel))
        except ValidationError as exc:
            message = f"stored programming overrides ignored, file settings used: {exc.errors()[0]['msg']}"
            if self._override_errors.get(channel) != message:
                self._event(session, "programming-override-invalid", channel, message)
            self._override_errors[channel] = message
            return self.rt.settings.programming_for(channel)
        self._override_errors.pop(channel, None)
        return effective

    def fill(self, channel: str) -> FillReport:
        rt = self.rt
        settings = rt.settings
        profile_name = settings.channel(channel).profile
        slate_id = ensure_slate(rt, profile_name).id
        break_id = adbreaks.ensure_break_asset(rt, channel)
        target_us = round(settings.broadcaster.buffer_target_minutes * 60 * US)
        with rt.db.session() as session:
            schedule.lock_timeline(session, channel)
            now = rt.clock.now_us()  # after the lock, which may have waited for another writer
            # Entries starting within one broadcaster poll count as started: a broadcaster
            # re-reads the timeline that often, and publishes nothing of an entry before it starts.
            guard = now + round(settings.broadcaster.poll_seconds * US)
            horizon = now + round(settings.broadcaster.horizon_minutes * 60 * US)
            slate = session.get(Asset, slate_id)
            fresh = fresh_assets(session, channel, profile_name)
            dropped = self._replan_for_new_content(session, channel, fresh, guard)
            tail = schedule.last_entry(session, channel)
            resumed = tail is None or tail.end_us < now
            end = now if resumed else tail.end_us
            if resumed and tail is not None:
                self._event(session, "timeline-resumed", channel,
                            f"the timeline ran out {(now - tail.end_us) / US:.1f} s ago; a new run starts now")
            appended = 0
            previous_asset = None if resumed else tail.asset_id
            previous_fresh = tail is not None and tail.kind == EntryKind.PROGRAMME
            fresh_low = buffer_ahead(session, channel, profile_name, now).fresh_us < target_us
            state = self.chooser.state(session, channel, self.programming(session, channel), now)
            emergency_horizon = now + round(settings.broadcaster.emergency_lookahead_minutes * 60 * US)
            while end < horizon:
                ad_break = adbreaks.append_if_due(session, settings.channel(channel), break_id, at_us=end, now_us=now)
                if ad_break is not None:
                    end, appended = ad_break.end_us, appended + 1
                    continue
                ordinal = tail.ordinal + 1 + appended if tail else appended
                picks = self.chooser.next_picks(
                    session, state, start_us=end, ordinal=ordinal, previous_asset=previous_asset,
                    previous_fresh=previous_fresh, fresh_low=fresh_low,
                )  # fmt: skip
                if not picks:
                    if end >= emergency_horizon:
                        break
                    asset, reason = self.emergency_pick(session, state, previous_asset, slate)
                    picks_made = [(asset, EntryKind.EMERGENCY, reason, {})]
                else:
                    picks_made = [(session.get(Asset, p.asset_id), p.kind, p.reason, p.score) for p in picks]
                for asset, kind, reason, score in picks_made:
                    entry = schedule.append_entry(
                        session, channel, asset, kind=kind, reason=reason, now_us=now, score=score,
                        start_us=end if resumed and appended == 0 else None,
                    )  # fmt: skip
                    state.aired(asset.id, entry.start_us)
                    end = entry.end_us
                    previous_asset = asset.id
                    previous_fresh = kind == EntryKind.PROGRAMME
                    appended += 1
                    if end >= horizon:
                        break
            if appended or dropped:
                schedule.bump_version(session, channel)
            for state_name, why in self._breaker_notes:
                self._event(session, "llm-breaker", channel, f"programming rerank: breaker {state_name}: {why}",
                            state=state_name)  # fmt: skip
            self._breaker_notes.clear()
            buffer = buffer_ahead(session, channel, profile_name, now)
            self._watch_buffer(session, channel, buffer)
        return FillReport(channel=channel, appended=appended, dropped=dropped, buffer_us=buffer.fresh_us,
                          resumed=resumed)  # fmt: skip

    def _replan_for_new_content(self, session: Session, channel: str, fresh: list[Asset], guard: int) -> int:
        """Drop unstarted emergency entries when anything fresh is ready, and unstarted reruns when
        something became ready after they were planned: the fill that follows plans with it."""
        if not fresh:
            return 0
        dropped = schedule.drop_unstarted(session, channel, starting_after_us=guard, kinds=[EntryKind.EMERGENCY])
        if dropped:
            self._event(session, "emergency-replaced", channel, f"{len(fresh)} new programme(s) ready: "
                        f"replaced {dropped} emergency entries that had not started")  # fmt: skip
        newest_ready = max(a.ready_at_us for a in fresh)
        planned_before = session.scalar(
            select(func.min(ScheduleEntry.created_at_us)).where(
                ScheduleEntry.channel == channel, ScheduleEntry.kind == EntryKind.RERUN,
                ScheduleEntry.start_us > guard,
            )
        )  # fmt: skip
        if planned_before is not None and newest_ready > planned_before:
            replanned = schedule.drop_unstarted(session, channel, starting_after_us=guard, kinds=[EntryKind.RERUN])
            if replanned:
                self._event(session, "reruns-replanned", channel, f"new programme(s) ready: {replanned} unstarted "
                            "entries from the first planned rerun on are planned again")  # fmt: skip
            dropped += replanned
        return dropped

    def emergency_pick(
        self, session: Session, state: ChannelState, previous_asset: int | None, slate: Asset
    ) -> tuple[Asset, str]:
        """Nothing is eligible: repeat what aired least recently, else the slate."""
        aired = [c for c in state.candidates.values() if c.last_aired_us is not None and c.asset_id != previous_asset]
        if aired:
            least_recent = min(aired, key=lambda c: (c.last_aired_us, c.asset_id))
            return (session.get(Asset, least_recent.asset_id),
                    "emergency loop: nothing eligible to air, repeating the least recently aired")  # fmt: skip
        if previous_asset is not None and previous_asset != slate.id:
            only = session.get(Asset, previous_asset)
            if only is not None and only.kind in PROGRAMME_KINDS and only.status == AssetStatus.READY:
                return only, "emergency loop: the only programme, repeating"
        return slate, "emergency loop: no ready content, slate"

    def _watch_buffer(self, session: Session, channel: str, buffer: BufferAhead) -> None:
        target = self.rt.settings.broadcaster.buffer_target_minutes * 60 * US
        low = buffer.fresh_us < target
        if low != self._buffer_low.get(channel, False):
            if low:
                message = (f"{buffer.describe()}: fresh programmes are short of the {target / US / 60:.0f} min "
                           "target, so reruns are interleaved between first airings")  # fmt: skip
            else:
                message = f"{buffer.describe()}: fresh programmes are back above the target"
            self._event(session, "buffer-low" if low else "buffer-ok", channel, message,
                        buffer_us=buffer.fresh_us, scheduled_us=buffer.scheduled_us)  # fmt: skip
        self._buffer_low[channel] = low

    def _breaker_changed(self, state: BreakerState, why: str) -> None:
        log.warning("programmer: LLM rerank circuit breaker %s: %s", state.value, why)
        self._breaker_notes.append((state.value, why))

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
    try:
        _fill_loop(rt, programmer, started)
    finally:
        programmer.close()


def _fill_loop(rt: Runtime, programmer: Programmer, started: int) -> None:
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
