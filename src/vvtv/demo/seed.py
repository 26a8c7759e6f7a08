"""The demo role: makes the synthetic demo programmes once, so a fresh machine has a channel to watch."""

from __future__ import annotations

import re

from sqlalchemy import select

from vvtv.demo.programmes import demo_durations, demo_programme
from vvtv.processing.assets import record_asset
from vvtv.processing.package import package
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def seed_demo(rt: Runtime, profile_name: str) -> int:
    """Make the demo programmes that the profile does not have yet; returns how many were made."""
    settings = rt.settings
    profile = settings.profiles[profile_name]
    demo = settings.demo
    with rt.db.session() as session:
        have = set(session.scalars(select(Asset.source).where(Asset.profile == profile_name, Asset.source.like("demo:%"))))
    made = 0
    for index, seconds in enumerate(demo_durations(demo.programmes, demo.min_seconds, demo.max_seconds)):
        source_name = f"demo:{index}"
        if source_name in have or rt.stop.is_set():
            continue
        top = profile.top
        programme = demo_programme(index, seconds, width=top.width, height=top.height, fps=profile.fps)
        destination = settings.media_dir / "assets" / f"demo-{profile_name}-{index:02d}-{_slug(programme.title)}"
        if destination.exists():  # a previous run renamed it into place but died before recording it
            import shutil

            shutil.rmtree(destination)
        packaged = package(programme.source, profile, destination)
        with rt.db.session() as session:
            record_asset(
                session, packaged, media_dir=settings.media_dir, kind=AssetKind.PROGRAMME, profile=profile_name,
                title=programme.title, now_us=rt.clock.now_us(), source=source_name, tags=["demo"],
            )  # fmt: skip
        made += 1
    return made


def run(rt: Runtime) -> None:
    for profile_name in sorted({c.profile for c in rt.settings.channels}):
        made = seed_demo(rt, profile_name)
        if made:
            rt.record_event("demo-seeded", f"made {made} demo programme(s) for profile {profile_name}")
    rt.stop.wait()
