"""What the origin tests share: a tiny channel on disk and in the database, the origin
as a real process (`vvtv run origin`), and the Chromium the player tests drive.

Not a conftest.py: `from conftest import ...` is ambiguous when several test
folders have one, so these helpers live in a module of their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from vvtv.broadcast import schedule
from vvtv.clock import US, iso
from vvtv.config import ChannelSettings, Profile, Rendition, Settings, load_settings
from vvtv.demo.programmes import demo_programme
from vvtv.processing.assets import record_asset
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.processing.package import SEGMENT_PATTERN, package
from vvtv.runtime import Runtime
from vvtv.storage.db import Database
from vvtv.storage.models import Asset, AssetKind, EntryKind, Heartbeat, ScheduleEntry

# 2 s segments at 10 fps in thumbnail sizes: a programme encodes in well under a
# second, and a player crosses a programme boundary within seconds.
PROFILE = Profile(
    fps=10,
    segment_seconds=2,
    keyframe_seconds=2,
    x264_preset="ultrafast",
    renditions=[
        Rendition(name="small", width=160, height=90, video_kbps=150, audio_kbps=32),
        Rendition(name="tiny", width=128, height=72, video_kbps=100, audio_kbps=32),
    ],
)
CHANNELS = [
    ChannelSettings(name="main", title="VVTV test", profile="tiny"),
    ChannelSettings(name="second", title="VVTV second", profile="tiny"),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

VVTV = str(Path(sys.executable).parent / "vvtv")
# The sections a child process must share with the test's own settings.
SHARED_SECTIONS = ("profiles", "channels", "origin", "broadcaster")


def origin_settings(data_dir: Path, **values: object) -> Settings:
    values.setdefault("profiles", {"tiny": PROFILE})
    values.setdefault("channels", CHANNELS)
    return load_settings(data_dir=data_dir, **values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings (VVTV_SECTION as JSON)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VVTV_")}
    env["VVTV_DATA_DIR"] = str(settings.data_dir)
    dumped = settings.model_dump(mode="json", include=set(SHARED_SECTIONS))
    for section in SHARED_SECTIONS:
        env[f"VVTV_{section.upper()}"] = json.dumps(dumped[section])
    return env


# --- content ---------------------------------------------------------------


def make_programme(rt: Runtime, *, title: str, look: int, seconds: float) -> Asset:
    """A real packaged programme with demo look number `look`, recorded as READY."""
    top = PROFILE.top
    programme = demo_programme(look, seconds, width=top.width, height=top.height, fps=PROFILE.fps)
    destination = rt.settings.media_dir / "assets" / f"{look:03d}-{title.lower()}"
    packaged = package(programme.source, PROFILE, destination)
    with rt.db.session() as session:
        return record_asset(
            session, packaged, media_dir=rt.settings.media_dir, kind=AssetKind.PROGRAMME, profile="tiny",
            title=title, now_us=rt.clock.now_us(), source=f"test:{look}",
        )  # fmt: skip


def make_programmes(rt: Runtime, titles: list[str], *, seconds: float) -> list[Asset]:
    """One programme per title, each with a look of its own."""
    return [make_programme(rt, title=title, look=look, seconds=seconds) for look, title in enumerate(titles)]


def add_poster(rt: Runtime, asset: Asset) -> Path:
    """A poster.jpg next to the asset's renditions, recorded on its row."""
    poster = rt.settings.media_dir / asset.path / "poster.jpg"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=orange:s=64x36", "-frames:v", "1", str(poster)], timeout=60)
    with rt.db.session() as session:
        session.get(Asset, asset.id).poster = f"{asset.path}/poster.jpg"
    return poster


def schedule_run(rt: Runtime, channel: str, assets: list[Asset], *, start_us: int) -> list[ScheduleEntry]:
    """Put the assets on the channel's timeline back to back from start_us."""
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, rt.clock.now_us())
        session.flush()
        entries = []
        for asset in assets:
            first = not entries and schedule.last_entry(session, channel) is None
            entries.append(
                schedule.append_entry(
                    session, channel, session.get(Asset, asset.id), kind=EntryKind.PROGRAMME, reason="test",
                    now_us=rt.clock.now_us(), start_us=start_us if first else None,
                )  # fmt: skip
            )
        schedule.bump_version(session, channel)
        # Read back with their assets loaded, for use after the session closes.
        ids = [entry.id for entry in entries]
        query = select(ScheduleEntry).where(ScheduleEntry.id.in_(ids)).order_by(ScheduleEntry.ordinal)
        return list(session.scalars(query))


def write_live_playlists(settings: Settings, channel: str, published: list[ScheduleEntry], *, default: bool) -> None:
    """Hand-written live playlists listing every segment of `published` (what a Broadcaster writes)."""
    folder = settings.media_dir / "channels" / channel
    folder.mkdir(parents=True, exist_ok=True)
    renditions = published[0].asset.renditions
    master = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions:
        resolution = f"{r['width']}x{r['height']}"
        master += [
            f'#EXT-X-STREAM-INF:BANDWIDTH={r["bandwidth"]},RESOLUTION={resolution},CODECS="{r["codecs"]}"',
            f"{r['name']}.m3u8",
        ]
    (folder / "live.m3u8").write_text("\n".join(master) + "\n")
    if default:
        lines = [line if line.startswith("#") else f"channels/{channel}/{line}" for line in master]
        (settings.media_dir / "live.m3u8").write_text("\n".join(lines) + "\n")
    for r in renditions:
        lines = [
            "#EXTM3U", "#EXT-X-VERSION:6", f"#EXT-X-TARGETDURATION:{PROFILE.segment_seconds}",
            f"#EXT-X-MEDIA-SEQUENCE:{published[0].first_seq}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{published[0].ordinal}", "#EXT-X-INDEPENDENT-SEGMENTS",
        ]  # fmt: skip
        for position, entry in enumerate(published):
            if position:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso(entry.start_us)}")
            for index, duration in enumerate(entry.asset.segment_durations_us):
                segment = f"../../{entry.asset.path}/{r['name']}/{SEGMENT_PATTERN % index}"
                lines += [f"#EXTINF:{duration / US:.6f},", segment]
        (folder / f"{r['name']}.m3u8").write_text("\n".join(lines) + "\n")


# --- the origin as a process ----------------------------------------------------


@dataclass(kw_only=True)
class OriginProcess:
    process: subprocess.Popen
    port: int
    log: Path  # its stderr

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not finished in 10 s; returns the exit code."""
        return stop_process(self.process)


def stop_process(process: subprocess.Popen, *, grace: float = 10) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def start_origin(settings: Settings, *, timeout: float = 60) -> OriginProcess:
    """`vvtv run origin` on these settings; returns once its heartbeat names the port it listens on."""
    # stderr goes to a file: a pipe nobody reads could fill up and block the server.
    log = settings.data_dir / f"origin-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [VVTV, "run", "origin"], env=settings_env(settings), stdin=subprocess.DEVNULL, stderr=stderr
        )
    database = Database(settings.database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"origin exited with {process.returncode}: {log.read_text()}")
            with database.session() as session:
                beat = session.scalars(select(Heartbeat).where(Heartbeat.role == "origin")).first()
            if beat is not None and beat.pid == process.pid:
                return OriginProcess(process=process, port=beat.data["port"], log=log)
            time.sleep(0.1)
        stop_process(process)
        raise AssertionError(f"origin did not heartbeat within {timeout} s")
    except BaseException:
        stop_process(process)
        raise
    finally:
        database.dispose()


# --- the browser -----------------------------------------------------------------


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page in headless Debian Chromium (H.264/AAC through MSE), closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()
