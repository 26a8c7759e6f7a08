"""Manners: robots.txt from a real server, the pause between pages of a domain, the page budget, safety."""

from __future__ import annotations

import asyncio

from sitekit import NOT_FOUND, Reply, SiteServer

from vvtv.clock import FakeClock
from vvtv.discovery.politeness import Politeness

ROBOTS = "User-agent: *\nDisallow: /private/\nCrawl-delay: 3\n\nUser-agent: VVTV-Curator\nDisallow: /no-curators/\n"


def manners(clock: FakeClock, **values: object) -> Politeness:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    values = {"allowed_hosts": ["127.0.0.1"], "min_interval_seconds": 1.0, "page_budget": 10, **values}
    return Politeness(clock=clock, sleep=sleep, **values)  # type: ignore[arg-type]


def robots_site(status: int = 200, body: str = ROBOTS) -> SiteServer:
    return SiteServer(routes=lambda path: Reply(status=status, content_type="text/plain", body=body.encode())
                      if path == "/robots.txt" else NOT_FOUND)  # fmt: skip


def test_robots_txt_is_read_once_and_obeyed_for_our_agent() -> None:
    clock = FakeClock()
    with robots_site() as site:
        polite = manners(clock)
        assert asyncio.run(polite.before_page(f"{site.url}/no-curators/x")) == "disallowed by robots.txt"
        assert asyncio.run(polite.before_page(f"{site.url}/private/x")) is None  # our own group has no such rule
        assert asyncio.run(polite.before_page(f"{site.url}/watch/1")) is None
        assert site.requests == ["/robots.txt"]
        assert polite.refusal(f"{site.url}/no-curators/img.png") == "disallowed by robots.txt"


def test_the_pause_between_pages_is_the_larger_of_the_setting_and_crawl_delay() -> None:
    clock = FakeClock()
    with robots_site(body="User-agent: *\nCrawl-delay: 3\n") as site:
        polite = manners(clock)
        start = clock.now_us()
        for _ in range(3):
            assert asyncio.run(polite.before_page(f"{site.url}/page")) is None
        assert clock.now_us() - start == 6_000_000  # first at once, then 3 s apart


def test_the_page_budget_per_domain() -> None:
    with robots_site(status=404) as site:  # no robots.txt: everything allowed
        polite = manners(FakeClock(), page_budget=2, min_interval_seconds=0)
        results = [asyncio.run(polite.before_page(f"{site.url}/p{i}")) for i in range(3)]
    assert results == [None, None, "page budget for 127.0.0.1 used up (2 pages)"]


def test_an_unreachable_robots_txt_keeps_us_off_the_site() -> None:
    with robots_site(status=503) as site:
        why = asyncio.run(manners(FakeClock()).before_page(f"{site.url}/x"))
    assert why == "robots.txt could not be read (HTTP 503): the site is off limits for now"


def test_unsafe_urls_are_refused_before_any_fetch() -> None:
    polite = manners(FakeClock(), allowed_hosts=[])
    assert polite.refusal("file:///etc/passwd") == "scheme 'file' is not allowed (http and https only)"
    assert asyncio.run(polite.before_page("http://127.0.0.1:9/x")).startswith("host 127.0.0.1 is a loopback address")
    assert polite.refusal("http://[fd00::1]/x").startswith("host fd00::1 is a private address")
    assert polite.robots == {}  # nothing was fetched
