"""The Broadcaster role: publishes every channel's live playlists at each segment boundary.

It encodes nothing. On every tick it computes each channel's window from the
timeline and the time, and writes the media playlists atomically; the origin
serves them as static files. Nothing in memory is authoritative, so a killed
broadcaster resumes the same stream when it starts again.

The database is read (and the heartbeat written) by a thread of its own: the playlists
are written from the timelines last read, so a database that is slow, locked or down
never holds a boundary up, and the channel plays on through what was already scheduled
until it answers again.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from vvtv.broadcast import schedule
from vvtv.broadcast.playlists import ORIGIN_MEDIA, VariantStream, master_playlist, media_playlist, write_atomically
from vvtv.broadcast.slate import ensure_slate
from vvtv.broadcast.timeline import Timeline, lookback_us
from vvtv.clock import US, Clock
from vvtv.config import Profile
from vvtv.runtime import DatabaseOutage, Runtime
from vvtv.storage.objects import live_media_base

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
# Stands for the rendition's name in a media playlist shared by every rendition; a path never holds NUL.
RENDITION_SLOT = "\x00"
# Publishes kept per channel for the lateness percentile: about an hour of 4 s segments.
LATENESS_SAMPLES = 900


@dataclass(kw_only=True)
class Lateness:
    """How long after its segment boundary each playlist write was done.

    The worst over the process's life, and the 99th percentile over the
    recent writes, so memory stays bounded however long a channel runs.
    """

    count: int = 0
    max_us: int = 0
    recent_us: deque[int] = field(default_factory=lambda: deque(maxlen=LATENESS_SAMPLES))
    _p99: tuple[int, int | None] = field(default=(0, None), init=False, repr=False)  # (count, p99) last computed

    def add(self, lateness_us: int) -> None:
        self.count += 1
        self.max_us = max(self.max_us, lateness_us)
        self.recent_us.append(lateness_us)

    def p99_us(self) -> int | None:
        # Computed for the heartbeat, not per write, and only when there is something new.
        if self._p99[0] != self.count:
            ordered = sorted(self.recent_us)
            self._p99 = (self.count, ordered[math.ceil(0.99 * len(ordered)) - 1] if ordered else None)
        return self._p99[1]


@dataclass(kw_only=True)
class ChannelPlayout:
    """One channel's playlists on disk, and what was last written to them."""

    name: str
    profile: Profile
    directory: Path
    variants: list[VariantStream]
    window_size: int
    clock: Clock
    media_base: str = ORIGIN_MEDIA
    timeline: Timeline = field(default_factory=lambda: Timeline([]))
    version: int = -1
    last_seq: int | None = None  # newest published segment
    last_write_us: int | None = None
    segments_published: int = 0
    lateness: Lateness = field(default_factory=Lateness)

    @cached_property
    def media_paths(self) -> list[Path]:
        return [self.directory / variant.uri for variant in self.variants]

    @property
    def lookback_us(self) -> int:
        return lookback_us(self.window_size, self.profile.segment_seconds)

    def write_masters(self, media_dir: Path, default: bool) -> None:
        write_atomically(self.directory / "live.m3u8", master_playlist(self.variants))
        if default:
            write_atomically(media_dir / "live.m3u8", master_playlist(self.variants, prefix=f"channels/{self.name}/"))

    def publish(self, now_us: int) -> bool:
        """Write the media playlists if a segment was published since the last write."""
        window = self.timeline.window(now_us, self.window_size)
        if not window or window[-1].seq == self.last_seq:
            return False
        # Renditions differ only in the folder their segments are in: render once, fill it in per rendition.
        text = media_playlist(window, rendition=RENDITION_SLOT, target_duration_s=self.profile.segment_seconds,
                              media_base=self.media_base)  # fmt: skip
        for variant, path in zip(self.variants, self.media_paths):
            write_atomically(path, text.replace(RENDITION_SLOT, variant.name))
        if self.last_seq is not None:
            self.segments_published += max(window[-1].seq - self.last_seq, 0)
            # Measured from the first boundary this write catches up with, so a missed one counts.
            # The first write after start is not measured: its boundary passed before this process ran.
            due = next((s for s in window if s.seq > self.last_seq), window[-1])
            self.lateness.add(self.clock.now_us() - due.end_us)
        self.last_seq = window[-1].seq
        self.last_write_us = now_us
        return True


def variants_for(slate_renditions: list[dict], profile: Profile) -> list[VariantStream]:
    """The channel's variants; codecs come from the slate, made to the same profile as every asset."""
    by_name = {r["name"]: r for r in slate_renditions}
    return [
        VariantStream(
            name=r.name,
            width=by_name[r.name]["width"],
            height=by_name[r.name]["height"],
            bandwidth=by_name[r.name]["bandwidth"],
            codecs=by_name[r.name]["codecs"],
            fps=profile.fps,
        )
        for r in profile.renditions
    ]


class Broadcaster:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # Between the publishing loop and the database reader (run): rounds done, what was published,
        # and a timeline changed.
        self.rounds = 0
        self.published: dict[str, dict] = {}
        self.changed = threading.Event()
        settings = rt.settings
        with rt.db.session() as session:
            schedule.ensure_channels(session, settings, rt.clock.now_us())
        self.playouts: list[ChannelPlayout] = []
        for channel in settings.channels:
            profile = settings.profiles[channel.profile]
            slate = ensure_slate(rt, channel.profile)
            playout = ChannelPlayout(
                name=channel.name,
                profile=profile,
                directory=settings.media_dir / "channels" / channel.name,
                variants=variants_for(slate.renditions, profile),
                window_size=settings.broadcaster.window_segments,
                clock=rt.clock,
                media_base=live_media_base(settings.storage),
            )
            playout.write_masters(settings.media_dir, default=channel.name == settings.origin.default_channel)
            self.playouts.append(playout)

    def refresh(self, now_us: int) -> None:
        """Re-read the timelines that changed since they were last read."""
        with self.rt.db.session() as session:
            versions = schedule.timeline_versions(session)
            for playout in self.playouts:
                version = versions.get(playout.name, 0)
                if version != playout.version:
                    playout.timeline = schedule.load_timeline(
                        session, playout.name, ending_after_us=now_us - playout.lookback_us
                    )
                    playout.version = version
                    self.changed.set()

    def tick(self, now_us: int) -> int:
        return sum(playout.publish(now_us) for playout in self.playouts)

    def next_wake_us(self, now_us: int) -> int:
        boundaries = [b for p in self.playouts if (b := p.timeline.next_boundary_us(now_us)) is not None]
        poll = now_us + round(self.rt.settings.broadcaster.poll_seconds * US)
        return min([poll, *boundaries])

    def status(self) -> dict:
        return {
            p.name: {
                "last_seq": p.last_seq,
                "last_write_us": p.last_write_us,
                "segments_published": p.segments_published,
                "timeline_version": p.version,
                "lateness_samples": p.lateness.count,
                "lateness_max_ms": _ms(p.lateness.max_us) if p.lateness.count else None,
                "lateness_p99_ms": _ms(p.lateness.p99_us()),
            }
            for p in self.playouts
        }


def _ms(us: int | None) -> float | None:
    return None if us is None else round(us / 1000, 1)


def read_database(rt: Runtime, broadcaster: Broadcaster, started: int, outage: DatabaseOutage) -> None:
    """The reader thread: timelines in, heartbeat out, every poll; a database failure is waited out."""
    next_heartbeat, rounds_at_heartbeat = 0, -1
    while not rt.stop.wait(rt.settings.broadcaster.poll_seconds):
        if not outage.due():
            continue
        try:
            now = rt.clock.now_us()
            broadcaster.refresh(now)
            # Only while the publishing loop goes round: a stuck one must look hung to the supervisor.
            if now >= next_heartbeat and broadcaster.rounds != rounds_at_heartbeat:
                rounds_at_heartbeat = broadcaster.rounds
                rt.heartbeat("broadcaster", started, channels=broadcaster.published)
                next_heartbeat = now + round(HEARTBEAT_SECONDS * US)
            outage.answered()
        except Exception as exc:  # noqa: BLE001 - whatever the database says: the playlists go on from memory
            outage.failed(exc)
    broadcaster.changed.set()  # so the publishing loop sees the stop at once


def run(rt: Runtime) -> None:
    started = rt.clock.now_us()
    broadcaster = Broadcaster(rt)
    broadcaster.refresh(started)  # here, so the first playlists are written at once
    reader = threading.Thread(target=read_database, name="database-reader", daemon=True,
                              args=(rt, broadcaster, started, DatabaseOutage(rt=rt, role="broadcaster")))  # fmt: skip
    reader.start()
    while not rt.stop.is_set():
        if broadcaster.tick(rt.clock.now_us()) or broadcaster.rounds == 0:
            broadcaster.published = broadcaster.status()  # made here: the reader thread only sends it
        broadcaster.rounds += 1
        # Wake just after the next segment boundary, so playlists change within milliseconds of it,
        # or when the reader brings a changed timeline.
        wake = broadcaster.next_wake_us(rt.clock.now_us())
        broadcaster.changed.wait(max((wake - rt.clock.now_us()) / US + 0.002, 0.001))
        broadcaster.changed.clear()
