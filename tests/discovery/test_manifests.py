"""What the curator reads from the manifests an MSE player fetched: variants, the one played, liveness."""

from __future__ import annotations

from vvtv.discovery.manifests import Variant, live_reason, played_variant, variants

MASTER = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
360p/index.m3u8?token=a
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,FRAME-RATE=25.000
https://cdn.example/v/1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=yes,RESOLUTION=tall
broken/index.m3u8
"""


def test_variants_are_read_with_urls_resolved_and_bad_attributes_left_unknown() -> None:
    found = variants(MASTER, "https://example.org/v/master.m3u8")
    assert found == [
        Variant(url="https://example.org/v/360p/index.m3u8?token=a", width=640, height=360, bandwidth=800000),
        Variant(url="https://cdn.example/v/1080p/index.m3u8", width=1920, height=1080, bandwidth=5000000),
        Variant(url="https://example.org/v/broken/index.m3u8"),
    ]
    assert variants("#EXTM3U\n#EXTINF:4,\nseg0.ts\n", "https://example.org/v/media.m3u8") == []


def test_the_variant_played_is_the_last_one_the_player_asked_for() -> None:
    low, high, _ = variants(MASTER, "https://example.org/v/master.m3u8")
    asked = ["https://example.org/v/master.m3u8", low.url, "https://example.org/v/360p/seg0.ts", high.url,
             "https://cdn.example/v/1080p/seg1.ts"]  # fmt: skip
    assert played_variant([low, high], asked) == high  # switched up after the first segment
    assert played_variant([low, high], asked[:3]) == low
    assert played_variant([low, high], ["https://elsewhere/x.m3u8"]) is None


def test_a_playlist_without_endlist_or_a_dynamic_mpd_is_live() -> None:
    vod = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg0.ts\n#EXT-X-ENDLIST\n"
    assert live_reason(vod, "hls") is None
    assert live_reason(vod.replace("#EXT-X-ENDLIST\n", ""), "hls") == "its HLS playlist has no EXT-X-ENDLIST"
    assert live_reason(MASTER, "hls") is None  # a master says nothing about liveness; its variants do
    assert live_reason("", "hls") is None  # unread: not called live on no evidence
    assert live_reason('<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">', "dash") == (
        'its DASH manifest is of type "dynamic"'
    )
    assert live_reason('<MPD type="static" mediaPresentationDuration="PT12S">', "dash") is None
