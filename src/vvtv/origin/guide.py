"""The programme guide of a channel: what is on now and next, read from the schedule.

A viewer watches a few segments behind the live edge (up to a live window),
so the guide also lists the entries that ended within that lookback: the
player labels whichever entry holds the moment it is actually showing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from vvtv.clock import iso
from vvtv.storage.models import ScheduleEntry


@dataclass(kw_only=True)
class GuideItem:
    ordinal: int
    title: str
    start_us: int
    end_us: int
    start: str  # ISO 8601 UTC, for people and for the page
    end: str
    kind: str  # the entry's kind: programme, emergency (slate or evergreen fill), injected
    asset_id: int
    asset_kind: str
    poster_url: str | None


@dataclass(kw_only=True)
class Guide:
    channel: str
    now_us: int
    recent: list[GuideItem]  # entries before the one on air that ended within the lookback, oldest first
    on_air: GuideItem | None
    next: list[GuideItem] = field(default_factory=list)


def read_guide(session: Session, channel: str, now_us: int, *, lookback_us: int, next_count: int) -> Guide:
    started = session.scalars(
        select(ScheduleEntry)
        .where(
            ScheduleEntry.channel == channel,
            ScheduleEntry.start_us <= now_us,
            ScheduleEntry.start_us + ScheduleEntry.duration_us > now_us - lookback_us,
        )
        .order_by(ScheduleEntry.start_us, ScheduleEntry.ordinal)
    ).all()
    upcoming = session.scalars(
        select(ScheduleEntry)
        .where(ScheduleEntry.channel == channel, ScheduleEntry.start_us > now_us)
        .order_by(ScheduleEntry.start_us, ScheduleEntry.ordinal)
        .limit(next_count)
    ).all()
    # The latest started entry is on air unless it has ended (a gap in the schedule).
    on_air = started[-1] if started and started[-1].end_us > now_us else None
    recent = started[:-1] if on_air else started
    return Guide(
        channel=channel,
        now_us=now_us,
        recent=[_item(entry) for entry in recent],
        on_air=_item(on_air) if on_air else None,
        next=[_item(entry) for entry in upcoming],
    )


def _item(entry: ScheduleEntry) -> GuideItem:
    asset = entry.asset
    return GuideItem(
        ordinal=entry.ordinal,
        title=asset.title,
        start_us=entry.start_us,
        end_us=entry.end_us,
        start=iso(entry.start_us),
        end=iso(entry.end_us),
        kind=entry.kind.value,
        asset_id=asset.id,
        asset_kind=asset.kind.value,
        # Asset.poster is relative to the media folder, which the origin serves at /.
        poster_url="/" + quote(asset.poster) if asset.poster else None,
    )
