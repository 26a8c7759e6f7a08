"""Acceptance 4: hostile input. A results page links to a file:// URL, a private address,
a 10 GB file and a page whose script loops forever, and the browser process is killed
while a page loads. The Curator records a clear reason for each, goes on, and restarts
the browser; the good video after all of them is still kept.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from demosite import curator_settings
from sitekit import NOT_FOUND, Reply, SiteServer, demo_media, page
from sqlalchemy import select

from vvtv.discovery.curator import Curator
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Plan

LINKS = ["file:///etc/passwd", "http://10.1.2.3/watch/1", "/huge.bin", "/spin", "/victim", "/good"]
TEN_GB = 10 * 1024**3
HOME = '<html><body><form action="/search"><input type="search" name="q"><button>Search</button></form></body></html>'
WATCH = """<html><head><meta property="og:title" content="{title}">
<meta property="og:description" content="Calm nature footage of the sea with soft music.">
<meta name="keywords" content="nature, music"></head><body><h1>{title}</h1>
<video src="/good.mp4" controls width="640" height="360"></video>
<img src="http://192.168.1.1/tracker.gif" alt=""><p>Licence: CC BY 4.0</p>{script}</body></html>"""


def hostile_site(media: Path):  # noqa: ANN201
    def routes(path: str) -> Reply:
        if path == "/":
            return page(HOME)
        if path.startswith("/search"):
            return page("<html><body><ul>" + "".join(f'<li><a href="{u}">Result {i}</a></li>' for i, u in enumerate(LINKS))
                        + "</ul></body></html>")  # fmt: skip
        if path == "/huge.bin":
            return Reply(content_type="application/octet-stream", endless_bytes=TEN_GB)
        if path == "/spin":  # the page loads, then its script never returns
            return page(WATCH.format(title="Spinner", script="<script>setTimeout(() => { for (;;) {} }, 0)</script>"))
        if path in ("/victim", "/good"):
            return page(WATCH.format(title="Ocean waves", script=""))
        if path == "/good.mp4":
            return Reply(content_type="video/mp4", file=media / "ocean-waves.mp4")
        return NOT_FOUND

    return routes


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_media(tmp_path_factory)


def test_hostile_links_get_clear_reasons_and_the_browser_is_restarted(media: Path, tmp_path: Path) -> None:
    with SiteServer(routes=hostile_site(media)) as site:
        rt = Runtime.open(curator_settings(tmp_path / "var", f"{site.url}/", page_timeout_seconds=4.0))
        curator = Curator(rt)
        browser = curator.browser()
        killed: list[int] = []

        def kill_the_browser() -> None:
            killed.append(browser.pid)
            os.kill(browser.pid, signal.SIGKILL)

        site.hooks["/victim"] = kill_the_browser

        async def go():  # noqa: ANN202
            async with browser:
                return await curator.discover("ocean", max_plans=5, browser=browser)

        try:
            report = asyncio.run(go())
        finally:
            curator.close()
        requested = list(site.requests)
        huge_bytes = site.bytes_sent.get("/huge.bin", 0)

    outcomes = {o.page_url.removeprefix(site.url): o for o in report.outcomes}
    assert outcomes["file:///etc/passwd"].status == "skipped"
    assert outcomes["file:///etc/passwd"].reason == "scheme 'file' is not allowed (http and https only)"
    assert outcomes["http://10.1.2.3/watch/1"].status == "skipped"
    assert outcomes["http://10.1.2.3/watch/1"].reason.startswith("host 10.1.2.3 is a private address")
    assert outcomes["/huge.bin"].status == "rejected"
    assert outcomes["/huge.bin"].reason == (f"{site.url}/huge.bin is not a web page (application/octet-stream, 10.7 GB); "
                                            "stopped at its headers, not downloaded")  # fmt: skip
    assert huge_bytes < 64 * 1024 * 1024  # the server was never read to its end
    assert outcomes["/spin"].status == "rejected"
    assert "did not respond within 4 s" in outcomes["/spin"].reason
    assert outcomes["/victim"].status == "failed"
    assert outcomes["/victim"].reason.startswith("the browser died while loading")
    assert outcomes["/good"].status == "kept"  # after all of that, discovery went on
    assert killed and browser.restarts  # the killed browser was replaced ...
    assert browser.pid not in killed  # ... by a new process

    with rt.db.session() as session:
        plans = {p.page_url.removeprefix(site.url): p for p in session.scalars(select(Plan))}
        refused = [e.message for e in session.scalars(select(Event).where(Event.kind == "discovery-refused"))]
        restarted = session.scalars(select(Event).where(Event.kind == "browser-restarted")).all()
    assert set(plans) == {"/huge.bin", "/spin", "/good"}  # the failed one is tried again next time
    assert plans["/good"].playback["refused_requests"] == [
        "http://192.168.1.1/tracker.gif: host 192.168.1.1 is a private address (192.168.1.1); "
        "add it to discovery.allowed_hosts to allow it"
    ]
    assert len(refused) == 2 and len(restarted) == 1
    assert not [p for p in requested if "passwd" in p]
    rt.db.dispose()
