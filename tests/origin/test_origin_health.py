"""check_health: a channel is healthy while its media playlists are younger than ~2 segments."""

from __future__ import annotations

import os
from pathlib import Path

from origin_support import PROFILE, origin_settings

from vvtv.clock import US, FakeClock
from vvtv.config import Settings
from vvtv.origin.health import check_health


def write_playlists(settings: Settings, channel: str, *, modified_us: int, media_sequence: int = 7) -> None:
    folder = settings.media_dir / "channels" / channel
    folder.mkdir(parents=True, exist_ok=True)
    for rendition in PROFILE.renditions:
        path = folder / f"{rendition.name}.m3u8"
        path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{media_sequence}\n")
        os.utime(path, ns=(modified_us * 1000, modified_us * 1000))


def test_fresh_playlists_are_healthy(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = origin_settings(tmp_path)
    for channel in ("main", "second"):
        write_playlists(settings, channel, modified_us=clock.now_us() - 1 * US)
    health = check_health(settings, clock)
    assert health.ok and health.status == "ok"
    main = health.channels["main"]
    assert main.playlist_age_s == 1.0
    assert main.max_age_s == settings.origin.stale_segments * PROFILE.segment_seconds
    assert main.media_sequence == 7
    assert main.problem == ""


def test_a_channel_whose_playlists_stop_moving_turns_stale(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = origin_settings(tmp_path)
    for channel in ("main", "second"):
        write_playlists(settings, channel, modified_us=clock.now_us())
    limit_s = settings.origin.stale_segments * PROFILE.segment_seconds
    clock.advance(limit_s)
    assert check_health(settings, clock).ok, "exactly at the limit is still fresh"
    clock.advance(0.5)
    health = check_health(settings, clock)
    assert not health.ok and health.status == "stale"
    assert health.channels["main"].problem == f"playlist not updated for {limit_s + 0.5:.1f} s"
    # The Broadcaster writes again: fresh again.
    write_playlists(settings, "main", modified_us=clock.now_us())
    write_playlists(settings, "second", modified_us=clock.now_us())
    assert check_health(settings, clock).ok


def test_the_stalest_rendition_decides(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = origin_settings(tmp_path, channels=[{"name": "main", "profile": "tiny"}])
    write_playlists(settings, "main", modified_us=clock.now_us())
    old = settings.media_dir / "channels" / "main" / f"{PROFILE.renditions[-1].name}.m3u8"
    stale_us = clock.now_us() - 60 * US
    os.utime(old, ns=(stale_us * 1000, stale_us * 1000))
    health = check_health(settings, clock)
    assert not health.ok
    assert health.channels["main"].playlist_age_s == 60.0


def test_a_missing_playlist_is_unhealthy_and_named(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = origin_settings(tmp_path)
    write_playlists(settings, "main", modified_us=clock.now_us())
    health = check_health(settings, clock)
    assert health.channels["main"].ok
    second = health.channels["second"]
    assert not second.ok and second.playlist_age_s is None
    assert second.problem == f"no playlist {PROFILE.renditions[0].name}.m3u8"
    assert health.status == "stale"
