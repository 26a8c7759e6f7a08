"""The origin over real HTTP: `vvtv run origin` serving a tiny channel made with real ffmpeg.

Checks the HTTP contract players and CDNs rely on (content types, caching,
CORS, HEAD, byte ranges), the path safety with raw request paths (a client
library would normalise `..` away), /healthz and the guide API.
"""

from __future__ import annotations

import http.client
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from origin_support import (
    OriginProcess,
    add_poster,
    make_programmes,
    origin_settings,
    schedule_run,
    start_origin,
    write_live_playlists,
)

from vvtv.broadcast.playlists import parse_published
from vvtv.clock import US
from vvtv.config import Settings
from vvtv.runtime import Runtime
from vvtv.storage.models import ScheduleEntry

SECRET = "top-secret-not-for-viewers"


@dataclass(kw_only=True)
class Served:
    settings: Settings
    origin: OriginProcess
    entries: list[ScheduleEntry]  # channel main's timeline

    @property
    def media(self) -> Path:
        return self.settings.media_dir

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.origin.url + path, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    data = tmp_path_factory.mktemp("origin-http") / "var"
    # Playlists here are written once, so health allows them a minute before calling them stale.
    settings = origin_settings(data, origin={"port": 0, "stale_segments": 30})
    rt = Runtime.open(settings)
    assets = make_programmes(rt, ["Alpha", "Bravo", "Charlie"], seconds=4)
    add_poster(rt, assets[0])
    now = rt.clock.now_us()
    # Main: three programmes already aired, then the same three repeated for ten minutes.
    entries = schedule_run(rt, "main", assets * 50, start_us=now - 12 * US)
    write_live_playlists(settings, "main", entries[:3], default=True)
    write_live_playlists(settings, "second", schedule_run(rt, "second", assets, start_us=now - 12 * US), default=False)
    # Things that must never be served: the database, a secret beside the media
    # folder, symlinks and a writer's temp file inside it.
    (data / "secret.m3u8").write_text(SECRET)
    (data / "outside").mkdir()
    (data / "outside" / "secret.ts").write_text(SECRET)
    (settings.media_dir / "assets" / "leak.m3u8").symlink_to(data / "secret.m3u8")
    (settings.media_dir / "assets" / "leakdir").symlink_to(data / "outside", target_is_directory=True)
    (settings.media_dir / "channels" / "main" / ".small.m3u8.tmp1").write_text(SECRET)
    origin = start_origin(settings)
    try:
        yield Served(settings=settings, origin=origin, entries=entries)
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0, f"the origin did not stop cleanly on SIGTERM: {origin.log.read_text()}"


def segment_urls(served: Served, playlist_path: str) -> list[str]:
    """Absolute URLs of the segments a media playlist lists, resolved as a player does."""
    response = served.get(playlist_path)
    base = served.origin.url + playlist_path
    return [urljoin(base, line) for line in response.text.splitlines() if line and not line.startswith("#")]


def raw_get(served: Served, path: str, method: str = "GET") -> tuple[int, bytes]:
    """A request with the path sent exactly as given (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", served.origin.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path", ["/live.m3u8", "/channels/main/live.m3u8", "/channels/main/small.m3u8", "/channels/second/tiny.m3u8"]
)
def test_playlists_are_served_fresh_and_cross_origin(served: Served, path: str) -> None:
    response = served.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert response.headers["cache-control"] == "public, max-age=1"
    assert response.headers["access-control-allow-origin"] == "*"
    on_disk = (served.media / path.lstrip("/")).read_bytes()
    if path.endswith("live.m3u8"):
        assert response.content == on_disk
    else:
        # Written once at set-up, the file falls behind the timeline: the origin answers from the timeline.
        served_state, disk_state = parse_published(response.text), parse_published(on_disk.decode())
        assert served_state.media_sequence >= disk_state.media_sequence
        assert served_state.newest_seq >= disk_state.newest_seq


def test_master_playlist_leads_to_media_playlists_and_segments(served: Served) -> None:
    master = served.get("/live.m3u8").text
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert variants == ["channels/main/small.m3u8", "channels/main/tiny.m3u8"]
    for variant in variants:
        urls = segment_urls(served, "/" + variant)
        assert len(urls) == 6  # three programmes of two segments
        assert all(url.startswith(served.origin.url + "/assets/") for url in urls)


def test_segments_are_immutable_video_with_cors_and_ranges(served: Served) -> None:
    url = segment_urls(served, "/channels/main/small.m3u8")[0]
    response = httpx.get(url, timeout=10)
    file = served.media / url.removeprefix(served.origin.url + "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp2t"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == file.stat().st_size
    assert response.content == file.read_bytes()
    assert response.content[0] == 0x47  # an MPEG-TS sync byte


def test_head_and_byte_ranges_on_segments(served: Served) -> None:
    url = segment_urls(served, "/channels/main/tiny.m3u8")[1]
    data = (served.media / url.removeprefix(served.origin.url + "/")).read_bytes()
    size = len(data)
    head = httpx.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == size
    assert head.headers["content-type"] == "video/mp2t"

    first = httpx.get(url, headers={"Range": "bytes=0-187"}, timeout=10)
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-187/{size}"
    assert first.content == data[:188]
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"

    rest = httpx.get(url, headers={"Range": "bytes=188-"}, timeout=10)
    assert rest.status_code == 206 and rest.content == data[188:]
    suffix = httpx.get(url, headers={"Range": "bytes=-376"}, timeout=10)
    assert suffix.status_code == 206 and suffix.content == data[-376:]

    beyond = httpx.get(url, headers={"Range": f"bytes={size + 10}-"}, timeout=10)
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


def test_cors_preflight(served: Served) -> None:
    url = segment_urls(served, "/channels/main/small.m3u8")[0]
    response = httpx.options(
        url,
        headers={"Origin": "https://player.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "range"},  # fmt: skip
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "range" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-max-age"] == "86400"


def test_posters_and_fragmented_mp4_segments_have_their_types(served: Served) -> None:
    guide = served.get("/api/channels/main/guide").json()
    items = [item for item in [*guide["recent"], guide["on_air"], *guide["next"]] if item]
    posters = {item["poster_url"] for item in items if item["poster_url"]}
    assert posters, "Alpha has a poster and airs every 12 s"
    poster = served.get(posters.pop())
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:2] == b"\xff\xd8"
    fragment = next((served.media / "assets").glob("*-alpha")) / "small" / "seg_test.m4s"
    fragment.write_bytes(b"\x00\x00\x00\x08styp")
    response = served.get("/" + fragment.relative_to(served.media).as_posix())
    assert response.status_code == 200 and response.headers["content-type"] == "video/iso.segment"


def test_only_media_types_are_served_from_the_media_folder_and_never_sniffed(served: Served) -> None:
    folder = next((served.media / "assets").glob("*-alpha"))
    # Names a downloaded source's title could lead to, with content a browser would run.
    (folder / "page.html").write_text("<script>alert(document.cookie)</script>")
    (folder / "poster.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    (folder / "app.js").write_text("alert(1)")
    for name in ("page.html", "poster.svg", "app.js"):
        response = served.get(f"/assets/{folder.name}/{name}")
        assert response.status_code == 404, name
        assert "alert" not in response.text
    for path in ["/live.m3u8", f"/assets/{folder.name}/small/seg_00000.ts", "/static/player.js"]:
        response = served.get(path)
        assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff", path


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../../vvtv.db",
        "/assets/../secret.m3u8",
        "/assets/../../secret.m3u8",
        "/assets/%2e%2e/secret.m3u8",
        "/channels/main/%2E%2E/%2e%2e/%2e%2e/secret.m3u8",
        "/assets/%2e%2e%2fsecret.m3u8",
        "/channels/..%2f..%2f..%2fsecret.m3u8",
        "/assets/..\\secret.m3u8",
        "/assets/%2fetc%2fpasswd",
        "/channels//etc/passwd",
        "//etc/passwd",
        "/live.m3u8%00",
        "/assets/x%00.ts",
        "/assets/leak.m3u8",
        "/assets/leakdir/secret.ts",
        "/channels/main/.small.m3u8.tmp1",
        "/vvtv.db",
        "/secret.m3u8",
        "/media/live.m3u8",
        "/static/%2e%2e/app.py",
        "/static/../page.py",
    ],
)
def test_nothing_outside_the_media_roots_is_reachable(served: Served, path: str) -> None:
    status, body = raw_get(served, path)
    assert status in (400, 404), f"{path} answered {status}"
    assert SECRET.encode() not in body
    # An error says nothing about the file system.
    assert str(served.settings.data_dir).encode() not in body
    assert b"Traceback" not in body


def test_errors_are_not_cached(served: Served) -> None:
    response = served.get("/assets/none/small/seg_00000.ts")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"


def test_only_reading_methods_are_allowed(served: Served) -> None:
    status, _ = raw_get(served, "/live.m3u8", method="POST")
    assert status == 405
    status, _ = raw_get(served, "/channels/main/small.m3u8", method="DELETE")
    assert status == 405


def test_player_page_of_the_default_channel_and_of_others(served: Served) -> None:
    page = served.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'data-playlist="/live.m3u8"' in page.text
    assert 'data-guide="/api/channels/main/guide"' in page.text
    assert "<title>VVTV test</title>" in page.text
    assert '<video id="video" muted autoplay playsinline>' in page.text
    second = served.get("/channels/second/")
    assert 'data-playlist="/channels/second/live.m3u8"' in second.text
    assert "<title>VVTV second</title>" in second.text
    assert served.get("/channels/nowhere/").status_code == 404


def test_the_page_loads_nothing_from_elsewhere(served: Served) -> None:
    page = served.get("/").text
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert references and all(ref.startswith("/") or ref.startswith("data:") for ref in references), references
    for asset in ("/static/player.js", "/static/player.css"):
        text = served.get(asset).text
        assert "http://" not in text and "https://" not in text, asset


def test_static_files_have_their_types_and_hls_js_is_local(served: Served) -> None:
    script = served.get("/static/player.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert served.get("/static/player.css").headers["content-type"] == "text/css; charset=utf-8"
    library = served.get("/static/vendor/hls.min.js")
    assert library.status_code == 200, "hls.js is missing: run `make web` (npm ci, then scripts/vendor_player.sh)"
    assert library.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"isSupported" in library.content
    assert served.get("/static/nothing.js").status_code == 404


def touch_playlists(served: Served, channel: str, *, age_s: float = 0) -> None:
    moment = time.time() - age_s
    for playlist in (served.media / "channels" / channel).glob("*.m3u8"):
        os.utime(playlist, (moment, moment))


def test_healthz_turns_503_when_a_channel_stops_moving(served: Served) -> None:
    touch_playlists(served, "main")
    touch_playlists(served, "second")
    healthy = served.get("/healthz")
    assert healthy.status_code == 200
    body = healthy.json()
    assert body["status"] == "ok"
    assert set(body["channels"]) == {"main", "second"}
    assert body["channels"]["main"]["ok"] is True
    assert 0 <= body["channels"]["main"]["playlist_age_s"] < body["channels"]["main"]["max_age_s"]
    assert body["channels"]["main"]["media_sequence"] == 0
    try:
        touch_playlists(served, "second", age_s=3600)
        stale = served.get("/healthz")
        assert stale.status_code == 503
        assert stale.headers["cache-control"] == "no-store"
        body = stale.json()
        assert body["status"] == "stale"
        assert body["channels"]["main"]["ok"] is True
        assert body["channels"]["second"]["ok"] is False
        assert body["channels"]["second"]["playlist_age_s"] >= 3600
        assert "not updated" in body["channels"]["second"]["problem"]
    finally:
        touch_playlists(served, "second")
    assert served.get("/healthz").status_code == 200


def test_guide_api_names_what_is_on_now_and_next(served: Served) -> None:
    response = served.get("/api/channels/main/guide")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    guide = response.json()
    now_us = guide["now_us"]
    # What the timeline says should be on at the moment the origin answered.
    current = next(i for i, e in enumerate(served.entries) if e.start_us <= now_us < e.end_us)
    on_air = guide["on_air"]
    assert on_air["ordinal"] == served.entries[current].ordinal
    assert on_air["title"] == served.entries[current].asset.title
    assert (on_air["start_us"], on_air["end_us"]) == (served.entries[current].start_us, served.entries[current].end_us)
    assert on_air["kind"] == "programme"
    expected_next = served.entries[current + 1 : current + 1 + served.settings.origin.guide_next]
    assert [item["ordinal"] for item in guide["next"]] == [e.ordinal for e in expected_next]
    assert [item["title"] for item in guide["next"]] == [e.asset.title for e in expected_next]
    assert all(item["end_us"] <= on_air["start_us"] for item in guide["recent"])
    assert guide["recent"], "entries that ended within a live window are listed"


def test_guide_of_an_unknown_channel_is_a_404_naming_it(served: Served) -> None:
    response = served.get("/api/channels/nowhere/guide")
    assert response.status_code == 404
    assert "nowhere" in response.json()["error"]
