"""Broadcaster benchmark: what one channel costs at air time, and how many channels one machine keeps on time.

1. Air time of one channel in the default mode: the real roles that air it
   (`vvtv run broadcaster` and `vvtv run programmer`) run for the window and
   their CPU seconds are read from /proc. The baseline, in the same run, is
   what a live encoder per channel spends: `ffmpeg -re -stream_loop -1` of
   the same content re-encoded with libx264 at the channel's top rendition
   and settings (preset, capped VBV, keyframes every 2 s, AAC), written as
   live HLS. Printed as a ratio (baseline / VVTV).
2. Channels on time: one broadcaster with N channels that share the same
   assets and whose timelines start at the same instant, so every segment
   boundary of every channel coincides (the worst case). After each
   boundary the bench waits 1 s and reads every media playlist of every
   channel: it must list the segment that ended at that boundary. Lateness
   is the playlist file's mtime minus the boundary; the broadcaster's own
   figure (its heartbeat) is shown beside it.

Run: .venv/bin/python bench/broadcaster.py [--seconds 60] [--channels 100,200,400,800,1600,3200]
Assets are made once and kept under bench/results/cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from vvtv.broadcast import schedule
from vvtv.broadcast.playlists import PublishedState, read_published
from vvtv.broadcast.timeline import Timeline
from vvtv.clock import US
from vvtv.config import ChannelSettings, Profile, Settings, load_settings
from vvtv.demo.programmes import demo_programme, slate_source
from vvtv.processing.assets import record_asset
from vvtv.processing.ffmpeg import ffmpeg_binary, run_ffmpeg
from vvtv.processing.package import (
    SEGMENT_PATTERN,
    Packaged,
    PackagedRendition,
    Source,
    codec_args,
    package,
    rate_args,
)
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, EntryKind, Heartbeat

VVTV = str(Path(sys.executable).parent / "vvtv")
CACHE = Path(__file__).parent / "results" / "cache"
ON_TIME_US = 1 * US  # a playlist must list a segment within this long after the segment's boundary
LIBRARY_FORMAT = 1  # bump when what make_library writes changes


# ---- the assets every run airs, made once -------------------------------------------------


@dataclass(kw_only=True)
class LibraryAsset:
    kind: AssetKind
    title: str
    folder: str  # under the library's assets/
    renditions: list[PackagedRendition]
    segment_durations_us: list[int]

    @classmethod
    def from_json(cls, data: dict) -> "LibraryAsset":
        renditions = [PackagedRendition(**r) for r in data["renditions"]]
        return cls(**{**data, "kind": AssetKind(data["kind"]), "renditions": renditions})


@dataclass(kw_only=True)
class Library:
    """Packaged programmes and the slate of one profile, and the programmes' top rendition as one file."""

    root: Path
    profile_name: str
    profile: Profile
    assets: list[LibraryAsset]

    @property
    def airing(self) -> Path:
        return self.root / "airing.ts"


def make_library(cache: Path, profile_name: str, profile: Profile, *, clips: int, clip_seconds: int) -> Library:
    """The slate and `clips` demo programmes packaged to the profile; reused while nothing they depend on changed."""
    recipe = json.dumps([LIBRARY_FORMAT, profile.model_dump(mode="json"), clips, clip_seconds])
    root = cache / f"{profile_name}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    manifest = root / "library.json"
    if not manifest.is_file():
        shutil.rmtree(root, ignore_errors=True)
        top = profile.top
        made = [_package(root, "slate", AssetKind.SLATE, "We'll be right back", profile,
                         slate_source(12, width=top.width, height=top.height, fps=profile.fps))]  # fmt: skip
        for index in range(clips):
            programme = demo_programme(index, clip_seconds, width=top.width, height=top.height, fps=profile.fps)
            made.append(
                _package(root, f"clip-{index}", AssetKind.PROGRAMME, programme.title, profile, programme.source)
            )
        _concatenate_top(root, profile, [a for a in made if a.kind == AssetKind.PROGRAMME])
        manifest.write_text(json.dumps([dataclasses.asdict(a) for a in made]))  # written last: the cache is complete
    assets = [LibraryAsset.from_json(a) for a in json.loads(manifest.read_text())]
    return Library(root=root, profile_name=profile_name, profile=profile, assets=assets)


def _package(root: Path, folder: str, kind: AssetKind, title: str, profile: Profile, source: Source) -> LibraryAsset:
    print(f"  making {folder} ({profile.top.width}x{profile.top.height}, {len(profile.renditions)} renditions)...",
          flush=True)  # fmt: skip
    packaged = package(source, profile, root / "assets" / folder)
    return LibraryAsset(kind=kind, title=title, folder=folder, renditions=packaged.renditions,
                        segment_durations_us=packaged.segment_durations_us)  # fmt: skip


def _concatenate_top(root: Path, profile: Profile, programmes: list[LibraryAsset]) -> None:
    """What the channel airs at its top rendition, as one file with continuous timestamps: the baseline's input."""
    listing = root / "airing.txt"
    lines = []
    for asset in programmes:
        for index in range(len(asset.segment_durations_us)):
            lines.append(f"file '{root / 'assets' / asset.folder / profile.top.name / (SEGMENT_PATTERN % index)}'")
    listing.write_text("\n".join(lines) + "\n")
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-f", "mpegts",
                str(root / "airing.ts")])  # fmt: skip


# ---- a data folder, its settings and the roles that air it --------------------------------


def open_station(library: Library, data_dir: Path, channels: list[str]) -> Runtime:
    """A fresh data folder whose database knows the library's assets (the files are linked, not copied)."""
    settings = load_settings(
        data_dir=data_dir,
        profiles={library.profile_name: library.profile},
        channels=[ChannelSettings(name=name, profile=library.profile_name) for name in channels],
        origin={"default_channel": channels[0]},
    )
    rt = Runtime.open(settings)
    (settings.media_dir / "assets").symlink_to(library.root / "assets", target_is_directory=True)
    with rt.db.session() as session:
        for asset in library.assets:
            packaged = Packaged(directory=settings.media_dir / "assets" / asset.folder,
                                renditions=asset.renditions,
                                segment_durations_us=asset.segment_durations_us)  # fmt: skip
            record_asset(session, packaged, media_dir=settings.media_dir, kind=asset.kind,
                         profile=library.profile_name, title=asset.title, now_us=rt.clock.now_us())  # fmt: skip
    return rt


def role_env(settings: Settings) -> dict[str, str]:
    """The same settings for `vvtv run ROLE`: the channels in a config file (thousands of them would not
    fit in one environment variable), the rest in the environment."""
    config = settings.data_dir / "channels.toml"
    tables = [f'[[channels]]\nname = "{c.name}"\nprofile = "{c.profile}"\n' for c in settings.channels]
    config.write_text("\n".join(tables))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VVTV_")}
    env.update(
        VVTV_CONFIG=str(config),
        VVTV_DATA_DIR=str(settings.data_dir),
        VVTV_PROFILES=json.dumps({n: p.model_dump(mode="json") for n, p in settings.profiles.items()}),
        VVTV_ORIGIN__DEFAULT_CHANNEL=settings.origin.default_channel,
    )
    return env


@contextmanager
def running(command: list[str], *, env: dict[str, str] | None, cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """A process for the length of the block, stopped by its PID (SIGTERM, then SIGKILL)."""
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=handle,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield process
    except BaseException:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- the last lines of {log}:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads, and the children it waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])  # fields 14-17 of proc(5)
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


@dataclass(kw_only=True)
class CpuFigure:
    cpu_s: float
    wall_s: float

    @property
    def percent_of_core(self) -> float:
        return 100 * self.cpu_s / self.wall_s


def measure_cpu(
    processes: list[subprocess.Popen], seconds: float, during: Callable[[float], None] | None = None
) -> list[CpuFigure]:
    """CPU figures of the processes over `seconds` of wall time; `during(deadline)` runs meanwhile."""
    started, before = time.monotonic(), [cpu_seconds(p.pid) for p in processes]
    deadline = started + seconds
    if during:
        during(deadline)
    time.sleep(max(deadline - time.monotonic(), 0))
    wall, after = time.monotonic() - started, [cpu_seconds(p.pid) for p in processes]
    for process in processes:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} during the measurement")
    return [CpuFigure(cpu_s=a - b, wall_s=wall) for a, b in zip(after, before)]


def wait_for(check: Callable[[], bool], what: str, processes: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.2)


# ---- 1. air time of one channel, and a live encoder's --------------------------------------


@dataclass(kw_only=True)
class AirTime:
    broadcaster: CpuFigure
    programmer: CpuFigure
    segments_published: int  # during the window: the channel was on the air

    @property
    def percent_of_core(self) -> float:
        return self.broadcaster.percent_of_core + self.programmer.percent_of_core


def air_time(library: Library, seconds: float, work: Path) -> AirTime:
    rt = open_station(library, work / "air-time", ["main"])
    env = role_env(rt.settings)
    playlist = rt.settings.media_dir / "channels" / "main" / f"{library.profile.top.name}.m3u8"
    with (
        running([VVTV, "run", "programmer"], env=env, cwd=work, log=work / "programmer.log") as programmer,
        running([VVTV, "run", "broadcaster"], env=env, cwd=work, log=work / "broadcaster.log") as broadcaster,
    ):
        roles = [broadcaster, programmer]
        wait_for(lambda: read_published(playlist) is not None, "the channel's first playlist", roles)
        time.sleep(1)  # past start-up: the programmer's first fill, the broadcaster's first reads
        first = read_published(playlist).newest_seq
        broadcaster_cpu, programmer_cpu = measure_cpu(roles, seconds)
        published = read_published(playlist).newest_seq - first
    rt.db.dispose()
    return AirTime(broadcaster=broadcaster_cpu, programmer=programmer_cpu, segments_published=published)


@dataclass(kw_only=True)
class LiveEncode:
    cpu: CpuFigure
    frames: int
    fps: int
    command: list[str]

    @property
    def speed(self) -> float:
        """Frames encoded per frame of real time: below 1 the machine (shared) could not keep up."""
        return self.frames / (self.fps * self.cpu.wall_s)

    @property
    def percent_for_real_time(self) -> float:
        """CPU per second of content encoded: what keeping up costs, even when it fell behind."""
        return 100 * self.cpu.cpu_s * self.fps / max(self.frames, 1)


def live_encode_args(library: Library, out: Path, progress: Path) -> list[str]:
    """A live re-encode of the channel's content at its top rendition, with the Factory's codec settings."""
    profile = library.profile
    return [
        "-hide_banner", "-nostdin", "-y", "-progress", str(progress),
        "-re", "-stream_loop", "-1", "-i", str(library.airing), "-map", "0:v:0", "-map", "0:a:0",
        *codec_args(profile), *rate_args(0, profile.top),
        "-f", "hls", "-hls_time", str(profile.segment_seconds), "-hls_list_size", "6",
        "-hls_flags", "delete_segments+independent_segments",
        "-hls_segment_filename", str(out / SEGMENT_PATTERN), str(out / "live.m3u8"),
    ]  # fmt: skip


def frames_done(progress: Path) -> int:
    lines = progress.read_text().splitlines() if progress.exists() else []
    return next((int(v) for k, _, v in (line.partition("=") for line in reversed(lines)) if k == "frame"), 0)


def live_encode(library: Library, seconds: float, work: Path) -> LiveEncode:
    out, progress = work / "live-encode", work / "live-encode.progress"
    out.mkdir()
    # The baseline is the very thing measured here, so the bench starts this ffmpeg itself (the one
    # exception to processing/ffmpeg.py starting every ffmpeg): it needs the bare process to read its CPU.
    command = [ffmpeg_binary(), *live_encode_args(library, out, progress)]
    with running(command, env=None, cwd=work, log=work / "live-encode.log") as encoder:
        wait_for(lambda: frames_done(progress) > 0, "the live encoder's first frames", [encoder], timeout=60)
        time.sleep(2)  # past its start-up
        first = frames_done(progress)
        (cpu,) = measure_cpu([encoder], seconds)
        frames = frames_done(progress) - first
    return LiveEncode(cpu=cpu, frames=frames, fps=library.profile.fps, command=command)


# ---- 2. how many channels one broadcaster keeps on time -----------------------------------


@dataclass(kw_only=True)
class OnTime:
    channels: int
    cpu: CpuFigure
    boundaries: int  # segment boundaries checked (the same instant for every channel)
    playlists_checked: int
    late: int  # playlists that did not list their new segment 1 s after its boundary
    lateness_ms: list[float]  # per playlist write checked: its mtime minus the boundary
    reported_max_ms: float | None  # the broadcaster's own figures (heartbeat), worst channel
    reported_p99_ms: float | None
    load_average: float  # the machine's, over the last minute of the window: others share it

    @property
    def max_ms(self) -> float | None:
        return max(self.lateness_ms) if self.lateness_ms else None

    @property
    def p99_ms(self) -> float | None:
        ordered = sorted(self.lateness_ms)
        return ordered[math.ceil(0.99 * len(ordered)) - 1] if ordered else None

    @property
    def on_time(self) -> bool:
        return self.boundaries > 0 and self.late == 0 and self.max_ms is not None and self.max_ms <= ON_TIME_US / 1000

    @property
    def percent_per_channel(self) -> float:
        return self.cpu.percent_of_core / self.channels


def write_timelines(rt: Runtime, start_us: int, until_us: int) -> Timeline:
    """Every channel airs the library's programmes in turn from the same instant; returns the (shared) timeline."""
    names = [c.name for c in rt.settings.channels]
    with rt.db.session() as session:
        schedule.ensure_channels(session, rt.settings, rt.clock.now_us())
        programmes = list(session.scalars(select(Asset).where(Asset.kind == AssetKind.PROGRAMME).order_by(Asset.id)))
        for name in names:
            end, turn = start_us, 0
            while end < until_us:
                entry = schedule.append_entry(session, name, programmes[turn % len(programmes)],
                                              kind=EntryKind.PROGRAMME, reason="bench", now_us=rt.clock.now_us(),
                                              start_us=start_us if turn == 0 else None)  # fmt: skip
                end, turn = entry.end_us, turn + 1
            schedule.bump_version(session, name)
    with rt.db.session() as session:
        return schedule.load_timeline(session, names[0], ending_after_us=start_us)


@dataclass(kw_only=True)
class Check:
    """After each boundary plus 1 s, every media playlist of every channel must list the segment it ended."""

    playlists: list[Path]
    timeline: Timeline
    boundaries: int = 0
    checked: int = 0
    late: int = 0
    lateness_ms: list[float] = dataclasses.field(default_factory=list)

    def run(self, from_us: int, deadline: float) -> None:
        """Check each boundary after from_us whose check falls before the monotonic deadline."""
        boundary = self.timeline.next_boundary_us(from_us)
        while boundary is not None:
            wait_s = (boundary + ON_TIME_US) / US - time.time()
            if time.monotonic() + wait_s > deadline:
                return
            time.sleep(max(wait_s, 0))
            self.check(boundary)
            boundary = self.timeline.next_boundary_us(boundary)

    def check(self, boundary_us: int) -> None:
        expected = self.timeline.window(boundary_us, 1)[0].seq
        self.boundaries += 1
        for path in self.playlists:
            published, mtime_ns = _read_steady(path)
            self.checked += 1
            if published is None or published.newest_seq < expected:
                self.late += 1
            elif published.newest_seq == expected:  # newer means the next boundary passed before this read
                self.lateness_ms.append((mtime_ns / 1000 - boundary_us) / 1000)


def _read_steady(path: Path) -> tuple[PublishedState | None, int]:
    """The playlist and its mtime from one and the same version of the file."""
    while True:
        before = path.stat().st_mtime_ns
        published = read_published(path)
        if path.stat().st_mtime_ns == before:
            return published, before


def channels_on_time(library: Library, count: int, seconds: float, work: Path) -> OnTime:
    names = [f"c{i:05d}" for i in range(count)]
    rt = open_station(library, work / f"channels-{count}", names)
    now = rt.clock.now_us()
    # Started in the past, so every playlist exists from the broadcaster's first tick; planned well past the window.
    timeline = write_timelines(rt, start_us=now - 20 * US, until_us=now + round((seconds + 300) * US))
    media = rt.settings.media_dir / "channels"
    playlists = [media / n / f"{r.name}.m3u8" for n in names for r in library.profile.renditions]
    check = Check(playlists=playlists, timeline=timeline)
    with running([VVTV, "run", "broadcaster"], env=role_env(rt.settings), cwd=work,
                 log=work / f"broadcaster-{count}.log") as broadcaster:  # fmt: skip
        wait_for(lambda: all(p.exists() for p in playlists), f"the playlists of {count} channels", [broadcaster])
        time.sleep(1)
        started_us = rt.clock.now_us()
        (cpu,) = measure_cpu([broadcaster], seconds, during=lambda deadline: check.run(started_us, deadline))
        reported = _heartbeat_after(rt, rt.clock.now_us(), broadcaster)
    rt.db.dispose()
    maxima = [c["lateness_max_ms"] for c in reported.values() if c.get("lateness_max_ms") is not None]
    p99s = [c["lateness_p99_ms"] for c in reported.values() if c.get("lateness_p99_ms") is not None]
    return OnTime(channels=count, cpu=cpu, boundaries=check.boundaries, playlists_checked=check.checked,
                  late=check.late, lateness_ms=check.lateness_ms, reported_max_ms=max(maxima, default=None),
                  reported_p99_ms=max(p99s, default=None), load_average=os.getloadavg()[0])  # fmt: skip


def _heartbeat_after(rt: Runtime, after_us: int, broadcaster: subprocess.Popen) -> dict:
    """The broadcaster's per-channel status from its first heartbeat after the window."""
    found: dict = {}

    def beat_arrived() -> bool:
        with rt.db.session() as session:
            beat = session.get(Heartbeat, "broadcaster")
            if beat is not None and beat.at_us > after_us:
                found.update(beat.data.get("channels", {}))
                return True
        return False

    wait_for(beat_arrived, "the broadcaster's heartbeat", [broadcaster], timeout=30)
    return found


# ---- the report -----------------------------------------------------------------------------


def describe_profile(name: str, profile: Profile) -> str:
    ladder = "/".join(r.name for r in profile.renditions)
    rates = "/".join(str(r.video_kbps) for r in profile.renditions)
    return f"profile {name}: {ladder} at {rates} kb/s, {profile.segment_seconds} s segments, x264 {profile.x264_preset}"


def air_time_report(vvtv: AirTime, baseline: LiveEncode, profile: Profile) -> list[str]:
    top = profile.top
    ratio = baseline.percent_for_real_time / max(vvtv.percent_of_core, 1e-9)
    return [
        f"  vvtv run broadcaster   {vvtv.broadcaster.cpu_s:7.2f} s CPU in {vvtv.broadcaster.wall_s:.1f} s"
        f"   {vvtv.broadcaster.percent_of_core:7.3f}% of a core",
        f"  vvtv run programmer    {vvtv.programmer.cpu_s:7.2f} s CPU in {vvtv.programmer.wall_s:.1f} s"
        f"   {vvtv.programmer.percent_of_core:7.3f}% of a core",
        f"  one VVTV channel                                  {vvtv.percent_of_core:7.3f}% of a core"
        f"   ({vvtv.segments_published} segments published meanwhile)",
        f"  live re-encode         {baseline.cpu.cpu_s:7.2f} s CPU in {baseline.cpu.wall_s:.1f} s"
        f"   {baseline.cpu.percent_of_core:7.1f}% of a core at {baseline.speed:.2f}x real time:"
        f" {baseline.percent_for_real_time:.1f}% of a core per second of content",
        f"    = ffmpeg -re -stream_loop -1 -i <the channel's {top.name}> -c:v libx264 -preset {profile.x264_preset}"
        f" {top.width}x{top.height} {top.video_kbps} kb/s capped, keyframes every {profile.keyframe_seconds} s,"
        f" AAC {top.audio_kbps} kb/s, live HLS",
        f"  ratio: a live encoder per channel spends {ratio:,.0f} times the CPU of a VVTV channel",
    ]


def _ms(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else "       -"


def on_time_header() -> list[str]:
    return [
        "  lateness = playlist mtime - segment boundary, as read by the bench; 'own' = the broadcaster's"
        " heartbeat, worst channel",
        "  channels  CPU %core  %core/channel  boundaries  playlists  late  max ms  p99 ms  own max  own p99"
        "  load  on time",
    ]


def on_time_row(result: OnTime) -> str:
    return (
        f"  {result.channels:8d}  {result.cpu.percent_of_core:9.2f}  {result.percent_per_channel:13.4f}"
        f"  {result.boundaries:10d}  {result.playlists_checked:9d}  {result.late:4d}"
        f"{_ms(result.max_ms)}{_ms(result.p99_ms)} {_ms(result.reported_max_ms)} {_ms(result.reported_p99_ms)}"
        f"  {result.load_average:4.1f}  {'yes' if result.on_time else 'NO'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each measurement window")
    parser.add_argument("--channels", default="100,200,400,800,1600,3200",
                        help="channel counts to try in turn, stopping at the first that is not on time")  # fmt: skip
    parser.add_argument("--clips", type=int, default=2, help="programmes every channel airs in turn")
    parser.add_argument("--clip-seconds", type=int, default=30)
    parser.add_argument("--skip-air-time", action="store_true")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the assets are kept between runs")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.channels.split(",") if n.strip()]

    profile_name, profile = "broadcast", Profile()  # the default mode
    print(f"Broadcaster benchmark, {datetime.date.today()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start; {describe_profile(profile_name, profile)}")  # fmt: skip
    print(f"Assets: {args.clips} x {args.clip_seconds} s programmes and the slate (made once, kept in {args.cache})")
    library = make_library(args.cache, profile_name, profile, clips=args.clips, clip_seconds=args.clip_seconds)
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-") as temp:
        work = Path(temp)
        if not args.skip_air_time:
            print(f"\n1. Air time of one channel over {args.seconds:.0f} s, next to a live encoder of the same content")
            vvtv = air_time(library, args.seconds, work)
            baseline = live_encode(library, args.seconds, work)
            print("\n".join(air_time_report(vvtv, baseline, profile)), flush=True)
        print(f"\n2. Channels one broadcaster keeps on time (every playlist lists its new segment within "
              f"{ON_TIME_US / US:.0f} s of the boundary),")
        print(f"   every boundary coinciding, {args.seconds:.0f} s each")
        print(*on_time_header(), sep="\n", flush=True)
        largest = None
        for count in counts:
            result = channels_on_time(library, count, args.seconds, work)
            print(on_time_row(result), flush=True)
            if not result.on_time:
                break
            largest = count
        print(f"  largest number of channels on time: {largest if largest is not None else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
