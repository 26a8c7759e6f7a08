"""Recording a packaged programme as an Asset row, once its files are in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vvtv.processing.package import Packaged
from vvtv.storage.models import Asset, AssetKind, AssetStatus


def record_asset(
    session: Session,
    packaged: Packaged,
    *,
    media_dir: Path,
    kind: AssetKind,
    profile: str,
    title: str,
    now_us: int,
    **columns: Any,
) -> Asset:
    """Insert the READY Asset for files already renamed into place under media_dir."""
    asset = Asset(
        kind=kind,
        status=AssetStatus.READY,
        profile=profile,
        title=title,
        path=packaged.directory.relative_to(media_dir).as_posix(),
        renditions=[r.as_record() for r in packaged.renditions],
        segment_durations_us=packaged.segment_durations_us,
        duration_us=packaged.duration_us,
        created_at_us=now_us,
        ready_at_us=now_us,
        **columns,
    )
    session.add(asset)
    session.flush()
    return asset
