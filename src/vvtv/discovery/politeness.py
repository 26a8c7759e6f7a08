"""Manners: robots.txt, a pause between two pages of one domain, a page budget per domain,
and the safety check (http/https only, no private addresses) before anything is fetched.

`Politeness.refusal(url)` answers synchronously for every request a page makes
(the browser's guard) and so never waits for DNS: it refuses bad schemes,
private IP literals and what robots.txt forbids, and leaves names to the egress
proxy, which resolves them off this event loop for every connection.
`await Politeness.before_page(url)` is asked before each page the Curator opens:
it resolves the host on a worker thread with a deadline, reads robots.txt (its
size and time capped) and waits out the domain's pause.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from vvtv.clock import US, Clock
from vvtv.egress import REFUSED_HEADER
from vvtv.errors import InputError
from vvtv.netsafety import Resolver, address_refusal, check_public_url, host_allowed, resolve

USER_AGENT = "VVTV-Curator"
ALLOW_LIST = "discovery.allowed_hosts"
# RFC 9309: a crawler must read at least 500 KiB of robots.txt, and may ignore what follows.
MAX_ROBOTS_BYTES = 512 * 1024


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
    timeout_seconds: float = 10.0  # robots.txt: the whole fetch, however the server trickles it
    dns_timeout_seconds: float = 5.0
    resolver: Resolver = resolve  # a blocking lookup, always run on a worker thread
    proxy: str | None = None  # the browser's egress proxy, which robots.txt fetches go through too
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # a fake clock's sleep in tests
    robots: dict[str, RobotFileParser] = field(default_factory=dict)
    ledgers: dict[str, DomainLedger] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # origin -> why its robots.txt could not be read
    _safe: dict[str, str | None] = field(default_factory=dict)  # origin -> why unsafe (None: safe)

    def unsafe(self, url: str) -> str | None:
        """Why `url` must not be fetched, as far as can be told without a DNS lookup, or None."""
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            return f"scheme {scheme!r} is not allowed (http and https only)"
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
            address = ipaddress.ip_address(host)
        except ValueError:
            return None  # a name (or a broken URL): before_page and the egress proxy look closer
        return None if host_allowed(host, port, self.allowed_hosts) else address_refusal(host, address, ALLOW_LIST)

    async def unsafe_address(self, url: str) -> str | None:
        """Why `url` must not be fetched (scheme, private address once resolved), or None. Cached per origin."""
        origin = origin_of(url)
        if origin not in self._safe:
            try:
                await asyncio.wait_for(
                    asyncio.to_thread(check_public_url, url, self.allowed_hosts, resolver=self.resolver),
                    self.dns_timeout_seconds,
                )
                self._safe[origin] = None
            except (TimeoutError, asyncio.TimeoutError):
                host = urlsplit(url).hostname
                self._safe[origin] = f"cannot resolve host {host!r} within {self.dns_timeout_seconds:g} s"
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
        try:
            status, text = await asyncio.wait_for(self._read_robots(origin), self.timeout_seconds)
        except (TimeoutError, asyncio.TimeoutError):
            status, text = None, ""
            self.unreadable[origin] = f"robots.txt could not be read (not within {self.timeout_seconds:g} s)"
        except (httpx.HTTPError, InputError) as exc:
            status, text = None, ""
            self.unreadable[origin] = f"robots.txt could not be read ({type(exc).__name__}: {exc})"
        if status is not None and status >= 500:
            self.unreadable[origin] = f"robots.txt could not be read (HTTP {status})"
        if status is None or status >= 500:
            # RFC 9309: robots.txt unreachable means the whole site is off limits for now.
            parser.parse(["User-agent: *", "Disallow: /"])
        elif status >= 400:
            parser.parse([])  # no robots.txt: everything is allowed
        else:
            parser.parse(text.splitlines())
        return parser

    async def _read_robots(self, origin: str) -> tuple[int, str]:
        """robots.txt's status and its first MAX_ROBOTS_BYTES; redirects checked, through the proxy if any."""

        async def check_redirect(request: httpx.Request) -> None:
            why = await self.unsafe_address(str(request.url))
            if why:
                raise InputError(f"robots.txt redirects to {request.url}: {why}")

        async with httpx.AsyncClient(
            timeout=self.timeout_seconds, follow_redirects=True, max_redirects=5, proxy=self.proxy,
            headers={"User-Agent": USER_AGENT}, event_hooks={"request": [check_redirect]},
        ) as client, client.stream("GET", f"{origin}/robots.txt") as response:  # fmt: skip
            if REFUSED_HEADER in response.headers:
                raise InputError(f"refused by the egress proxy: {response.headers[REFUSED_HEADER]}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_ROBOTS_BYTES:
                    break  # the rest is not read (RFC 9309 lets a crawler stop here)
            return response.status_code, bytes(body[:MAX_ROBOTS_BYTES]).decode("utf-8", "replace")

    async def before_page(self, url: str) -> str | None:
        """Ask before opening a page: why not (unsafe, robots, budget), or None after the domain's pause."""
        why = self.unsafe(url) or await self.unsafe_address(url)
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
