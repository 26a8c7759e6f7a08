"""A media website for the Factory's tests: `python media_server.py FOLDER` prints its URL.

Besides the files in FOLDER it answers /stall/<name> (headers and a few bytes,
then silence), /huge/<name> (announces and streams 50 MB of zeros) and
/redirect/<host>/<path> (a 302 to <path> on <host>, same port).
"""

from __future__ import annotations

import functools
import http.server
import sys
import time

HUGE_BYTES = 50_000_000


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/stall/"):
            self._headers(1_000_000)
            self.wfile.write(b"\0" * 1000)
            self.wfile.flush()
            time.sleep(600)
            return
        if self.path.startswith("/redirect/"):  # /redirect/<host>/<path>: to this port on another host
            host, _, rest = self.path.removeprefix("/redirect/").partition("/")
            self.send_response(302)
            self.send_header("Location", f"http://{host}:{self.server.server_address[1]}/{rest}")
            self.end_headers()
            return
        if self.path.startswith("/huge/"):
            self._headers(HUGE_BYTES)
            chunk = b"\0" * 1_000_000
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client hung up at its size cap
            return
        super().do_GET()

    def _headers(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(length))
        self.end_headers()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up early is expected here
            super().handle_error(request, client_address)


def main() -> None:
    server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
