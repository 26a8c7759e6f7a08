"""Ad breaks: when one is due, what fills it, and how the playlists mark it for ad insertion.

Planning. A channel with `ads.every_minutes` set gets a break at the first
programme boundary at least that long after the previous break ended (or after
the channel's first entry): a BREAK entry of `ads.break_seconds`, filled by the
profile's break slate, an Asset of the broadcast standard made once with ffmpeg
like the slate. Never two breaks in a row, never right after the slate, never
as the first entry of a run.

Marking. A server-side ad insertion service (AWS MediaTailor, for one) replaces
what lies between the cues. The break's first segment carries an
EXT-X-DATERANGE with SCTE35-OUT and PLANNED-DURATION, and EXT-X-CUE-OUT (for
older inserters); the segment after the break carries the same date range (same
ID and START-DATE) with SCTE35-IN, DURATION and END-DATE, and EXT-X-CUE-IN. A
window that starts inside a break repeats the OUT date range and says how far in
it is with EXT-X-CUE-OUT-CONT, as every other segment of the break does.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.broadcast import schedule
from vvtv.broadcast.scte35 import TICKS_PER_SECOND, SpliceInsert, hex_cue
from vvtv.broadcast.timeline import PublishedSegment
from vvtv.clock import US, iso
from vvtv.config import AdSettings, ChannelSettings
from vvtv.demo.programmes import slate_source
from vvtv.processing.assets import record_asset
from vvtv.processing.package import package
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind, ScheduleEntry

BREAK_KIND = EntryKind.BREAK.value
CAPTION = "Commercial break"


# --- planning --------------------------------------------------------------------------------


def ensure_break_asset(rt: Runtime, channel: str) -> int | None:
    """The id of the asset that fills the channel's breaks (made the first time), or None without ads."""
    ads = rt.settings.channel(channel).ads
    if ads.every_minutes <= 0:
        return None
    profile_name = rt.settings.channel(channel).profile
    source = f"lavfi:break:{ads.break_seconds}"
    with rt.db.session() as session:
        existing = session.scalars(
            select(Asset.id)
            .where(Asset.kind == AssetKind.BREAK, Asset.profile == profile_name, Asset.source == source,
                   Asset.status == AssetStatus.READY)
            .order_by(Asset.id)
            .limit(1)
        ).first()  # fmt: skip
    if existing is not None:
        return existing
    profile = rt.settings.profiles[profile_name]
    top = profile.top
    destination = rt.settings.media_dir / "assets" / f"break-{profile_name}-{uuid.uuid4().hex[:8]}"
    made = slate_source(ads.break_seconds, width=top.width, height=top.height, fps=profile.fps, caption=CAPTION)
    packaged = package(made, profile, destination)
    with rt.db.session() as session:
        asset = record_asset(
            session, packaged, media_dir=rt.settings.media_dir, kind=AssetKind.BREAK, profile=profile_name,
            title=CAPTION, now_us=rt.clock.now_us(), source=source,
        )  # fmt: skip
    rt.record_event("break-slate-made", f"made the {ads.break_seconds} s break slate for profile {profile_name}",
                    asset_id=asset.id)  # fmt: skip
    return asset.id


def break_due(session: Session, channel: str, ads: AdSettings, *, at_us: int) -> bool:
    """Whether a break goes at this boundary (the end of the channel's timeline so far)."""
    if ads.every_minutes <= 0:
        return False
    last = session.scalars(
        select(ScheduleEntry).where(ScheduleEntry.channel == channel).order_by(ScheduleEntry.ordinal.desc()).limit(1)
    ).first()
    if last is None or last.end_us != at_us or last.kind == EntryKind.BREAK or last.asset.kind == AssetKind.SLATE:
        return False
    since = session.scalar(
        select(func.max(ScheduleEntry.start_us + ScheduleEntry.duration_us)).where(
            ScheduleEntry.channel == channel, ScheduleEntry.kind == EntryKind.BREAK
        )
    )
    if since is None:
        since = session.scalar(select(func.min(ScheduleEntry.start_us)).where(ScheduleEntry.channel == channel))
    return at_us - since >= round(ads.every_minutes * 60 * US)


def append_if_due(
    session: Session, channel: ChannelSettings, break_id: int | None, *, at_us: int, now_us: int
) -> ScheduleEntry | None:
    """The programmer's hook: append a break entry at at_us if one is due there."""
    if break_id is None or not break_due(session, channel.name, channel.ads, at_us=at_us):
        return None
    asset = session.get(Asset, break_id)
    return schedule.append_entry(session, channel.name, asset, kind=EntryKind.BREAK, reason="ad break", now_us=now_us)


# --- marking ---------------------------------------------------------------------------------


def cue_lines(segment: PublishedSegment, previous: PublishedSegment | None) -> list[str]:
    """The ad-insertion tags that go before this segment in a media playlist (`previous`: the one listed before)."""
    lines: list[str] = []
    if previous is not None and previous.entry is not segment.entry and previous.entry.kind == BREAK_KIND:
        lines += [_daterange_in(previous), "#EXT-X-CUE-IN"]
    if segment.entry.kind == BREAK_KIND:
        entry = segment.entry
        seconds = entry.duration_us / US
        if segment.index == 0:
            lines += [_daterange_out(segment), f"#EXT-X-CUE-OUT:DURATION={seconds:.3f}"]
        else:
            if previous is None:  # joining inside the break: its start is still announced
                lines.append(_daterange_out(segment))
            elapsed = (segment.start_us - entry.start_us) / US
            lines.append(f"#EXT-X-CUE-OUT-CONT:ElapsedTime={elapsed:.3f},Duration={seconds:.3f}")
    return lines


def _daterange_out(segment: PublishedSegment) -> str:
    entry = segment.entry
    cue = hex_cue(SpliceInsert(event_id=_event_id(segment), out_of_network=True,
                               duration_ticks=entry.duration_us * TICKS_PER_SECOND // US))  # fmt: skip
    return (
        f'#EXT-X-DATERANGE:ID="{_id(segment)}",START-DATE="{iso(entry.start_us)}",'
        f"PLANNED-DURATION={entry.duration_us / US:.3f},SCTE35-OUT={cue}"
    )


def _daterange_in(segment: PublishedSegment) -> str:
    entry = segment.entry
    cue = hex_cue(SpliceInsert(event_id=_event_id(segment), out_of_network=False))
    return (
        f'#EXT-X-DATERANGE:ID="{_id(segment)}",START-DATE="{iso(entry.start_us)}",END-DATE="{iso(entry.end_us)}",'
        f"DURATION={entry.duration_us / US:.3f},SCTE35-IN={cue}"
    )


def _id(segment: PublishedSegment) -> str:
    return f"break-{segment.entry.ordinal}"


def _event_id(segment: PublishedSegment) -> int:
    # The entry's ordinal is unique in the channel; splice_event_id is 32 bits.
    return segment.entry.ordinal & 0xFFFFFFFF
