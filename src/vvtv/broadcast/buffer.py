"""How much a channel has ahead of now: the one definition of "buffer", in two plain senses.

- **fresh programme time ahead**: programmes the channel has never aired, scheduled after now
  (EntryKind.PROGRAMME entries) or ready and not yet scheduled. This is what keeps the channel
  from repeating itself; `broadcaster.buffer_target_minutes` is measured against it.
- **scheduled time ahead**: everything on the timeline after now, reruns and the slate
  included: how long the channel stays on air if nothing new arrives.

A channel on reruns can have hours scheduled and no fresh programme at all, so both are shown
side by side everywhere (vvtvctl, the programmer's events, the curator's discovery trigger).
The curator also counts approved plans still in the Factory (`in_factory_us`), so that it does
not search again for content already on its way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.broadcast import schedule
from vvtv.clock import US
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind, Plan, PlanStatus, ScheduleEntry

PROGRAMME_KINDS = (AssetKind.PROGRAMME, AssetKind.EVERGREEN)
# A plan whose duration is unknown counts as this long while it waits for the Factory.
UNKNOWN_PLAN_SECONDS = 60


@dataclass(kw_only=True, frozen=True)
class BufferAhead:
    """A channel's content ahead of now, in microseconds."""

    fresh_us: int  # fresh programme time ahead: unaired programmes scheduled after now + ready, unscheduled ones
    scheduled_us: int  # scheduled time ahead: every timeline entry after now, reruns and slate included
    in_factory_us: int  # approved plans for the channel not yet made (estimated where their length is unknown)

    @property
    def fresh_minutes(self) -> float:
        return self.fresh_us / US / 60

    @property
    def scheduled_minutes(self) -> float:
        return self.scheduled_us / US / 60

    @property
    def in_factory_minutes(self) -> float:
        return self.in_factory_us / US / 60

    def as_dict(self) -> dict[str, float]:
        return {
            "fresh_programme_minutes_ahead": round(self.fresh_minutes, 2),
            "scheduled_minutes_ahead": round(self.scheduled_minutes, 2),
        }

    def describe(self) -> str:
        return f"fresh programmes {self.fresh_minutes:.1f} min ahead, scheduled {self.scheduled_minutes:.1f} min ahead"


def ready_programmes(profile: str):  # noqa: ANN201 - a select() of Asset
    return select(Asset).where(
        Asset.status == AssetStatus.READY, Asset.profile == profile, Asset.kind.in_(PROGRAMME_KINDS)
    )


def fresh_assets(session: Session, channel: str, profile: str) -> list[Asset]:
    """Ready programmes never scheduled on this channel, in queue order."""
    aired = select(ScheduleEntry.asset_id).where(ScheduleEntry.channel == channel)
    return list(
        session.scalars(ready_programmes(profile).where(Asset.id.not_in(aired)).order_by(Asset.ready_at_us, Asset.id))
    )


def fresh_scheduled_us(session: Session, channel: str, now_us: int) -> int:
    """Fresh programme time scheduled after now (EntryKind.PROGRAMME entries only, the part not yet aired)."""
    rows = session.execute(
        select(ScheduleEntry.start_us, ScheduleEntry.duration_us).where(
            ScheduleEntry.channel == channel,
            ScheduleEntry.kind == EntryKind.PROGRAMME,
            ScheduleEntry.start_us + ScheduleEntry.duration_us > now_us,
        )
    )
    return sum(start + duration - max(start, now_us) for start, duration in rows)


def scheduled_ahead_us(session: Session, channel: str, now_us: int) -> int:
    """Everything on the timeline after now: the last entry's end minus now (the timeline has no gaps)."""
    last = schedule.last_entry(session, channel)
    return max(last.end_us - now_us, 0) if last else 0


def in_factory_us(session: Session, channel: str) -> int:
    waiting = session.scalar(
        select(func.coalesce(func.sum(func.coalesce(Plan.duration_s, UNKNOWN_PLAN_SECONDS)), 0)).where(
            Plan.channel == channel, Plan.status.in_([PlanStatus.APPROVED, PlanStatus.PROCESSING])
        )
    )
    return round(float(waiting or 0) * US)


def buffer_ahead(session: Session, channel: str, profile: str, now_us: int) -> BufferAhead:
    ready = sum(a.duration_us for a in fresh_assets(session, channel, profile))
    return BufferAhead(
        fresh_us=fresh_scheduled_us(session, channel, now_us) + ready,
        scheduled_us=scheduled_ahead_us(session, channel, now_us),
        in_factory_us=in_factory_us(session, channel),
    )
