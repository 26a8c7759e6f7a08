"""Manners: robots.txt, a pause between two pages of one domain, a page budget per domain,
and the safety check (http/https only, no private addresses) before anything is fetched.

`Politeness.refusal(url)` answers synchronously for every request a page makes
(the browser's guard); `await Politeness.before_page(url)` is asked before each
page the Curator opens and also waits out the domain's pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from vvtv.clock import US, Clock
from vvtv.errors import InputError
from vvtv.netsafety import check_public_url

USER_AGENT = "VVTV-Curator"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(kw_only=True)
class DomainLedger:
    """When a domain may next be visited, and how many pages it has given us in this run."""

    next_allowed_us: int = 0
    pages: int = 0


@dataclass(kw_only=True)
class Politeness:
    clock: Clock
    allowed_hosts: list[str]
    min_interval_seconds: float
    page_budget: int
    timeout_seconds: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # a fake clock's sleep in tests
    robots: dict[str, RobotFileParser] = field(default_factory=dict)
    ledgers: dict[str, DomainLedger] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # origin -> why its robots.txt could not be read
    _safe: dict[str, str | None] = field(default_factory=dict)  # origin -> why unsafe (None: safe)

    def unsafe(self, url: str) -> str | None:
        """Why `url` must not be fetched at all (scheme, private address), or None. Cached per origin."""
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            return f"scheme {scheme!r} is not allowed (http and https only)"
        origin = origin_of(url)
        if origin not in self._safe:
            try:
                check_public_url(url, self.allowed_hosts)
                self._safe[origin] = None
            except InputError as exc:
                self._safe[origin] = str(exc).split(": ", 1)[-1]  # the why, without the URL it was asked about
        return self._safe[origin]

    def refusal(self, url: str) -> str | None:
        """Why a request must be refused (unsafe, or disallowed by a robots.txt we have read), or None."""
        why = self.unsafe(url)
        if why:
            return why
        parser = self.robots.get(origin_of(url))
        if parser is not None and not parser.can_fetch(USER_AGENT, url):
            return self._disallowed(url)
        return None

    def _disallowed(self, url: str) -> str:
        problem = self.unreadable.get(origin_of(url))
        return f"{problem}: the site is off limits for now" if problem else "disallowed by robots.txt"

    async def load_robots(self, url: str) -> RobotFileParser:
        origin = origin_of(url)
        if origin not in self.robots:
            self.robots[origin] = await self._fetch_robots(origin)
        return self.robots[origin]

    async def _fetch_robots(self, origin: str) -> RobotFileParser:
        parser = RobotFileParser(f"{origin}/robots.txt")

        async def check_redirect(request: httpx.Request) -> None:
            why = self.unsafe(str(request.url))
            if why:
                raise InputError(f"robots.txt redirects to {request.url}: {why}")

        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_seconds, follow_redirects=True, max_redirects=5,
                headers={"User-Agent": USER_AGENT}, event_hooks={"request": [check_redirect]},
            ) as client:  # fmt: skip
                response = await client.get(f"{origin}/robots.txt")
        except (httpx.HTTPError, InputError) as exc:
            response = None
            self.unreadable[origin] = f"robots.txt could not be read ({type(exc).__name__}: {exc})"
        if response is not None and response.status_code >= 500:
            self.unreadable[origin] = f"robots.txt could not be read (HTTP {response.status_code})"
        if response is None or response.status_code >= 500:
            # RFC 9309: robots.txt unreachable means the whole site is off limits for now.
            parser.parse(["User-agent: *", "Disallow: /"])
        elif response.status_code >= 400:
            parser.parse([])  # no robots.txt: everything is allowed
        else:
            parser.parse(response.text.splitlines())
        return parser

    async def before_page(self, url: str) -> str | None:
        """Ask before opening a page: why not (unsafe, robots, budget), or None after the domain's pause."""
        why = self.unsafe(url)
        if why:
            return why
        parser = await self.load_robots(url)
        if not parser.can_fetch(USER_AGENT, url):
            return self._disallowed(url)
        domain = urlsplit(url).hostname or ""
        ledger = self.ledgers.setdefault(domain, DomainLedger())
        if ledger.pages >= self.page_budget:
            return f"page budget for {domain} used up ({self.page_budget} pages)"
        delay = max(self.min_interval_seconds, float(parser.crawl_delay(USER_AGENT) or 0))
        now = self.clock.now_us()
        wait_us = max(ledger.next_allowed_us - now, 0)
        ledger.next_allowed_us = now + wait_us + round(delay * US)
        ledger.pages += 1
        if wait_us:
            await self.sleep(wait_us / US)
        return None
