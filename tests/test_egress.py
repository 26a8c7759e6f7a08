"""The egress proxy on its own: each host resolved once, the address checked, and that very address connected to.

Names are resolved by a resolver the test passes in (no /etc/hosts, no DNS):
it answers as a rebinding attacker's DNS server would, a public address to
the first question and 127.0.0.1 to the next.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from discovery.sitekit import SiteServer, page

from vvtv.egress import REFUSED_HEADER, EgressLimits, EgressProxy
from vvtv.netsafety import Address, check_public_url

PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class RebindingDNS:
    """The attacker's name server: public first, loopback afterwards."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    def __call__(self, host: str) -> list[Address]:
        self.questions.append(host)
        return [PUBLIC] if len(self.questions) == 1 else [LOOPBACK]


@pytest.fixture(scope="module")
def secret() -> Iterator[SiteServer]:
    with SiteServer(routes=lambda path: page("<html>the machine's own secrets</html>")) as site:
        yield site


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused(secret: SiteServer) -> None:
    port = secret.url.rsplit(":", 1)[1]
    url = f"http://rebind.example:{port}/admin"
    dns = RebindingDNS()
    check_public_url(url, resolver=dns)  # the check before the fetch sees a public address
    with EgressProxy([], setting="discovery.allowed_hosts", resolver=dns) as proxy:
        response = httpx.get(url, proxy=proxy.url, timeout=10)
        assert proxy.refusal_for(url) == ("host rebind.example is a loopback address (127.0.0.1); "
                                          "add it to discovery.allowed_hosts to allow it")  # fmt: skip
    assert response.status_code == 403 and "loopback" in response.headers[REFUSED_HEADER]
    assert secret.requests == []
    assert dns.questions == ["rebind.example", "rebind.example"]  # once by the check, once by the proxy


def test_an_allowed_name_is_connected_at_the_address_it_was_resolved_to(secret: SiteServer) -> None:
    port = secret.url.rsplit(":", 1)[1]
    asked: list[str] = []

    def dns(host: str) -> list[Address]:
        asked.append(host)
        return [LOOPBACK]  # no real DNS knows this name: a second lookup anywhere would fail

    with EgressProxy([f"media.example:{port}"], setting="factory.allowed_hosts", resolver=dns) as proxy:
        response = httpx.get(f"http://media.example:{port}/clip?token=1", proxy=proxy.url, timeout=10)
        other_port = httpx.get(f"http://media.example:{int(port) + 1}/", proxy=proxy.url, timeout=10)
    assert response.status_code == 200 and b"secrets" in response.content
    assert response.headers["connection"] == "close"  # one request per connection through the proxy
    assert secret.requests == ["/clip?token=1"]
    assert asked == ["media.example", "media.example"]
    assert other_port.status_code == 403  # the allow-list names a port: another one is not allowed
    assert "add it to factory.allowed_hosts" in other_port.headers[REFUSED_HEADER]


def test_a_request_head_that_never_ends_is_cut_off() -> None:
    limits = EgressLimits(head_bytes=4096, head_seconds=5)
    with EgressProxy([], setting="discovery.allowed_hosts", limits=limits) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
            client.sendall(b"GET http://127.0.0.1/ HTTP/1.1\r\n")
            try:
                for _ in range(10):  # 80 KB, past the limit
                    client.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
                answer = client.recv(1024)  # a proxy still reading would leave this waiting: a timeout fails
            except ConnectionError:
                answer = b""
    assert answer == b""  # the proxy hung up, without a word


def test_a_request_body_flows_while_the_answer_is_awaited() -> None:
    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - reads the whole body before it answers, as servers do
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with EgressProxy(["127.0.0.1"], setting="discovery.allowed_hosts") as proxy:
            sent = b"event log " * 20_000
            echoed = httpx.post(f"http://127.0.0.1:{server.server_address[1]}/events", content=sent,
                                proxy=proxy.url, timeout=10)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert echoed.status_code == 200 and echoed.content == sent
