"""The slate: a broadcast-standard "we'll be right back" Asset per profile, made once."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from vvtv.demo.programmes import slate_source
from vvtv.processing.assets import record_asset
from vvtv.processing.package import package
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus
from vvtv.storage.objects import publish_asset


def find_slate(rt: Runtime, profile_name: str) -> Asset | None:
    with rt.db.session() as session:
        return session.scalars(
            select(Asset)
            .where(Asset.kind == AssetKind.SLATE, Asset.profile == profile_name, Asset.status == AssetStatus.READY)
            .order_by(Asset.id)
            .limit(1)
        ).first()


def ensure_slate(rt: Runtime, profile_name: str) -> Asset:
    """Return the profile's slate, making it with ffmpeg the first time."""
    existing = find_slate(rt, profile_name)
    if existing:
        return existing
    profile = rt.settings.profiles[profile_name]
    top = profile.top
    seconds = rt.settings.broadcaster.slate_seconds
    destination = rt.settings.media_dir / "assets" / f"slate-{profile_name}-{uuid.uuid4().hex[:8]}"
    packaged = package(slate_source(seconds, width=top.width, height=top.height, fps=profile.fps), profile, destination)
    publish_asset(rt.settings.storage, rt.settings.media_dir, destination)
    with rt.db.session() as session:
        asset = record_asset(
            session,
            packaged,
            media_dir=rt.settings.media_dir,
            kind=AssetKind.SLATE,
            profile=profile_name,
            title="We'll be right back",
            now_us=rt.clock.now_us(),
            source="lavfi:slate",
        )
    rt.record_event("slate-made", f"made the slate for profile {profile_name}", asset_id=asset.id)
    return asset


def ensure_slates(rt: Runtime) -> None:
    for profile_name in sorted({c.profile for c in rt.settings.channels}):
        ensure_slate(rt, profile_name)
