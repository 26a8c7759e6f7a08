"""Small web sites the discovery tests build: a real HTTP server on 127.0.0.1, port 0.

A site is a function from the requested path (with its query) to a Reply. The
server logs every path it is asked for and can run a hook when one is asked
for (the hostile test kills the browser from one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from vvtv.demo.site_media import make_media


@dataclass(kw_only=True)
class Reply:
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)  # more headers (Location for a redirect)
    # A body of this many zero bytes announced in Content-Length, of which at most `stream_cap` are sent.
    endless_bytes: int = 0
    stream_cap: int = 64 * 1024 * 1024


def page(html: str) -> Reply:
    return Reply(body=html.encode())


NOT_FOUND = Reply(status=404, content_type="text/plain", body=b"not found")


@dataclass(kw_only=True)
class SiteServer:
    routes: Callable[[str], Reply]
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)  # path -> run when it is requested
    requests: list[str] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def __enter__(self) -> SiteServer:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                if self.path in site.hooks:
                    site.hooks[self.path]()
                reply = site.routes(self.path)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                body = reply.file.read_bytes() if reply.file else reply.body
                length = reply.endless_bytes or len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    if reply.endless_bytes:
                        self._stream(reply)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, reply: Reply) -> None:
                chunk = bytes(64 * 1024)
                while site.bytes_sent.get(self.path, 0) < reply.stream_cap:
                    self.wfile.write(chunk)
                    site.bytes_sent[self.path] = site.bytes_sent.get(self.path, 0) + len(chunk)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def demo_media(tmp_path_factory) -> Path:  # noqa: ANN001
    """The demo site's media folder, made once per test session (shared with the demo-site process)."""
    return make_media(tmp_path_factory.getbasetemp() / "demo-site-data" / "demo-site")
