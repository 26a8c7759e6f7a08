"""Is every channel live? Judged from its playlists on disk, the way a viewer would see it.

The Broadcaster rewrites each channel's media playlists at least once per
segment, so a playlist older than a couple of segment durations means the
channel has stopped moving, whatever any process believes. /healthz answers
503 then, so a load balancer can take this origin out of rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vvtv.clock import US, Clock
from vvtv.config import Settings

MEDIA_SEQUENCE_TAG = "#EXT-X-MEDIA-SEQUENCE:"


@dataclass(kw_only=True)
class ChannelHealth:
    ok: bool
    # Age of the stalest media playlist of the channel; None when one is missing.
    playlist_age_s: float | None
    max_age_s: float
    media_sequence: int | None
    problem: str = ""


@dataclass(kw_only=True)
class Health:
    channels: dict[str, ChannelHealth] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(channel.ok for channel in self.channels.values())

    @property
    def status(self) -> str:
        return "ok" if self.ok else "stale"


def check_health(settings: Settings, clock: Clock) -> Health:
    now_us = clock.now_us()
    health = Health()
    for channel in settings.channels:
        profile = settings.profile_for(channel.name)
        folder = settings.media_dir / "channels" / channel.name
        playlists = [folder / f"{rendition.name}.m3u8" for rendition in profile.renditions]
        max_age_s = settings.origin.stale_segments * profile.segment_seconds
        health.channels[channel.name] = _channel_health(playlists, now_us, max_age_s)
    return health


def _channel_health(playlists: list[Path], now_us: int, max_age_s: float) -> ChannelHealth:
    ages = []
    for playlist in playlists:
        try:
            modified_us = playlist.stat().st_mtime_ns // 1000
        except OSError:
            return ChannelHealth(
                ok=False, playlist_age_s=None, max_age_s=max_age_s, media_sequence=None,
                problem=f"no playlist {playlist.name}",
            )  # fmt: skip
        ages.append(max(now_us - modified_us, 0) / US)
    age = max(ages)
    fresh = age <= max_age_s
    return ChannelHealth(
        ok=fresh,
        playlist_age_s=round(age, 3),
        max_age_s=max_age_s,
        media_sequence=_media_sequence(playlists[0]),
        problem="" if fresh else f"playlist not updated for {age:.1f} s",
    )


def _media_sequence(playlist: Path) -> int | None:
    try:
        text = playlist.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(MEDIA_SEQUENCE_TAG):
            value = line.removeprefix(MEDIA_SEQUENCE_TAG).strip()
            return int(value) if value.isdigit() else None
    return None
