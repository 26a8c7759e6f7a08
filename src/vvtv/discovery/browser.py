"""The one module that drives Chromium (through Playwright's async API).

The browser is started as our own child process with a DevTools port and
Playwright attaches to it over CDP, so we always know its PID: a browser that
crashes or hangs is noticed, killed by that PID and started again.

Every page gets its own browser context (cookies, cache, renderer), closed
when the page is done. Every request a page makes passes a guard first (the
Curator's policy: http(s) only, no private addresses, robots.txt), downloads
are refused, and a top-level document that is not a web page (a 10 GB file, a
bare video) is stopped as soon as its headers arrive.

Other modules use BrowserPage / PageFrame and the errors below; none of them
imports Playwright.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, CDPSession, Frame, Page, Playwright, Request, Response, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from vvtv.errors import InputError, ToolError
from vvtv.processes import die_with_parent

T = TypeVar("T")
# Chromium flags for a machine without a GPU, sandbox or outside network chatter.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--mute-audio",
    "--disable-dev-shm-usage", "--remote-debugging-port=0",
]  # fmt: skip
HTML_TYPES = ("text/html", "application/xhtml+xml")
HEALTH_CHECK_SECONDS = 3  # a browser that cannot say its version this fast is hung
# Returns why a URL must not be requested, or None when it may be.
RequestPolicy = Callable[[str], "str | None"]


class BrowserCrashed(ToolError):
    """The browser process died or stopped answering; the session restarts it."""


class PageFailed(InputError):
    """The page itself misbehaved: did not load, stopped responding, or was not a web page."""


@dataclass(kw_only=True)
class BrowserOptions:
    executable: str
    headless: bool = True
    timeout_seconds: float = 20.0  # for any one step: a navigation, a script, a click
    max_page_bytes: int = 20_000_000
    viewport: tuple[int, int] = (1280, 800)
    restart_after_pages: int = 100


@dataclass(kw_only=True)
class NetworkRecord:
    url: str
    resource_type: str  # Playwright's names: "document", "media", "xhr", "fetch", "script", ...
    status: int | None = None
    content_type: str = ""


@dataclass(kw_only=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(kw_only=True)
class PageFrame:
    """One frame of a page (the page itself or an iframe), to run scripts in and find boxes."""

    _frame: Frame
    _timeout: float
    _on_error: Callable[[BaseException, str], Exception]

    @property
    def url(self) -> str:
        return self._frame.url

    @property
    def is_main(self) -> bool:
        return self._frame.parent_frame is None

    async def evaluate(self, script: str, arg: Any = None) -> Any:
        return await _guarded(self._frame.evaluate(script, arg), self._timeout, self._on_error, "running a script in")

    async def box(self, selector: str) -> Box | None:
        """Where the first element matching `selector` is, in the page's viewport (None: not visible)."""
        found = await _guarded(
            self._frame.locator(selector).first.bounding_box(timeout=self._timeout * 1000),
            self._timeout + 1, self._on_error, f"finding {selector} in",
        )  # fmt: skip
        return Box(**found) if found else None


async def _guarded(
    awaitable: Awaitable[T], timeout: float, on_error: Callable[[BaseException, str], Exception], doing: str
) -> T:
    """Await a Playwright call with a deadline; every failure becomes one of our errors."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except (TimeoutError, asyncio.TimeoutError, PlaywrightError) as exc:
        raise on_error(exc, doing) from None


class BrowserPage:
    """A page in a context of its own, with the network it used and the requests that were refused."""

    def __init__(self, session: BrowserSession, context: BrowserContext, page: Page) -> None:
        self._session = session
        self._context = context
        self._page = page
        self._generation = session.generation  # which start of the browser this page belongs to
        self._timeout = session.options.timeout_seconds
        self.network: list[NetworkRecord] = []
        self.refused: list[str] = []  # "url: why", for requests the policy stopped
        self.problem: str | None = None  # set when the top document turned out not to be a web page
        page.on("response", self._on_response)
        page.on("download", self._on_download)

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def viewport(self) -> tuple[int, int]:
        size = self._page.viewport_size or {"width": 1280, "height": 800}
        return size["width"], size["height"]

    def _error(self, exc: BaseException, doing: str, url: str | None = None) -> Exception:
        where = f"{doing} {url or self._page.url}"
        if self._generation != self._session.generation:
            return BrowserCrashed(f"the browser was restarted while {where}")
        return self._session.classify(exc, where)

    def frames(self) -> list[PageFrame]:
        return [PageFrame(_frame=f, _timeout=self._timeout, _on_error=self._error) for f in self._page.frames]

    @property
    def main(self) -> PageFrame:
        return PageFrame(_frame=self._page.main_frame, _timeout=self._timeout, _on_error=self._error)

    async def goto(self, url: str, *, referer: str | None = None) -> None:
        try:
            await _guarded(
                self._page.goto(url, referer=referer, wait_until="domcontentloaded", timeout=self._timeout * 1000),
                self._timeout + 2, lambda exc, doing: self._error(exc, doing, url), "loading",
            )  # fmt: skip
        except PageFailed:
            if self.problem:
                raise PageFailed(self.problem) from None
            raise
        if self.problem:
            raise PageFailed(self.problem)

    async def navigation_by(self, action: Callable[[], Awaitable[None]]) -> bool:
        """Run `action` (a click) and wait for the page it opens; False when it opened none."""
        try:
            async with self._page.expect_navigation(wait_until="domcontentloaded", timeout=self._timeout * 1000):
                await action()
        except PlaywrightError as exc:
            if "Timeout" in str(exc) and self._session.alive():
                return False
            raise self._error(exc, "following a click on") from None
        if self.problem:
            raise PageFailed(self.problem)
        return True

    # Raw input, used by human.Human which decides where and when.
    async def mouse_move(self, x: float, y: float) -> None:
        await _guarded(self._page.mouse.move(x, y), self._timeout, self._error, "moving the mouse on")

    async def mouse_down(self) -> None:
        await _guarded(self._page.mouse.down(), self._timeout, self._error, "pressing the mouse on")

    async def mouse_up(self) -> None:
        await _guarded(self._page.mouse.up(), self._timeout, self._error, "releasing the mouse on")

    async def wheel(self, delta_y: float) -> None:
        await _guarded(self._page.mouse.wheel(0, delta_y), self._timeout, self._error, "scrolling")

    async def key_down(self, key: str) -> None:
        await _guarded(self._page.keyboard.down(key), self._timeout, self._error, "pressing a key on")

    async def key_up(self, key: str) -> None:
        await _guarded(self._page.keyboard.up(key), self._timeout, self._error, "releasing a key on")

    async def insert_text(self, text: str) -> None:
        """For characters no key on a US keyboard makes (é, ü, emoji)."""
        await _guarded(self._page.keyboard.insert_text(text), self._timeout, self._error, "typing on")

    async def close(self) -> None:
        if self._generation == self._session.generation:  # else it went with the old browser
            await self._session.close_context(self._context)

    def _on_response(self, response: Response) -> None:
        request = response.request
        headers = response.headers
        self.network.append(NetworkRecord(
            url=response.url, resource_type=request.resource_type, status=response.status,
            content_type=headers.get("content-type", "").split(";")[0].strip().lower(),
        ))  # fmt: skip
        if request.is_navigation_request() and response.frame.parent_frame is None and response.status < 300:
            self._check_document(response.url, headers)

    def _check_document(self, url: str, headers: dict[str, str]) -> None:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
        size = f", {_size(length)}" if length else ""
        if content_type and content_type not in HTML_TYPES:
            self.problem = f"{url} is not a web page ({content_type}{size}); stopped at its headers, not downloaded"
        elif length and length > self._session.options.max_page_bytes:
            self.problem = f"{url} is too large for a web page ({_size(length)}); stopped at its headers"
        if self.problem:
            # Stop the transfer now: the page is closed by the caller, this just ends the load early.
            asyncio.ensure_future(self._stop_loading())

    async def _stop_loading(self) -> None:
        try:
            await asyncio.wait_for(self._page.evaluate("window.stop()"), 2)
        except (TimeoutError, asyncio.TimeoutError, PlaywrightError):
            pass

    def _on_download(self, download: Any) -> None:
        self.problem = self.problem or f"{download.url} starts a download ({download.suggested_filename}); refused"
        asyncio.ensure_future(self._cancel(download))

    @staticmethod
    async def _cancel(download: Any) -> None:
        try:
            await download.cancel()
        except PlaywrightError:
            pass  # already gone with its context


class BrowserSession:
    """Chromium as a child process, with Playwright attached; restarted when it dies or hangs."""

    def __init__(self, options: BrowserOptions, policy: RequestPolicy) -> None:
        self.options = options
        self.policy = policy
        self._playwright: Playwright | None = None
        self._process: subprocess.Popen | None = None
        self._browser: Browser | None = None
        self._cdp: CDPSession | None = None
        self._profile_dir: Path | None = None
        self.pages_opened = 0  # since the last (re)start
        self.generation = 0  # counts (re)starts, so pages of a dead browser know they are gone
        self._contexts: set[BrowserContext] = set()  # one per open page
        self.restarts: list[str] = []  # why each restart happened

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return bool(self._process and self._process.poll() is None and self._browser and self._browser.is_connected())

    async def __aenter__(self) -> BrowserSession:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        self._profile_dir = Path(tempfile.mkdtemp(prefix="vvtv-chromium-"))
        command = [self.options.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile_dir}"]
        if self.options.headless:
            command.append("--headless=new")
        command.append("about:blank")
        log = open(self._profile_dir / "chromium.log", "wb")  # noqa: SIM115 - the child keeps it open
        try:
            # Its own session (killed as a group); and it dies with the curator, even a SIGKILLed one.
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True, preexec_fn=die_with_parent)  # fmt: skip
        except OSError as exc:
            raise ToolError(f"Chromium could not start ({self.options.executable}): {exc}", command=command) from exc
        finally:
            log.close()
        endpoint = await self._devtools_endpoint()
        try:
            self._browser = await self._playwright.chromium.connect_over_cdp(endpoint, timeout=20_000)
            self._cdp = await self._browser.new_browser_cdp_session()
        except PlaywrightError as exc:
            self._kill()
            raise ToolError(f"could not attach to Chromium at {endpoint}: {exc}") from exc
        self.pages_opened = 0
        self.generation += 1
        self._contexts.clear()  # those of a previous browser went with it

    async def _devtools_endpoint(self) -> str:
        """Chromium writes its DevTools port to DevToolsActivePort in the profile once it listens."""
        assert self._profile_dir and self._process
        marker = self._profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self._profile_dir / "chromium.log").read_text(errors="replace")
                raise ToolError(f"Chromium exited at start (code {self._process.returncode})", stderr=log)
            if marker.is_file():
                lines = marker.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(0.05)
        self._kill()
        raise ToolError("Chromium did not open its DevTools port within 20 s")

    async def close(self) -> None:
        await self._stop_browser(gracefully=self.alive())
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def restart(self, why: str, *, gracefully: bool = False) -> None:
        """Start a new browser; the old one is closed politely only when it still answers."""
        self.restarts.append(why)
        await self._stop_browser(gracefully=gracefully)
        await self.start()

    async def _stop_browser(self, *, gracefully: bool) -> None:
        if gracefully and self._browser is not None:
            try:
                await asyncio.wait_for(self._browser.close(), 3)
            except (TimeoutError, asyncio.TimeoutError, PlaywrightError):
                pass  # killed below either way
        self._browser = None
        self._kill()

    def _kill(self) -> None:
        """Kill the browser's process group (its renderers and helpers) by the PID we started."""
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait(timeout=10)
            self._process = None
        if self._profile_dir is not None:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
            self._profile_dir = None

    async def healthy(self) -> bool:
        if not self.alive() or self._cdp is None:
            return False
        try:
            await asyncio.wait_for(self._cdp.send("Browser.getVersion"), HEALTH_CHECK_SECONDS)
        except (TimeoutError, asyncio.TimeoutError, PlaywrightError):
            return False
        return True

    async def ensure_running(self) -> None:
        """Restart the browser if it died, hangs, or has served its share of pages."""
        if not await self.healthy():
            await self.restart("the browser died or stopped answering")
        elif self.pages_opened >= self.options.restart_after_pages:
            await self.restart(f"fresh browser after {self.pages_opened} pages", gracefully=True)

    def classify(self, exc: BaseException, doing: str) -> Exception:
        """A failure is the browser's (crashed: restart it) or the page's (reject it)."""
        if not self.alive():
            return BrowserCrashed(f"the browser died while {doing}")
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or "Timeout" in str(exc):
            return PageFailed(f"the page did not respond within {self.options.timeout_seconds:g} s while {doing}")
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PageFailed(f"{doing} failed: {first_line}")

    async def new_page(self) -> BrowserPage:
        await self.ensure_running()
        assert self._browser is not None
        width, height = self.options.viewport
        try:
            context = await asyncio.wait_for(
                self._browser.new_context(accept_downloads=False, viewport={"width": width, "height": height}),
                self.options.timeout_seconds,
            )
            self._contexts.add(context)
            page = BrowserPage(self, context, await asyncio.wait_for(context.new_page(), self.options.timeout_seconds))
            await context.route("**/*", lambda route, request: self._guard(route, request, page))
        except (TimeoutError, asyncio.TimeoutError, PlaywrightError) as exc:
            raise BrowserCrashed(f"could not open a page: {exc}") from None
        self.pages_opened += 1
        return page

    @property
    def open_pages(self) -> int:
        return len(self._contexts)

    async def close_context(self, context: BrowserContext) -> None:
        self._contexts.discard(context)
        try:
            await asyncio.wait_for(context.close(), 5)
        except (TimeoutError, asyncio.TimeoutError, PlaywrightError):
            # A context that will not close means a stuck browser: start afresh rather than leak it.
            if self.alive():
                await self.restart("a page could not be closed")

    async def _guard(self, route: Route, request: Request, page: BrowserPage) -> None:
        why = self.policy(request.url) if request.url.split(":", 1)[0] in ("http", "https") else None
        try:
            if why:
                page.refused.append(f"{request.url}: {why}")
                await route.abort("blockedbyclient")
            else:
                await route.continue_()
        except PlaywrightError:
            pass  # the page went away while we decided

    def memory_bytes(self) -> int:
        """Memory of the browser and all its child processes (renderers, GPU, utility), shared pages split."""
        if not self._process:
            return 0
        return _tree_pss(self._process.pid)


def _size(length: int) -> str:
    if length >= 1e9:
        return f"{length / 1e9:.1f} GB"
    return f"{length / 1e6:.1f} MB" if length >= 1e6 else f"{length} bytes"


def _tree_pss(root: int) -> int:
    """Proportional set size (shared pages split between sharers) of a process and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total
