"""Programmes as the Factory records them, without encoding: the programmer reads only rows.

Scheduling decisions depend on an Asset's duration, segment grid, tags and measurements, never
on its files, so these tests and the programming benchmark make rows of the exact shape the
Factory writes (4 s segments adding up to the duration) and skip the encode.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.storage.models import Asset, AssetKind, AssetStatus

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
