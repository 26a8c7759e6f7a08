"""The browser session on real Chromium: the request guard, refused downloads, and recovery
from a browser that is killed or hangs (detected, killed by its PID, started again)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from sitekit import NOT_FOUND, Reply, SiteServer, page

from vvtv.config import load_settings
from vvtv.discovery.browser import BrowserCrashed, BrowserOptions, BrowserSession, PageFailed

CHROMIUM = load_settings().discovery.chromium_executable()  # found on PATH, as the Curator finds it

PAGE = """<html><body><h1>hello</h1><img src="{url}/private/a.png"><img src="{url}/ok.png">
<img src="http://10.9.9.9/pixel.png"></body></html>"""


def site() -> SiteServer:
    def routes(path: str) -> Reply:
        if path == "/":
            return page(PAGE.format(url=""))
        if path == "/file.zip":
            return Reply(content_type="application/zip", body=b"PK" + bytes(4000))
        if path.endswith(".png"):
            return Reply(content_type="image/png", body=b"")
        return NOT_FOUND

    return SiteServer(routes=routes)


def policy(url: str) -> str | None:
    if "/private/" in url:
        return "disallowed by robots.txt"
    if "10.9.9.9" in url:
        return "private address"
    return None


def session(**options: object) -> BrowserSession:
    return BrowserSession(BrowserOptions(executable=CHROMIUM, timeout_seconds=4, **options), policy)


def test_the_guard_refuses_requests_the_policy_forbids() -> None:
    async def visit(url: str) -> list[str]:
        async with session() as browser:
            tab = await browser.new_page()
            await tab.goto(url + "/")
            await asyncio.sleep(0.3)
            await tab.close()
            return tab.refused

    with site() as server:
        refused = asyncio.run(visit(server.url))
        requested = list(server.requests)
    assert sorted(refused) == sorted([f"{server.url}/private/a.png: disallowed by robots.txt",
                                      "http://10.9.9.9/pixel.png: private address"])  # fmt: skip
    assert "/ok.png" in requested and "/private/a.png" not in requested


def test_a_document_that_is_not_a_web_page_is_refused() -> None:
    async def visit(url: str) -> str:
        async with session() as browser:
            tab = await browser.new_page()
            try:
                with pytest.raises(PageFailed) as failed:
                    await tab.goto(url)
            finally:
                await tab.close()
            return str(failed.value)

    with site() as server:
        assert asyncio.run(visit(f"{server.url}/file.zip")).endswith(
            "/file.zip is not a web page (application/zip, 4002 bytes); stopped at its headers, not downloaded")


def test_a_killed_browser_is_detected_and_restarted_with_a_new_pid() -> None:
    async def scenario(url: str) -> tuple[str, int, int, str]:
        async with session() as browser:
            tab = await browser.new_page()
            await tab.goto(url + "/")
            first = browser.pid
            os.kill(first, signal.SIGKILL)
            await asyncio.sleep(0.2)
            with pytest.raises(BrowserCrashed) as crashed:
                await tab.main.evaluate("1 + 1")
            await tab.close()  # harmless: it went with the old browser
            again = await browser.new_page()  # ensure_running restarts first
            await again.goto(url + "/")
            heading = await again.main.evaluate("document.querySelector('h1').textContent")
            await again.close()
            return str(crashed.value), first, browser.pid, heading

    with site() as server:
        message, first, second, heading = asyncio.run(scenario(server.url))
    assert message.startswith("the browser died while running a script in")
    assert second != first and heading == "hello"


def test_a_hung_browser_is_killed_by_its_pid_and_restarted() -> None:
    async def scenario() -> tuple[bool, int, int, list[str]]:
        async with session() as browser:
            first = browser.pid
            os.kill(first, signal.SIGSTOP)  # frozen: alive, but answering nothing
            try:
                healthy = await browser.healthy()
                await browser.ensure_running()
            finally:
                try:
                    os.kill(first, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            return healthy, first, browser.pid, browser.restarts

    healthy, first, second, restarts = asyncio.run(scenario())
    assert not healthy
    assert second != first and restarts == ["the browser died or stopped answering"]
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the frozen one is gone


def test_contexts_are_closed_and_memory_is_measured() -> None:
    async def scenario() -> tuple[int, int, int]:
        async with session(restart_after_pages=3) as browser:
            for _ in range(4):
                tab = await browser.new_page()
                await tab.goto("data:text/html,<p>hi</p>")
                await tab.close()
            return browser.open_pages, browser.memory_bytes(), len(browser.restarts)

    open_contexts, memory, restarts = asyncio.run(scenario())
    assert open_contexts == 0
    assert 20_000_000 < memory < 3_000_000_000
    assert restarts == 1  # a fresh browser after its share of pages
