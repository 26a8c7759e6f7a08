"""Manners: robots.txt from a real server, the pause between pages of a domain, the page budget, safety."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sitekit import NOT_FOUND, Reply, SiteServer

from vvtv.clock import FakeClock
from vvtv.discovery.politeness import MAX_ROBOTS_BYTES, Politeness

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


class EndlessRobots:
    """A server whose robots.txt never ends: rules, then comments for ever, or one byte now and then."""

    def __init__(self, *, trickle: bool) -> None:
        self.bytes_sent = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    self.wfile.write(b"User-agent: *\nDisallow: /private/\n")
                    for _ in range(100_000):  # bounded: 100k lines, or 100k pauses of 50 ms
                        self.wfile.write(b"#" if trickle else b"# more and more and more\n" * 100)
                        owner.bytes_sent += 1 if trickle else 2500
                        if trickle:
                            self.wfile.flush()
                            time.sleep(0.05)
                except OSError:
                    pass  # the reader hung up: that is the point

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_an_endless_robots_txt_is_read_only_to_its_cap() -> None:
    server = EndlessRobots(trickle=False)
    try:
        polite = manners(FakeClock(), min_interval_seconds=0)
        assert asyncio.run(polite.before_page(f"{server.url}/private/x")) == "disallowed by robots.txt"
        assert polite.refusal(f"{server.url}/watch/1") is None
    finally:
        server.close()
    # The cap, and what loopback's socket buffers took in (a few MB); never the 250 MB on offer.
    assert server.bytes_sent < 40 * MAX_ROBOTS_BYTES


def test_a_robots_txt_that_trickles_is_given_up_on_in_time() -> None:
    server = EndlessRobots(trickle=True)
    try:
        why = asyncio.run(manners(FakeClock(), timeout_seconds=1.0).before_page(f"{server.url}/x"))
    finally:
        server.close()
    assert why == "robots.txt could not be read (not within 1 s): the site is off limits for now"


def test_a_host_is_resolved_off_the_event_loop() -> None:
    answered = threading.Event()
    waited: list[bool] = []

    def slow_dns(host: str) -> list:
        waited.append(answered.wait(10))  # True only if the event loop went on meanwhile and set it
        return [ipaddress.ip_address("93.184.215.14")]

    async def meanwhile() -> None:
        await asyncio.sleep(0)
        answered.set()

    async def both() -> str | None:
        polite = manners(FakeClock(), resolver=slow_dns, allowed_hosts=[])
        why, _ = await asyncio.gather(polite.unsafe_address("http://slow.example/x"), meanwhile())
        return why

    assert asyncio.run(both()) is None
    assert waited == [True]


def test_a_lookup_that_does_not_answer_in_time_refuses_the_host() -> None:
    release = threading.Event()

    def silent_dns(host: str) -> list:
        release.wait(10)
        return []

    async def ask() -> str | None:
        polite = manners(FakeClock(), resolver=silent_dns, dns_timeout_seconds=0.2, allowed_hosts=[])
        try:
            return await polite.before_page("http://silent.example/x")
        finally:
            release.set()  # so that asyncio.run need not wait for the lookup's thread

    why = asyncio.run(ask())
    assert why == "cannot resolve host 'silent.example' within 0.2 s"
