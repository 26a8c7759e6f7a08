"""What programming reads from the database: candidate programmes, recent entries, overrides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.programming.scoring import Candidate, Recent, source_of
from vvtv.storage.models import (
    Asset,
    AssetKind,
    AssetStatus,
    EntryKind,
    Plan,
    ProgrammingOverride,
    ScheduleEntry,
    Viewing,
)

PROGRAMME_KINDS = (AssetKind.PROGRAMME, AssetKind.EVERGREEN)
ALL_CHANNELS = "*"


def load_candidates(session: Session, channel: str, profile: str) -> list[Candidate]:
    """Every ready programme of the profile, with how often and when it was scheduled on the channel."""
    airings = (
        select(ScheduleEntry.asset_id, func.count().label("n"), func.max(ScheduleEntry.start_us).label("last"))
        .where(ScheduleEntry.channel == channel)
        .group_by(ScheduleEntry.asset_id)
        .subquery()
    )
    rows = session.execute(
        select(Asset, Plan.score, Plan.height, airings.c.n, airings.c.last)
        .outerjoin(Plan, Plan.id == Asset.plan_id)
        .outerjoin(airings, airings.c.asset_id == Asset.id)
        .where(Asset.status == AssetStatus.READY, Asset.profile == profile, Asset.kind.in_(PROGRAMME_KINDS))
        .order_by(Asset.ready_at_us, Asset.id)
    )
    return [
        Candidate(
            asset_id=asset.id, title=asset.title, tags=tuple(str(t).lower() for t in asset.tags or ()),
            source=source_of(asset.source), duration_us=asset.duration_us, ready_at_us=asset.ready_at_us,
            vmaf=asset.vmaf, source_height=height, loudness_lufs=asset.loudness_lufs, judge_score=judge_score,
            airings=count or 0, last_aired_us=last,
        )  # fmt: skip
        for asset, judge_score, height, count, last in rows
    ]


def recent_entries(session: Session, channel: str, count: int) -> list[Recent]:
    """The channel's last `count` programme entries (reruns and emergency repeats included), oldest first."""
    if count <= 0:
        return []
    rows = session.execute(
        select(ScheduleEntry.asset_id, Asset.tags, Asset.source)
        .join(Asset, Asset.id == ScheduleEntry.asset_id)
        .where(ScheduleEntry.channel == channel, Asset.kind.in_(PROGRAMME_KINDS))
        .order_by(ScheduleEntry.ordinal.desc())
        .limit(count)
    ).all()
    recent = []
    for asset_id, tags, source in reversed(rows):
        lowered = [str(t).lower() for t in tags or ()]
        recent.append(Recent(asset_id=asset_id, category=lowered[0] if lowered else "", source=source_of(source),
                             tags=frozenset(lowered)))  # fmt: skip
    return recent


def lineup_titles(session: Session, channel: str, *, since_us: int, until_us: int) -> list[str]:
    return list(
        session.scalars(
            select(Asset.title)
            .join(ScheduleEntry, ScheduleEntry.asset_id == Asset.id)
            .where(ScheduleEntry.channel == channel, ScheduleEntry.start_us >= since_us,
                   ScheduleEntry.start_us < until_us,
                   ScheduleEntry.kind.in_([EntryKind.PROGRAMME, EntryKind.RERUN, EntryKind.INJECTED]))
            .order_by(ScheduleEntry.ordinal)
        )
    )  # fmt: skip


def channel_retention(session: Session, channel: str, *, since_us: int = 0) -> float | None:
    watched, possible = session.execute(
        select(func.sum(Viewing.watched_us), func.sum(Viewing.possible_us))
        .where(Viewing.channel == channel, Viewing.last_us >= since_us)
    ).one()
    return watched / possible if possible else None


def stored_overrides(
    session: Session, channel: str, *, proposed: tuple[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The run-time overrides that apply to the channel: every channel's first, then its own;
    `proposed` (a row's channel and values) stands in for that row, to check a change before storing it."""
    rows = {r.channel: r.values for r in session.scalars(
        select(ProgrammingOverride).where(ProgrammingOverride.channel.in_([ALL_CHANNELS, channel]))
    )}  # fmt: skip
    if proposed:
        rows[proposed[0]] = proposed[1]
    return [rows[name] for name in (ALL_CHANNELS, channel) if rows.get(name)]
