"""The one module that drives Chromium (through Playwright's async API).

Playwright starts the browser and talks to it over a pipe (no DevTools port on
any interface). It starts it through a small launcher script of ours that
writes the browser's PID first, so we always know it: a browser that crashes
or hangs is noticed, killed by that PID and started again; one that grows
past its memory limit is replaced. When the Curator runs as root, the
launcher runs Chromium as an unprivileged account (setpriv), so Chromium keeps
its own sandbox (renderers in user/PID/network namespaces under seccomp) and a
browser taken over by a page still cannot read the channel's database.

Every page gets its own browser context (cookies, cache, renderer), closed
when the page is done. Every request a page makes passes a guard first (the
Curator's policy: http(s) only, no private addresses, robots.txt), downloads
are refused, and a top-level document that is not a web page (a 10 GB file, a
bare video) is stopped as soon as its headers arrive. Our scripts run in an
isolated world of each frame (see PageFrame.evaluate), out of reach of the
page's own scripts.

The guard sees only the first URL of a redirect chain and no WebSocket, so
the session also starts an egress proxy (egress.py) and Chromium sends every
connection through it, loopback included: redirect hops, WebSockets, media.
Service workers are blocked (they would fetch out of the guard's sight), and
WebRTC may not send UDP outside the proxy. What the proxy refuses is shown in
the refused list of the page that asked.

Other modules use BrowserPage / PageFrame and the errors below; none of them
imports Playwright.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, CDPSession, Frame, Page, Playwright, Request, Response, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from vvtv.egress import EgressProxy
from vvtv.errors import ConfigError, InputError, ToolError

T = TypeVar("T")
# Chromium flags for a machine without a GPU or outside network chatter. Playwright adds the
# DevTools pipe, a fresh profile and headless mode; the sandbox stays on.
CHROMIUM_FLAGS = [
    "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--mute-audio", "--disable-dev-shm-usage",
]  # fmt: skip
TUNNEL_FAILED = "ERR_TUNNEL_CONNECTION_FAILED"  # how Chromium reports a CONNECT the proxy refused
# Who runs Chromium when the Curator is root and discovery.browser_user is empty: the account
# `make up`/`make test` create for it, else nobody.
DEFAULT_BROWSER_USERS = ("vvtv-browser", "nobody")
# Playwright starts this in Chromium's place. It writes its PID (the browser's: exec keeps it),
# gives the profile Playwright made to the browser's account, and runs Chromium as that account,
# killed by the kernel if Playwright's driver dies (the driver dies with us).
LAUNCHER = """#!/bin/sh
echo $$ > {pid_file}
for arg; do
  case "$arg" in --user-data-dir=*) profile="${{arg#--user-data-dir=}}" ;; esac
done
export HOME="$profile"
{chown}exec {setpriv} {as_account}--pdeathsig=KILL {chromium} "$@"
"""
HTML_TYPES = ("text/html", "application/xhtml+xml")
# The isolated world our scripts run in: one per frame and document, the page's DOM shared but
# none of its JavaScript (a page that redefines document.title or querySelectorAll fools only itself).
# Asked for by name each time, Chromium hands back the same world while the document lasts, so
# what a script leaves on `window` there (the video it marked, its event counters) is there next time.
PROBE_WORLD = "vvtv-probes"
FUNCTION_SCRIPT = re.compile(r"^\s*(async\s+)?(function\b|\(|[A-Za-z_$][\w$]*\s*=>)")
# A first start on a fresh machine (cold disk, a new account's caches) was seen to take over 20 s.
LAUNCH_SECONDS = 60
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
    max_memory_bytes: int | None = None  # over this (PSS of the browser and its children) it is replaced
    # The account Chromium runs as when we are root ("": vvtv-browser, else nobody); never root itself.
    user: str = ""
    extra_args: list[str] = field(default_factory=list)  # more Chromium switches
    allowed_hosts: list[str] = field(default_factory=list)  # reachable though not public (the egress proxy's list)
    allow_list_setting: str = "discovery.allowed_hosts"  # named in refusals


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
    _page: BrowserPage
    _timeout: float
    _on_error: Callable[[BaseException, str], Exception]

    @property
    def url(self) -> str:
        return self._frame.url

    @property
    def is_main(self) -> bool:
        return self._frame.parent_frame is None

    async def evaluate(self, script: str, arg: Any = None) -> Any:
        """Run `script` (a function taking `arg`, or an expression) in the frame's isolated world; its JSON value."""
        return await _guarded(self._page.run_isolated(self._frame, script, arg), self._timeout, self._on_error,
                              "running a script in")  # fmt: skip

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
        self._targets: dict[Frame, tuple[CDPSession, str]] = {}  # frame -> the DevTools session and id to reach it
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("websocket", self._on_websocket)
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
        return [self._frame(f) for f in self._page.frames]

    def _frame(self, frame: Frame) -> PageFrame:
        return PageFrame(_frame=frame, _page=self, _timeout=self._timeout, _on_error=self._error)

    @property
    def main(self) -> PageFrame:
        return self._frame(self._page.main_frame)

    async def run_isolated(self, frame: Frame, script: str, arg: Any) -> Any:
        """Run a script in our isolated world of `frame` (Page.createIsolatedWorld), by value."""
        for attempt in (1, 2):
            session, frame_id = await self._target(frame)
            try:
                world = await session.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": PROBE_WORLD})
                common = {"returnByValue": True, "awaitPromise": True, "userGesture": True}
                if FUNCTION_SCRIPT.match(script):
                    reply = await session.send("Runtime.callFunctionOn", {
                        "functionDeclaration": script, "executionContextId": world["executionContextId"],
                        "arguments": [{"value": arg}], **common})  # fmt: skip
                else:
                    reply = await session.send("Runtime.evaluate", {
                        "expression": script, "contextId": world["executionContextId"], **common})  # fmt: skip
                break
            except PlaywrightError:
                # The frame may have moved to another renderer process (and DevTools session): look again, once.
                self._targets.pop(frame, None)
                if attempt == 2 or frame.is_detached():
                    raise
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text") or "an exception"
            raise PageFailed(f"running a script in {frame.url} failed: {text.strip().splitlines()[0][:300]}")
        return reply["result"].get("value")

    async def _target(self, frame: Frame) -> tuple[CDPSession, str]:
        """The DevTools session that reaches `frame` and the frame's id in it.

        The page and each iframe rendered in a process of its own (cross-site) have a session of their
        own; an iframe rendered with its parent is found in its parent's frame tree.
        """
        if frame not in self._targets:
            try:
                session = await self._context.new_cdp_session(frame)
                tree = await session.send("Page.getFrameTree")
                self._targets[frame] = (session, tree["frameTree"]["frame"]["id"])
            except PlaywrightError as exc:
                if frame.parent_frame is None or "separate CDP session" not in str(exc):
                    raise
                session, parent_id = await self._target(frame.parent_frame)
                tree = await session.send("Page.getFrameTree")
                self._targets[frame] = (session, _child_frame_id(tree["frameTree"], parent_id, frame))
        return self._targets[frame]

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
        if response.status == 403:  # how the proxy refuses a plain http request, a redirect hop included
            self._refused_by_proxy(request)
        elif request.is_navigation_request() and response.frame.parent_frame is None and response.status < 300:
            self._check_document(response.url, headers)

    def _on_request_failed(self, request: Request) -> None:
        if TUNNEL_FAILED in (request.failure or ""):  # a refused CONNECT: https, or a WebSocket
            self._refused_by_proxy(request)

    def _on_websocket(self, websocket: Any) -> None:
        url = websocket.url
        websocket.on("close", lambda _ws: self._refused_by_proxy(None, url))

    def _refused_by_proxy(self, request: Request | None, url: str = "") -> None:
        """Record (once) a request the egress proxy refused; a refused top-level document fails the page."""
        url = request.url if request is not None else url
        why = self._session.egress_refusal(url)
        entry = f"{url}: {why}"
        if why is None or entry in self.refused:
            return
        self.refused.append(entry)
        if request is not None and request.is_navigation_request() and request.frame.parent_frame is None:
            self.problem = self.problem or f"{url} was refused: {why}"

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
            await asyncio.wait_for(self.main.evaluate("window.stop()"), 2)
        except (TimeoutError, asyncio.TimeoutError, PlaywrightError, PageFailed, BrowserCrashed):
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
    """Chromium started by Playwright through our launcher; restarted when it dies, hangs or grows too big."""

    def __init__(self, options: BrowserOptions, policy: RequestPolicy) -> None:
        self.options = options
        self.policy = policy
        self._playwright: Playwright | None = None
        self._pid: int | None = None
        self._browser: Browser | None = None
        self._cdp: CDPSession | None = None
        self._run_dir: Path | None = None  # the launcher and the PID file it writes; ours, mode 0700
        self.pages_opened = 0  # since the last (re)start
        self.generation = 0  # counts (re)starts, so pages of a dead browser know they are gone
        self._contexts: set[BrowserContext] = set()  # one per open page
        self.restarts: list[str] = []  # why each restart happened
        self.egress: EgressProxy | None = None  # started with the first browser, stopped by close()

    @property
    def pid(self) -> int | None:
        return self._pid

    def alive(self) -> bool:
        return bool(self._pid and _running(self._pid) and self._browser and self._browser.is_connected())

    async def __aenter__(self) -> BrowserSession:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        if self.egress is None:
            self.egress = EgressProxy(self.options.allowed_hosts, setting=self.options.allow_list_setting)
            self.egress.start()
        self._run_dir = Path(tempfile.mkdtemp(prefix="vvtv-browser-"))
        launcher = self._run_dir / "launch-chromium"
        launcher.write_text(self._launcher_script(self._run_dir / "pid"))
        launcher.chmod(0o700)
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=launcher,
                args=[*CHROMIUM_FLAGS, *self.options.extra_args, *_egress_flags(self.egress.url)],
                headless=self.options.headless, chromium_sandbox=True, timeout=LAUNCH_SECONDS * 1000,
                # Our signals are ours to handle: the Curator stops the browser itself.
                handle_sigint=False, handle_sigterm=False, handle_sighup=False,
            )  # fmt: skip
            self._pid = int((self._run_dir / "pid").read_text())
            self._cdp = await self._browser.new_browser_cdp_session()
        except (PlaywrightError, OSError, ValueError) as exc:
            self._browser = None
            self._kill()
            raise ToolError(f"Chromium could not start ({self.options.executable}){_sandbox_hint(str(exc))}",
                            stderr=str(exc)) from None  # fmt: skip
        self.pages_opened = 0
        self.generation += 1
        self._contexts.clear()  # those of a previous browser went with it

    def _launcher_script(self, pid_file: Path) -> str:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise ToolError("setpriv (util-linux) is missing; the browser is started through it")
        account = browser_account(self.options.user)
        as_account, chown = "", ""
        if account is not None:
            as_account = f"--reuid={account.pw_uid} --regid={account.pw_gid} --init-groups "
            chown = f'chown -R {account.pw_uid}:{account.pw_gid} "$profile"\n'
        return LAUNCHER.format(pid_file=shlex.quote(str(pid_file)), chown=chown, setpriv=setpriv,
                               as_account=as_account, chromium=shlex.quote(self.options.executable))  # fmt: skip

    async def close(self) -> None:
        await self._stop_browser(gracefully=self.alive())
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None
        if self.egress is not None:
            self.egress.stop()
            self.egress = None

    def egress_refusal(self, url: str) -> str | None:
        """Why the egress proxy refused this URL's host and port, if it did."""
        return self.egress.refusal_for(url) if self.egress is not None else None

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
        """Kill the browser's process group (its renderers and helpers) by the PID the launcher wrote."""
        if self._pid is None and self._run_dir is not None and (self._run_dir / "pid").is_file():
            self._pid = int((self._run_dir / "pid").read_text() or 0) or None  # a start that failed half-way
        if self._pid is not None:
            if _running(self._pid):
                try:
                    os.killpg(self._pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + 10
            while _running(self._pid) and time.monotonic() < deadline:
                time.sleep(0.01)  # Playwright's driver, its parent, reaps it
            self._pid = None
        if self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

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
        elif self.options.max_memory_bytes and (used := self.memory_bytes()) > self.options.max_memory_bytes:
            await self.restart(f"the browser used {_size(used)}, over its limit of "
                               f"{_size(self.options.max_memory_bytes)}", gracefully=True)  # fmt: skip

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
                # Service workers would fetch out of the guard's sight (the proxy would still check them).
                self._browser.new_context(accept_downloads=False, viewport={"width": width, "height": height},
                                          service_workers="block"),  # fmt: skip
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
        return _tree_pss(self._pid) if self._pid else 0


def _egress_flags(proxy_url: str) -> list[str]:
    """Everything through the egress proxy, loopback included (Chromium would go there direct), and no WebRTC
    over UDP (which no proxy sees). Last on the command line, so that no extra switch overrides them."""
    return [f"--proxy-server={proxy_url}", "--proxy-bypass-list=<-loopback>",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]  # fmt: skip


def _child_frame_id(tree: dict[str, Any], parent_id: str, frame: Frame) -> str:
    """The id of `frame` among the children of `parent_id` in a Page.getFrameTree answer.

    Matched by URL and name; twins (same URL and name) by their order, which both sides keep as the
    order the frames were attached in.
    """
    stack = [tree]
    while stack:
        node = stack.pop()
        if node["frame"]["id"] == parent_id:
            same = [c["frame"]["id"] for c in node.get("childFrames", [])
                    if c["frame"]["url"] == frame.url and c["frame"].get("name", "") == frame.name]  # fmt: skip
            assert frame.parent_frame is not None
            twins = [f for f in frame.parent_frame.child_frames if f.url == frame.url and f.name == frame.name]
            index = twins.index(frame)
            if index < len(same):
                return same[index]
            break
        stack.extend(node.get("childFrames", []))
    raise PageFailed(f"the frame {frame.url} could not be found to run a script in (it may have just navigated)")


def browser_account(name: str) -> pwd.struct_passwd | None:
    """The account Chromium runs as when we are root; None when we are not (it runs as us)."""
    if os.geteuid() != 0:
        return None
    for candidate in [name] if name else DEFAULT_BROWSER_USERS:
        try:
            account = pwd.getpwnam(candidate)
        except KeyError:
            continue
        if account.pw_uid == 0:
            raise ConfigError(f"discovery.browser_user: {candidate} is root; Chromium must run unprivileged")
        return account
    raise ConfigError(f"discovery.browser_user: no account named {name or ' or '.join(DEFAULT_BROWSER_USERS)} "
                      f"(useradd --system vvtv-browser)")  # fmt: skip


def _sandbox_hint(error: str) -> str:
    if "No usable sandbox" in error or ("sandbox" in error.lower() and "namespace" in error.lower()):
        return (": its sandbox needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "or a container allowed to create them)")
    return ": " + (error.strip().splitlines() or ["no reason given"])[0]


def _running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie waiting to be reaped has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


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
