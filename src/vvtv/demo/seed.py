"""The demo role: makes the synthetic demo programmes once, so a fresh machine has a channel to watch.

Each programme is rendered from ffmpeg's lavfi sources to a source file under
data_dir/demo-sources and then goes through the real Factory (the operator's
path of `vvtv process`): analysis, loudness, the ladder, VMAF and the poster,
exactly like a video from the web.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from vvtv.config import Settings
from vvtv.demo.programmes import DemoProgramme, demo_durations, demo_programme
from vvtv.errors import VVTVError
from vvtv.processing.manual import process_now
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus


def render_source(programme: DemoProgramme, path: Path) -> None:
    """Write the programme as an ordinary video file (under a temporary name until complete)."""
    source = programme.source
    partial = path.with_name(f".{path.name}.part")
    args = [*source.inputs, "-map", source.video]
    if source.video_filters:
        args += ["-vf", ",".join(source.video_filters)]
    if source.audio:
        args += ["-map", source.audio]
    if source.duration_s is not None:
        args += ["-t", f"{source.duration_s:.3f}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-c:a", "aac", "-b:a", "192k",
             "-f", "mp4", str(partial)]  # fmt: skip
    try:
        run_ffmpeg(args, timeout=600)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)


def _factory_view(settings: Settings, height: int) -> Settings:
    """The settings for seeding: demo sources are made at the profile's own size (which may be under 720p)
    and may be shorter than the Factory's minimum for the web."""
    factory = settings.factory.model_copy(update={
        "min_height": min(settings.factory.min_height, height),
        "min_seconds": min(settings.factory.min_seconds, settings.demo.min_seconds),
    })  # fmt: skip
    return settings.model_copy(update={"factory": factory})


def seed_demo(rt: Runtime, channel: str) -> int:
    """Make the demo programmes the channel's profile does not have yet; returns how many were made."""
    settings = rt.settings
    profile_name = settings.channel(channel).profile
    profile = settings.profiles[profile_name]
    top = profile.top
    sources = settings.data_dir.resolve() / "demo-sources" / profile_name
    sources.mkdir(parents=True, exist_ok=True)
    seeding = Runtime(settings=_factory_view(settings, top.height), db=rt.db, clock=rt.clock, stop=rt.stop)
    with rt.db.session() as session:
        done = set(session.scalars(select(Plan.page_url).where(Plan.status == PlanStatus.DONE)))
    made = 0
    for index, seconds in enumerate(demo_durations(settings.demo.programmes, settings.demo.min_seconds,
                                                   settings.demo.max_seconds)):  # fmt: skip
        path = sources / f"demo-{index:02d}.mp4"
        if str(path) in done or rt.stop.is_set():
            continue
        programme = demo_programme(index, seconds, width=top.width, height=top.height, fps=profile.fps)
        if not path.exists():
            render_source(programme, path)
        try:
            process_now(seeding, str(path), channel=channel, title=programme.title)
        except VVTVError as exc:
            if rt.stop.is_set():
                return made
            rt.record_event("demo-failed", f"demo programme {index + 1} was not made: {exc}", channel=channel)
            continue
        path.unlink()  # the Asset has it now
        made += 1
    return made


def run(rt: Runtime) -> None:
    seeded: set[str] = set()
    for channel in rt.settings.channels:
        if channel.profile in seeded:
            continue  # programmes are made per profile; channels sharing one share them
        seeded.add(channel.profile)
        made = seed_demo(rt, channel.name)
        if made:
            rt.record_event("demo-seeded", f"made {made} demo programme(s) for profile {channel.profile}")
    rt.stop.wait()
