"""The playback verdicts and the media URL taken from the network log."""

from __future__ import annotations

import pytest

from vvtv.config import DiscoverySettings
from vvtv.discovery.browser import NetworkRecord
from vvtv.discovery.playback import PlaybackReport, media_from_network, shortfall

STANDARD = DiscoverySettings(min_height=720, min_advance_ratio=0.75, max_stalls=1, max_dropped_ratio=0.2)
SMOOTH = {"played": True, "started_by": "click", "width": 1280, "height": 720, "watched_s": 4.0, "advanced_s": 3.9,
          "total_frames": 100, "dropped_frames": 1}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"played": False, "error": "media error 4: DEMUXER_ERROR"}, "the video did not play (media error 4: DEMUXER_ERROR)"),
        ({"played": False}, "the video did not play (currentTime never advanced)"),
        ({"width": 640, "height": 360}, "below HD: played at 640x360, the minimum is 720 lines"),
        ({"advanced_s": 1.0}, "not smooth: currentTime advanced 1.0 s in 4.0 s (25%, the minimum is 75%)"),
        ({"stalls": 3}, "not smooth: 3 stalls in 4.0 s (at most 1)"),
        ({"dropped_frames": 40}, "not smooth: 40 of 100 frames dropped (at most 20%)"),
    ],
)
def test_shortfall_names_the_measured_reason(changes: dict, reason: str | None) -> None:
    assert shortfall(PlaybackReport(**{**SMOOTH, **changes}), STANDARD) == reason


def record(url: str, kind: str, content_type: str = "") -> NetworkRecord:
    return NetworkRecord(url=url, resource_type=kind, status=200, content_type=content_type)


def test_the_first_manifest_is_the_media_url_of_a_stream() -> None:
    network = [
        record("https://x/page", "document", "text/html"),
        record("https://x/hls.min.js", "script", "text/javascript"),
        record("https://cdn.x/v/master.m3u8?token=1", "xhr", "application/vnd.apple.mpegurl"),
        record("https://cdn.x/v/720p.m3u8", "xhr", "application/vnd.apple.mpegurl"),
        record("https://cdn.x/v/seg1.ts", "xhr", "video/mp2t"),
    ]
    assert media_from_network(network, "blob:https://x/abc") == ("https://cdn.x/v/master.m3u8?token=1", "hls")
    dash = [record("https://x/manifest.mpd", "fetch", "application/dash+xml")]
    assert media_from_network(dash, "blob:https://x/abc") == ("https://x/manifest.mpd", "dash")


def test_a_progressive_file_is_the_media_request_the_video_played() -> None:
    network = [
        record("https://x/trailer.mp4", "media", "video/mp4"),
        record("https://x/feature.mp4", "media", "video/mp4"),
    ]
    assert media_from_network(network, "https://x/feature.mp4") == ("https://x/feature.mp4", "progressive")
    assert media_from_network(network, "https://elsewhere/redirected.mp4") == ("https://x/trailer.mp4", "progressive")
    assert media_from_network([record("https://x/a.css", "stylesheet")], "") == (None, None)


def test_the_segments_of_a_stream_are_never_taken_for_a_progressive_file() -> None:
    network = [
        record("https://x/seg_000.ts", "xhr", "video/mp2t"),
        record("https://x/chunk-1.m4s", "fetch", "video/iso.segment"),
        record("https://x/init.m4s", "fetch", "video/mp4"),
    ]
    assert media_from_network(network, "blob:https://x/abc") == (None, None)
