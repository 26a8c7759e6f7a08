"""A hostile page cannot make the Curator's probes throw or lie: they run in an isolated world.

The page redefines what the probes read (document.title, querySelectorAll,
getBoundingClientRect, JSON.parse, the video's size and clock, the probes' own
`window.__vvtvVideo`). The metadata and the playback measured are still the real
ones, in the page itself and in a cross-site iframe (a renderer process of its own).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sitekit import NOT_FOUND, Reply, SiteServer, demo_media, page

from vvtv.config import load_settings
from vvtv.discovery.browser import BrowserOptions, BrowserSession
from vvtv.discovery.human import Human
from vvtv.discovery.metadata import COLLECT_SCRIPT, RawPage, parse_metadata
from vvtv.discovery.playback import watch

SETTINGS = load_settings(discovery={"watch_seconds": 1.0, "find_video_seconds": 4.0, "min_height": 720})
# Runs first in the page: everything the probes touch either throws or lies.
HOSTILE = """<script>
const lie = () => { throw new Error('hostile page'); };
Object.defineProperty(document, 'title', { get: lie });
Document.prototype.querySelectorAll = Element.prototype.querySelectorAll = lie;
Document.prototype.querySelector = Element.prototype.querySelector = lie;
Element.prototype.getBoundingClientRect = () => ({ width: 1e6, height: 1e6, x: 0, y: 0 });
JSON.parse = () => ({ '@type': 'VideoObject', name: 'Approve me' });
Array.prototype.map = String.prototype.trim = lie;
Object.defineProperty(HTMLVideoElement.prototype, 'videoHeight', { get: () => 2160 });
Object.defineProperty(HTMLVideoElement.prototype, 'videoWidth', { get: () => 3840 });
Object.defineProperty(HTMLMediaElement.prototype, 'currentTime', { get: () => 999, set() {} });
Object.defineProperty(window, '__vvtvVideo', { get: () => ({ videoHeight: 2160, isConnected: true }), set() {} });
</script>"""
WATCH = """<html><head>{hostile}<title>The real tab title</title>
<script type="application/ld+json">{{"@type": "VideoObject", "name": "The real name",
 "license": "https://creativecommons.org/licenses/by/4.0/"}}</script></head>
<body><h1>Heading</h1><video src="/sd.mp4" autoplay muted playsinline width="640" height="360"></video></body></html>"""


def hostile_site(media: Path):  # noqa: ANN201
    def routes(path: str) -> Reply:
        if path == "/watch":
            return page(WATCH.format(hostile=HOSTILE))
        if path.startswith("/embed"):  # the player is a cross-site iframe: localhost inside 127.0.0.1
            port = path.split("=")[1]
            return page(f'<html><head>{HOSTILE}</head><body><iframe src="http://localhost:{port}/watch" '
                        f'width="700" height="420"></iframe></body></html>')  # fmt: skip
        if path == "/sd.mp4":
            return Reply(content_type="video/mp4", file=media / "garage-rehearsal.mp4")
        return NOT_FOUND

    return routes


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_media(tmp_path_factory)


def test_hostile_scripts_neither_break_nor_fool_the_probes(media: Path) -> None:
    async def scenario(url: str, port: int) -> tuple[RawPage, list, list]:
        options = BrowserOptions(executable=SETTINGS.discovery.chromium_executable(), timeout_seconds=6)
        async with BrowserSession(options, lambda _url: None) as browser:
            tab = await browser.new_page()
            await tab.goto(f"{url}/watch")
            raw = RawPage.model_validate(await tab.main.evaluate(COLLECT_SCRIPT))
            reports = [await watch(tab, Human(tab, random.Random(1), pacing=0), SETTINGS.discovery)]
            await tab.close()
            embed = await browser.new_page()
            await embed.goto(f"{url}/embed?port={port}")
            reports.append(await watch(embed, Human(embed, random.Random(2), pacing=0), SETTINGS.discovery))
            frames = [(f.url, f.is_main) for f in embed.frames()]
            await embed.close()
            return raw, reports, frames

    with SiteServer(routes=hostile_site(media)) as site:
        port = int(site.url.rsplit(":", 1)[1])
        raw, reports, frames = asyncio.run(scenario(site.url, port))
    meta = parse_metadata(raw)
    assert (raw.title, meta.title, meta.licence) == ("The real tab title", "The real name", "CC BY 4.0")
    assert frames == [(f"{site.url}/embed?port={port}", True), (f"http://localhost:{port}/watch", False)]
    for report in reports:  # the real SD video, really advancing: not the page's 3840x2160 frozen at 999 s
        assert report.played and (report.width, report.height) == (640, 360), report
        assert 0 < report.advanced_s < 5
    assert reports[1].frame_url == f"http://localhost:{port}/watch"
