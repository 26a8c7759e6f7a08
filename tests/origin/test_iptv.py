"""/channels.m3u and /epg.xml from the real origin: what IPTV apps (Jellyfin, Plex, Kodi, TiviMate) read.

The guide is validated with lxml against the XMLTV DTD shipped in the package,
with a scraped title that tries to break out of its element.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from lxml import etree
from catalogue import lay_out
from origin_support import origin_settings, start_origin

from vvtv.clock import US
from vvtv.origin.iptv import XMLTV_DTD, xmltv_time
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind

HOSTILE = 'Tom & "Jerry" </title><script>alert(1)</script>\x00\x1b\ufffe ]]> <!-- , end'
SEGMENT_US = 2 * US
EXTINF = re.compile(r'^#EXTINF:-1 (?P<attributes>(?:[a-z-]+="[^"]*" ?)+),(?P<name>[^\n]+)$')


def add_asset(rt: Runtime, title: str, *, segments: int, description: str = "", tags: list[str] | None = None,
              poster: str | None = None, kind: AssetKind = AssetKind.PROGRAMME) -> Asset:  # fmt: skip
    """An Asset row only: the list and the guide read the schedule, never the media files."""
    now = rt.clock.now_us()
    with rt.db.session() as session:
        asset = Asset(
            kind=kind, status=AssetStatus.READY, profile="tiny", title=title, description=description,
            tags=tags or [], path=f"assets/{len(title)}-{now}", renditions=[],
            segment_durations_us=[SEGMENT_US] * segments, duration_us=SEGMENT_US * segments,
            poster=poster, created_at_us=now, ready_at_us=now,
        )  # fmt: skip
        session.add(asset)
    return asset


def test_channel_list_and_guide_for_iptv_apps(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0})
    rt = Runtime.open(settings)
    now = rt.clock.now_us()
    aired = add_asset(rt, "Long ago", segments=3)
    hostile = add_asset(rt, HOSTILE, segments=600, description="Line one\nline <two> & three\x07",
                        tags=["music", "<b>bold</b>", "music"], poster="assets/x/poster one.jpg")  # fmt: skip
    slate = add_asset(rt, "We'll be right back", segments=3, kind=AssetKind.SLATE)
    # The first entry ended long before any live window; the hostile one is on air, then the slate.
    lay_out(rt, "main", now - 10 * 60 * US, [(aired, EntryKind.PROGRAMME)])
    lay_out(rt, "main", now - 60 * US, [(hostile, EntryKind.PROGRAMME), (slate, EntryKind.EMERGENCY)])
    lay_out(rt, "second", now - 10 * US, [(slate, EntryKind.EMERGENCY)])
    origin = start_origin(settings)
    try:
        m3u = httpx.get(origin.url + "/channels.m3u", timeout=10)
        epg = httpx.get(origin.url + "/epg.xml", timeout=10)
        logo = httpx.get(origin.url + "/static/logo.png", timeout=10)
    finally:
        assert origin.stop() == 0
        rt.db.dispose()

    assert m3u.status_code == 200 and m3u.headers["content-type"].startswith("audio/x-mpegurl")
    lines = m3u.text.splitlines()
    assert lines[0] == f'#EXTM3U x-tvg-url="{origin.url}/epg.xml"'
    listed = []
    for extinf, url in zip(lines[1::2], lines[2::2]):
        match = EXTINF.match(extinf)
        assert match, extinf
        attributes = dict(re.findall(r'([a-z-]+)="([^"]*)"', match["attributes"]))
        listed.append((attributes, match["name"], url))
    assert listed == [
        ({"tvg-id": "main.vvtv", "tvg-name": "VVTV test", "tvg-logo": f"{origin.url}/static/logo.png",
          "group-title": "VVTV"}, "VVTV test", f"{origin.url}/channels/main/live.m3u8"),
        ({"tvg-id": "second.vvtv", "tvg-name": "VVTV second", "tvg-logo": f"{origin.url}/static/logo.png",
          "group-title": "VVTV"}, "VVTV second", f"{origin.url}/channels/second/live.m3u8"),
    ]  # fmt: skip
    assert logo.status_code == 200 and logo.content[:8] == b"\x89PNG\r\n\x1a\n"

    assert epg.status_code == 200 and epg.headers["content-type"].startswith("application/xml")
    document = etree.fromstring(epg.content, etree.XMLParser(resolve_entities=False, no_network=True))
    dtd = etree.DTD(str(XMLTV_DTD))
    assert dtd.validate(document), dtd.error_log.filter_from_errors()
    assert epg.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">')
    assert b"<script>" not in epg.content

    channels = {c.get("id"): c.findtext("display-name") for c in document.iter("channel")}
    assert channels == {"main.vvtv": "VVTV test", "second.vvtv": "VVTV second"}
    programmes = [
        (p.get("channel"), p.get("start"), p.get("stop"), p.findtext("title"), p.findtext("desc"),
         [c.text for c in p.findall("category")], [i.get("src") for i in p.findall("icon")])
        for p in document.iter("programme")
    ]  # fmt: skip
    start = now - 60 * US
    stop = start + 600 * SEGMENT_US
    assert programmes == [
        ("main.vvtv", xmltv_time(start), xmltv_time(stop),
         'Tom & "Jerry" </title><script>alert(1)</script> ]]> <!-- , end', "Line one\nline <two> & three",
         ["music", "<b>bold</b>"], [f"{origin.url}/assets/x/poster%20one.jpg"]),
        ("main.vvtv", xmltv_time(stop), xmltv_time(stop + 3 * SEGMENT_US), "We'll be right back", None,
         ["slate"], []),
        ("second.vvtv", xmltv_time(now - 10 * US), xmltv_time(now - 10 * US + 3 * SEGMENT_US),
         "We'll be right back", None, ["slate"], []),
    ]  # fmt: skip
    assert re.fullmatch(r"\d{14} \+0000", xmltv_time(now))


def test_public_url_is_written_into_the_list(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0, "public_url": "https://tv.example.org/live"})
    rt = Runtime.open(settings)
    origin = start_origin(settings)
    try:
        m3u = httpx.get(origin.url + "/channels.m3u", timeout=10).text
    finally:
        assert origin.stop() == 0
        rt.db.dispose()
    assert m3u.splitlines()[:3] == [
        '#EXTM3U x-tvg-url="https://tv.example.org/live/epg.xml"',
        '#EXTINF:-1 tvg-id="main.vvtv" tvg-name="VVTV test" tvg-logo="https://tv.example.org/live/static/logo.png" '
        'group-title="VVTV",VVTV test',
        "https://tv.example.org/live/channels/main/live.m3u8",
    ]
