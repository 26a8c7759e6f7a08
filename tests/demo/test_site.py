"""The demo video site, as `vvtv demo-site --port 0` serves it, checked over HTTP and with ffprobe."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
import pytest
from demosite import DemoSite, demo_site  # noqa: F401 - the shared session fixture

from vvtv.demo.site_media import CATALOGUE, MediaKind, PageKind
from vvtv.errors import InputError
from vvtv.processing.ffmpeg import probe


def get(site: DemoSite, path: str) -> httpx.Response:
    return httpx.get(urljoin(site.url, path), timeout=10)


def test_search_pages_through_every_video_three_at_a_time(demo_site: DemoSite) -> None:
    seen, path = [], "/search?q=creative+commons+music"
    while path:
        page = get(demo_site, path).text
        seen += re.findall(r'<h2><a href="([^"]+)"', page)
        found = re.search(r'<a rel="next" href="([^"]+)"', page)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [v.watch_path for v in CATALOGUE]
    assert "No videos found" in get(demo_site, "/search?q=zzzz").text


def test_robots_txt_disallows_the_members_area(demo_site: DemoSite) -> None:
    assert get(demo_site, "/robots.txt").text == "User-agent: *\nDisallow: /members/\n"


@pytest.mark.parametrize("video", [v for v in CATALOGUE if v.page is not PageKind.MEMBERS], ids=lambda v: v.slug)
def test_every_video_page_has_its_player_and_markup(demo_site: DemoSite, video) -> None:  # noqa: ANN001
    page = get(demo_site, video.watch_path).text
    assert f'<meta property="og:title" content="{video.title}">' in page
    player = {
        PageKind.PLAIN: f'<video id="player" src="/media/{video.media_path}"',
        PageKind.SOURCES: f'<source src="/media/{video.media_path}" type="video/mp4">',
        PageKind.CLICK: f'<div class="click-player" data-src="/media/{video.media_path}"',
        PageKind.HLS: '<script src="/static/hls.min.js"></script>',
        PageKind.IFRAME: f'<iframe src="/embed/{video.slug}"',
    }[video.page]
    assert player in page
    assert "/static/events.js" in page


def test_the_embed_and_the_scripts_are_served(demo_site: DemoSite) -> None:
    assert '<video src="/media/forest-birds.mp4"' in get(demo_site, "/embed/forest-birds").text
    assert "Hls" in get(demo_site, "/static/hls.min.js").text
    assert "sendBeacon" in get(demo_site, "/static/events.js").text


@pytest.mark.parametrize("video", CATALOGUE, ids=lambda v: v.slug)
def test_the_media_are_what_each_page_promises(demo_site: DemoSite, video) -> None:  # noqa: ANN001
    url = urljoin(demo_site.url, f"/media/{video.media_path}")
    if video.media is MediaKind.BROKEN:
        with pytest.raises(InputError, match="not a readable media file"):
            probe(url, protocols="http,tcp")
        return
    streams = probe(url, protocols="http,tcp")["streams"]
    picture = next(s for s in streams if s["codec_type"] == "video")
    assert (picture["width"], picture["height"]) == video.size
    assert any(s["codec_type"] == "audio" for s in streams)


def test_media_answer_range_requests(demo_site: DemoSite) -> None:
    partial = httpx.get(urljoin(demo_site.url, "/media/ocean-waves.mp4"), headers={"Range": "bytes=0-99"}, timeout=10)
    assert partial.status_code == 206 and len(partial.content) == 100


def test_the_request_log_and_event_log_record_what_happened(demo_site: DemoSite) -> None:
    get(demo_site, "/about?from=test")
    assert "/about?from=test" in demo_site.requests()
    batch = {"page": "/about", "time_origin": 0, "events": [{"type": "keydown", "t": 1.0, "key": "a"}]}
    assert httpx.post(f"{demo_site.url}__events", json=batch, timeout=5).status_code == 204
    assert batch in demo_site.events()
