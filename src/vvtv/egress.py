"""The egress proxy: every connection Chromium and yt-dlp make goes through here, and only to allowed addresses.

Checking a URL before it is fetched is not enough. A public page may redirect
to 127.0.0.1, a name may resolve to a public address when it is checked and to
a private one when it is fetched (DNS rebinding), and WebSockets and service
workers go round the browser's request routing. So Chromium (`--proxy-server`)
and yt-dlp (`proxy`) send every request, every redirect hop and every WebSocket
here. For each connection the proxy resolves the host once, checks every
address it got (netsafety's rules, or the operator's allow-list, host and port
exactly) and connects to that very address:

- `CONNECT host:port` (https, wss, and ws from Chromium) becomes a tunnel;
- an absolute-form request (`GET http://host/path`) is sent on as an
  origin-form one on a connection of its own, `Connection: close` both ways
  (an `Upgrade` request, a plain ws handshake, keeps its connection);
- a refused one is answered `403` with the reason in `X-VVTV-Egress-Refused`,
  and remembered per host and port so that the browser can show it on the page
  that asked (`refusal_for`).

The proxy runs on its own thread and event loop, listens on 127.0.0.1 only,
and bounds everything: connections at once, the request head's size and time,
the lookup, the connect and the silence on a connection. It logs host, port
and why, never a path, a query or a header (they may carry secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from vvtv.errors import InputError, ToolError
from vvtv.netsafety import Address, Resolver, address_refusal, host_allowed, resolve, resolve_within

log = logging.getLogger(__name__)

REFUSED_HEADER = "X-VVTV-Egress-Refused"
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
HOP_HEADERS = ("connection", "proxy-connection", "proxy-authorization", "keep-alive")
REMEMBERED_REFUSALS = 256


@dataclass(kw_only=True, frozen=True)
class EgressLimits:
    max_connections: int = 64
    head_bytes: int = 64 * 1024  # a request's or response's line and headers
    head_seconds: float = 10.0
    resolve_seconds: float = 5.0
    connect_seconds: float = 10.0
    idle_seconds: float = 120.0  # no byte either way for this long: the connection is closed


class _Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def host_port(url: str) -> str:
    """`host:port` of a URL, the key refusals are remembered by."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 80)
    return f"{(parts.hostname or '').lower()}:{port}"


class EgressProxy:
    """A filtering HTTP proxy on 127.0.0.1; start() and stop() it, or use it as a context manager."""

    def __init__(
        self,
        allowed_hosts: Collection[str],
        *,
        setting: str,
        resolver: Resolver = resolve,
        limits: EgressLimits = EgressLimits(),
    ) -> None:
        self.allowed_hosts = list(allowed_hosts)
        self.setting = setting  # the allow-list named in refusals, so the operator knows which to edit
        self.limits = limits
        self._resolver = resolver
        self._refused: dict[str, str] = {}  # host:port -> why, the latest few
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EgressProxy:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="vvtv-egress", daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            self.stop()
            raise ToolError(f"the egress proxy could not start: {failure[0] if failure else 'timed out'}")

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def refusal_for(self, url: str) -> str | None:
        """Why the proxy refused a connection to this URL's host and port, if it did."""
        with self._lock:
            return self._refused.get(host_port(url))

    def refusals(self) -> list[str]:
        """`host:port: why` for the connections refused lately, oldest first."""
        with self._lock:
            return [f"{target}: {why}" for target, why in self._refused.items()]

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(self._accept, "127.0.0.1", 0, limit=self.limits.head_bytes)
            )
        except OSError as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown(server))
            loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= self.limits.max_connections:
            await _answer(writer, 503, "too many connections through the egress proxy")
            return
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, asyncio.TimeoutError):
            pass  # a client or a server that went away or stalled: its connection ends here
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.limits.head_seconds)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        try:
            method, target, version = _split_request_line(request_line)
            host, port, origin_form = _destination(method, target)
            addresses = await self._decide(host, port)
        except _Refused as refused:
            if refused.status == 403:
                self._remember(host, port, refused.why)
            await _answer(writer, refused.status, refused.why)
            return
        up_reader, up_writer = await self._connect(addresses, port, host, writer)
        if up_writer is None:
            return
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                downstream = self._pipe(up_reader, writer)
            else:
                upgrade = any(_named(line, "upgrade") for line in header_lines)
                up_writer.write(_request_head(method, origin_form, version, header_lines, upgrade=upgrade))
                downstream = self._relay_response(up_reader, writer, upgrade=upgrade)
            # Both ways at once: a request's body (a POST) flows while its answer is awaited.
            await self._until_answered(self._pipe(reader, up_writer, half_close=True), downstream)
        finally:
            up_writer.close()

    async def _decide(self, host: str, port: int) -> list[Address]:
        """The addresses to connect to, resolved once; _Refused when one is not an address VVTV may reach."""
        try:
            addresses = await resolve_within(host, self.limits.resolve_seconds, self._resolver)
        except InputError as exc:
            raise _Refused(502, str(exc)) from None
        if not host_allowed(host, port, self.allowed_hosts):
            for address in addresses:
                why = address_refusal(host, address, self.setting)
                if why:
                    raise _Refused(403, why)
        return addresses

    async def _connect(
        self, addresses: list[Address], port: int, host: str, client: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        """A connection to the first of the checked addresses that answers (never to the name again)."""
        failure = ""
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(str(address), port, limit=self.limits.head_bytes),
                    self.limits.connect_seconds,
                )
            except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
                failure = type(exc).__name__
        await _answer(client, 502, f"cannot connect to {host}:{port}: {failure}")
        return asyncio.StreamReader(), None

    async def _relay_response(
        self, upstream: asyncio.StreamReader, client: asyncio.StreamWriter, *, upgrade: bool
    ) -> None:
        """The response's head with `Connection: close` (a connection carries one request) and no forged refusal;
        then its body."""
        head = await asyncio.wait_for(upstream.readuntil(b"\r\n\r\n"), self.limits.idle_seconds)
        status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        switching = upgrade and status_line.split(" ")[1:2] == ["101"]
        kept = [line for line in lines if not _named(line, REFUSED_HEADER.lower())]
        if not switching:
            kept = [line for line in kept if not _named(line, *HOP_HEADERS)] + ["Connection: close"]
        client.write("\r\n".join([status_line, *kept, "", ""]).encode("latin-1"))
        await self._pipe(upstream, client)

    @staticmethod
    async def _until_answered(upstream: Awaitable[None], downstream: Awaitable[None]) -> None:
        """Run both pipes of a connection; it ends when the server's side does (the client's end is passed on)."""
        pipes = [asyncio.ensure_future(upstream), asyncio.ensure_future(downstream)]
        try:
            await pipes[1]
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, half_close: bool = False
    ) -> None:
        idle = self.limits.idle_seconds
        with contextlib.suppress(OSError, TimeoutError, asyncio.TimeoutError):
            while data := await asyncio.wait_for(reader.read(64 * 1024), idle):
                writer.write(data)
                await asyncio.wait_for(writer.drain(), idle)
            if half_close and writer.can_write_eof():
                writer.write_eof()  # the client is done sending: so is the proxy, and the server may finish

    def _remember(self, host: str, port: int, why: str) -> None:
        log.warning("egress refused %s:%s: %s", host, port, why)
        with self._lock:
            self._refused.pop(f"{host}:{port}", None)
            self._refused[f"{host}:{port}"] = why
            while len(self._refused) > REMEMBERED_REFUSALS:
                self._refused.pop(next(iter(self._refused)))


def _split_request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(400, "not an HTTP/1 proxy request")
    return parts[0].upper(), parts[1], parts[2]


def _destination(method: str, target: str) -> tuple[str, int, str]:
    """Host, port and origin-form target of a proxy request (CONNECT's authority or an absolute URL)."""
    if method == "CONNECT":
        target = f"//{target}"
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise _Refused(400, "not a valid request target") from None
    if method != "CONNECT" and parts.scheme.lower() not in ("http", "ws"):
        raise _Refused(400, f"scheme {parts.scheme or '(none)'!r} is not proxied (http and CONNECT only)")
    host = (parts.hostname or "").lower()
    if not host or (method == "CONNECT" and port is None):
        raise _Refused(400, "no host and port in the request")
    origin_form = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, port or 80, origin_form


def _request_head(method: str, target: str, version: str, lines: list[str], *, upgrade: bool) -> bytes:
    kept = [line for line in lines if not _named(line, *HOP_HEADERS)]
    if upgrade:  # a WebSocket handshake: the connection is the point
        kept += [line for line in lines if _named(line, "connection")]
    else:
        kept.append("Connection: close")
    return "\r\n".join([f"{method} {target} {version}", *kept, "", ""]).encode("latin-1")


def _named(line: str, *names: str) -> bool:
    return line.split(":", 1)[0].strip().lower() in names


async def _answer(writer: asyncio.StreamWriter, status: int, why: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
    body = f"{why}\n".encode()
    safe_why = why.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\n{REFUSED_HEADER}: {safe_why}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1") + body
    )
    with contextlib.suppress(OSError, TimeoutError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.drain(), 5)

