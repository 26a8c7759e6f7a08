"""Programmes and timelines as rows only, for tests of what reads rows and never files.

Scheduling, the guide and the EPG depend on an Asset's duration, segment grid, tags and
measurements, never on its files, so these tests make rows of the exact shape the Factory
writes (4 s segments adding up to the duration) and skip the encode.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vvtv.broadcast import schedule
from vvtv.clock import US
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind

SEGMENT_US = 4 * US


def catalogue_asset(
    session: Session,
    *,
    title: str,
    tags: list[str],
    seconds: float,
    ready_at_us: int,
    profile: str = "tiny",
    source: str = "https://videos.example/",
    **columns: object,
) -> Asset:
    total = round(seconds * US)
    durations = [SEGMENT_US] * (total // SEGMENT_US) + ([total % SEGMENT_US] if total % SEGMENT_US else [])
    asset = Asset(
        kind=AssetKind.PROGRAMME, status=AssetStatus.READY, profile=profile, title=title, tags=tags,
        source=source + title.lower().replace(" ", "-"), path=f"assets/catalogue-{title.lower().replace(' ', '-')}",
        renditions=[{"name": "90p", "width": 160, "height": 90, "bandwidth": 200_000, "codecs": "avc1.64000c,mp4a.40.2"}],
        segment_durations_us=durations, duration_us=sum(durations), created_at_us=ready_at_us, ready_at_us=ready_at_us,
        **columns,
    )  # fmt: skip
    session.add(asset)
    session.flush()
    return asset


def lay_out(rt: Runtime, channel: str, start_us: int, assets: list[tuple[Asset, EntryKind]]) -> None:
    """Put the assets on the channel's timeline back to back, the first at start_us."""
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, start_us)
        session.flush()
        for position, (asset, kind) in enumerate(assets):
            schedule.append_entry(
                session, channel, session.get(Asset, asset.id), kind=kind, reason="test", now_us=start_us,
                start_us=start_us if position == 0 else None,
            )  # fmt: skip
