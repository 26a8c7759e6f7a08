"""Chromium reaches nothing the egress proxy refuses: not by a redirect, a WebSocket or a service worker.

One site on 127.0.0.1 is allowed (discovery.allowed_hosts names its port); a
second one, on another port, plays the machine's private services and must
never see a request. The request guard lets everything pass here, so what
is refused was refused by the proxy.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sitekit import NOT_FOUND, Reply, SiteServer, page

from vvtv.config import load_settings
from vvtv.discovery.browser import BrowserOptions, BrowserPage, BrowserSession, PageFailed

CHROMIUM = load_settings().discovery.chromium_executable()
# Playwright blocks navigator.serviceWorker.register; a page may still call the prototype's own.
SW_PAGE = """<html><body><p id="sw">pending</p><script>
const container = navigator.serviceWorker;
const frame = document.body.appendChild(document.createElement('iframe'));  // a fresh realm's own register
const tries = [container.register('/sw.js'),
               frame.contentWindow.ServiceWorkerContainer.prototype.register.call(container, '/sw2.js')];
Promise.allSettled(tries).then(() => setTimeout(() => container.getRegistrations().then(
  (all) => { document.getElementById('sw').textContent = 'registrations: ' + all.length; }), 500));
</script></body></html>"""
WS_PAGE = """<html><body><p id="ws">pending</p><script>
const ws = new WebSocket('ws://127.0.0.1:{port}/feed');
ws.onopen = () => {{ document.getElementById('ws').textContent = 'open'; }};
ws.onerror = () => {{ document.getElementById('ws').textContent = 'error'; }};
</script></body></html>"""
LOOPBACK = "is a loopback address (127.0.0.1); add it to discovery.allowed_hosts to allow it"


class Listener:
    """A bare TCP port that counts who connects: a WebSocket server for our purpose."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._socket.close()


@dataclass(kw_only=True)
class World:
    loop: asyncio.AbstractEventLoop
    browser: BrowserSession
    site: SiteServer  # allowed
    private: SiteServer  # not allowed
    ws: Listener  # not allowed

    def visit(self, path: str) -> tuple[BrowserPage, str | None]:
        """Open the allowed site's `path`; the page and why it failed to load (None: it loaded)."""

        async def go() -> tuple[BrowserPage, str | None]:
            tab = await self.browser.new_page()
            try:
                await tab.goto(self.site.url + path)
            except PageFailed as exc:
                return tab, str(exc)
            return tab, None

        return self.loop.run_until_complete(go())

    def text_of(self, tab: BrowserPage, element: str) -> str:
        async def read() -> str:
            for _ in range(50):  # the page's script answers within moments; bounded either way
                text = await tab.main.evaluate(f"document.getElementById('{element}').textContent")
                if text != "pending":
                    return text
                await asyncio.sleep(0.1)
            return text

        return self.loop.run_until_complete(read())

    def settle(self, tab: BrowserPage, *, refusals: int) -> None:
        """Wait for the page's load event (its images fetched or failed), then for the refusals it brought."""

        async def wait() -> None:
            for _ in range(50):  # bounded
                if await tab.main.evaluate("document.readyState") == "complete" and len(tab.refused) >= refusals:
                    return
                await asyncio.sleep(0.1)

        self.loop.run_until_complete(wait())

    def close(self, tab: BrowserPage) -> None:
        self.loop.run_until_complete(tab.close())


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    private = SiteServer(routes=lambda path: page("<html>the machine's own secrets</html>"))
    ws = Listener()
    with private:
        private_port = private.url.rsplit(":", 1)[1]

        def routes(path: str) -> Reply:
            if path in ("/jump", "/img-jump"):
                return Reply(status=302, headers={"Location": f"{private.url}/secret"})
            if path == "/img":  # https goes by CONNECT: refused before any TLS, so no certificate is needed
                return page(f'<html><body><img src="/img-jump"><img src="https://127.0.0.1:{private_port}/tls.png">'
                            "</body></html>")  # fmt: skip
            if path == "/sw":
                return page(SW_PAGE)
            if path in ("/sw.js", "/sw2.js"):
                return Reply(content_type="text/javascript", body=b"self.addEventListener('fetch', () => {});")
            if path == "/ws":
                return page(WS_PAGE.format(port=ws.port))
            return NOT_FOUND

        with SiteServer(routes=routes) as site:
            port = site.url.rsplit(":", 1)[1]
            options = BrowserOptions(executable=CHROMIUM, timeout_seconds=6, allowed_hosts=[f"127.0.0.1:{port}"])
            browser = BrowserSession(options, policy=lambda _url: None)  # the guard lets all through
            loop = asyncio.new_event_loop()
            loop.run_until_complete(browser.start())
            try:
                yield World(loop=loop, browser=browser, site=site, private=private, ws=ws)
            finally:
                loop.run_until_complete(browser.close())
                loop.close()
                ws.close()


def test_a_redirect_to_a_port_that_is_not_allowed_is_refused(world: World) -> None:
    tab, failed = world.visit("/jump")
    world.close(tab)
    secret = f"{world.private.url}/secret"
    assert failed == f"{secret} was refused: host 127.0.0.1 {LOOPBACK}"
    assert tab.refused == [f"{secret}: host 127.0.0.1 {LOOPBACK}"]

    tab, failed = world.visit("/img")  # images that redirect, or go by https: the page loads, they are refused
    world.settle(tab, refusals=2)
    world.close(tab)
    tls = f"https://{world.private.url.removeprefix('http://')}/tls.png"
    assert failed is None
    assert sorted(tab.refused) == sorted([f"{secret}: host 127.0.0.1 {LOOPBACK}", f"{tls}: host 127.0.0.1 {LOOPBACK}"])
    assert world.private.requests == []
    assert "/img-jump" in world.site.requests  # the first hop, to the allowed site, was made


def test_a_websocket_to_an_address_that_is_not_allowed_is_refused(world: World) -> None:
    tab, failed = world.visit("/ws")
    state = world.text_of(tab, "ws")
    world.close(tab)
    assert failed is None and state == "error"
    assert world.ws.accepted == 0
    assert world.browser.egress_refusal(f"ws://127.0.0.1:{world.ws.port}/feed") == f"host 127.0.0.1 {LOOPBACK}"
    assert tab.refused == [f"ws://127.0.0.1:{world.ws.port}/feed: host 127.0.0.1 {LOOPBACK}"]


def test_service_workers_are_blocked(world: World) -> None:
    tab, failed = world.visit("/sw")
    state = world.text_of(tab, "sw")
    world.close(tab)
    assert failed is None and state == "registrations: 0"
    assert not {"/sw.js", "/sw2.js"} & set(world.site.requests)
