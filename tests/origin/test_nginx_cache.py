"""deploy/nginx-cache.conf with the real NGINX in front of the real origin: what a CDN edge does.

The deploy file is used as it is, but for the three things a test must move: the
port NGINX listens on, the origin's address and the cache folder.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from livesystem import free_port
from origin_support import PROFILE, make_programmes, origin_settings, schedule_run, start_origin, write_live_playlists

from vvtv.clock import US
from vvtv.config import ChannelSettings
from vvtv.processing.package import SEGMENT_PATTERN
from vvtv.runtime import Runtime

DEPLOY = Path(__file__).parents[2] / "deploy" / "nginx-cache.conf"
MAIN = """
daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log info;
pid {root}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/vvtv.conf;
}}
"""


@contextmanager
def nginx_in_front(root: Path, origin_port: int) -> Iterator[str]:
    """NGINX with the deploy file, listening on a free port; yields its base URL, stopped by PID afterwards."""
    root.mkdir(parents=True)
    port = free_port()
    text = DEPLOY.read_text()
    for old, new in {
        "listen 8081;": f"listen 127.0.0.1:{port};",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{origin_port};",
        "/var/cache/nginx/vvtv": str(root / "cache"),
    }.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (root / "vvtv.conf").write_text(text)
    (root / "nginx.conf").write_text(MAIN.format(root=root))
    process = subprocess.Popen(
        ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("nginx did not listen within 10 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_playlists_and_segments_through_the_nginx_cache(tmp_path: Path) -> None:
    channels = [
        ChannelSettings(name="main", profile="tiny"),
        ChannelSettings(name="late", profile="tiny", compliance={"min_age": 18}),
    ]
    settings = origin_settings(tmp_path / "var", channels=channels, origin={"port": 0, "token_secret": "s"})
    rt = Runtime.open(settings)
    alpha, bravo = make_programmes(rt, ["Alpha", "Bravo"], seconds=4)
    t = rt.clock.now_us()
    write_live_playlists(settings, "main", schedule_run(rt, "main", [alpha], start_us=t - 4 * US), default=True)
    write_live_playlists(settings, "late", schedule_run(rt, "late", [bravo], start_us=t - 4 * US), default=False)
    rendition = PROFILE.renditions[0].name
    origin = start_origin(settings)
    try:
        with nginx_in_front(tmp_path / "nginx", origin.port) as edge, httpx.Client(timeout=10) as client:
            # Segments: fetched once from the origin, then from the cache, byte for byte.
            segment = f"{edge}/{alpha.path}/{rendition}/{SEGMENT_PATTERN % 0}"
            first, second = client.get(segment), client.get(segment)
            assert (first.status_code, first.headers["x-cache-status"]) == (200, "MISS")
            assert (second.status_code, second.headers["x-cache-status"]) == (200, "HIT")
            assert second.content == first.content and first.content[0] == 0x47
            assert second.headers["cache-control"] == "public, max-age=31536000, immutable"

            # Playlists live one second, less than a segment: a request right after another is a hit.
            playlist = f"{edge}/channels/main/{rendition}.m3u8"
            max_age = int(client.get(playlist).headers["cache-control"].rpartition("max-age=")[2])
            assert max_age < PROFILE.segment_seconds
            statuses = []
            for _ in range(5):  # bounded: a starved machine may let a second pass between two requests
                pair = [client.get(playlist) for _ in range(2)]
                assert all(r.status_code == 200 and "#EXTINF" in r.text for r in pair)
                statuses.append(pair[1].headers["x-cache-status"])
                if statuses[-1] == "HIT":
                    break
            assert "HIT" in statuses, statuses
            master = client.get(f"{edge}/live.m3u8")
            assert master.status_code == 200 and f"channels/main/{rendition}.m3u8" in master.text

            # A gated channel: refusals are not stored, and what a token opens is private, never shared.
            late = f"{edge}/channels/late/{rendition}.m3u8"
            assert [client.get(late).status_code for _ in range(2)] == [403, 403]
            reply = client.post(f"{edge}/api/channels/late/gate", json={"birthdate": "1990-01-01"})
            assert reply.status_code == 200
            client.cookies.clear()
            link = f"{edge}{reply.json()['link'].replace('live.m3u8', f'{rendition}.m3u8')}"
            opened = [client.get(link) for _ in range(2)]
            assert [r.status_code for r in opened] == [200, 200]
            assert all(r.headers["cache-control"].startswith("private") for r in opened)
            assert all(r.headers["x-cache-status"] != "HIT" for r in opened)
            assert client.get(late).status_code == 403  # the token's answer was not cached for others
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0
