"""The age gate: a real headless Chromium passes it and plays; nothing is served around it.

Direct playlist and segment requests without a token get 403; the token link the
gate hands out for plain HLS players works, its token is written into every URI
served, and a tampered, expired or borrowed token does not work.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import httpx
from origin_support import (
    PROFILE,
    chromium_page,
    make_programmes,
    origin_settings,
    schedule_run,
    start_origin,
    write_live_playlists,
)
from player_probe import PLAYING

from vvtv.clock import US
from vvtv.config import ChannelSettings
from vvtv.origin.gate import TokenSigner, age_on
from vvtv.processing.package import SEGMENT_PATTERN
from vvtv.runtime import Runtime

SECRET = "a test secret"
GATED = ChannelSettings(name="main", title="After dark", profile="tiny", compliance={"min_age": 18})
OPEN = ChannelSettings(name="second", title="Open", profile="tiny")
GATE_SHOWN = "() => !document.getElementById('gate').hidden && document.getElementById('video').paused"


def segment_url(base: str, asset_path: str, index: int = 0) -> str:
    return f"{base}/{asset_path}/{PROFILE.renditions[0].name}/{SEGMENT_PATTERN % index}"


def test_gate_then_playback_and_no_way_around_it(tmp_path: Path) -> None:
    settings = origin_settings(
        tmp_path / "var", origin={"port": 0, "token_secret": SECRET, "token_seconds": 120}, channels=[GATED, OPEN]
    )
    rt = Runtime.open(settings)
    alpha, bravo, open_only = make_programmes(rt, ["Alpha", "Bravo", "Charlie"], seconds=8)
    t = rt.clock.now_us()
    entries = schedule_run(rt, "main", [alpha, bravo, alpha, bravo], start_us=t - 16 * US)
    write_live_playlists(settings, "main", entries[:2], default=True)
    schedule_run(rt, "second", [open_only, bravo], start_us=t - 16 * US)
    origin = start_origin(settings)
    base = origin.url
    try:
        # Around the gate: every playlist and every segment only the gated channel airs.
        with httpx.Client(timeout=10) as client:
            for path in ("/live.m3u8", "/channels/main/live.m3u8", f"/channels/main/{PROFILE.renditions[0].name}.m3u8"):
                response = client.get(base + path)
                assert response.status_code == 403, path
                assert response.headers["cache-control"] == "no-store"
            assert client.get(segment_url(base, alpha.path)).status_code == 403
            # A segment an open channel airs too is public (Bravo is on both), and one only it airs.
            for asset in (bravo, open_only):
                response = client.get(segment_url(base, asset.path))
                assert response.status_code == 200 and response.headers["cache-control"].startswith("public")
            assert client.get(base + "/channels/second/").status_code == 200

        with chromium_page() as page:
            page.goto(base + "/")
            page.wait_for_function(GATE_SHOWN)
            page.wait_for_timeout(1_000)
            assert page.evaluate("() => window.vvtvPlayer.hls") is None  # nothing loads before the gate

            today = datetime.now(timezone.utc).date()
            page.fill("input[name=birthdate]", today.replace(year=today.year - 17).isoformat())
            page.click("#gate button")
            page.wait_for_function("() => document.getElementById('gate-error').textContent.includes('18')")
            assert page.evaluate("() => window.vvtvPlayer.hls") is None

            page.fill("input[name=birthdate]", "1990-02-28")
            page.click("#gate button")
            page.wait_for_function(PLAYING, timeout=30_000)
            assert page.evaluate("() => document.getElementById('gate').hidden")
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["vvtv_token_main"]["httpOnly"] and cookies["vvtv_session"]["httpOnly"]
            bound_token = cookies["vvtv_token_main"]["value"]

            # A returning viewer with a valid token cookie is not asked again.
            page.reload()
            page.wait_for_function(PLAYING, timeout=30_000)
            assert page.evaluate("() => document.getElementById('gate').hidden")

        with httpx.Client(timeout=10) as client:
            # The link for players that keep no cookies.
            reply = client.post(base + "/api/channels/main/gate", json={"birthdate": "1990-02-28"})
            assert reply.status_code == 200, reply.text
            link = reply.json()["link"]
            token = link.split("token=", 1)[1]
            client.cookies.clear()  # a plain player: the link alone
            master = client.get(base + link)
            assert master.status_code == 200 and master.headers["cache-control"] == "private, max-age=1"
            uris = [line for line in master.text.splitlines() if line and not line.startswith("#")]
            assert uris and all(uri.endswith(f"?token={token}") for uri in uris), uris
            media = client.get(f"{base}/channels/main/{uris[0]}")
            assert media.status_code == 200
            segments = [line for line in media.text.splitlines() if line and not line.startswith("#")]
            assert segments and all(uri.endswith(f"?token={token}") for uri in segments), segments
            # One of Alpha's, which only the gated channel airs (the live window moves with the clock).
            segment = client.get(f"{base}/channels/main/{next(s for s in segments if f'/{alpha.path}/' in s)}")
            assert segment.status_code == 200 and segment.headers["cache-control"].startswith("private")
            assert segment.content[0] == 0x47  # an MPEG-TS packet

            # The gate refuses the young and nonsense, and nothing it refuses opens anything.
            young = client.post(base + "/api/channels/main/gate", json={"birthdate": today.isoformat()})
            assert young.status_code == 403 and "18" in young.json()["error"]
            assert client.post(base + "/api/channels/main/gate", json={"birthdate": "yesterday"}).status_code == 400
            assert client.post(base + "/api/channels/second/gate", json={"birthdate": "1990-01-01"}).status_code == 404

            channel, expires, kind, signature = token.split(".")
            signer = TokenSigner(key=SECRET.encode(), ttl_us=120 * US)
            refused = {
                "tampered expiry": f"{channel}.{int(expires) + 3600}.{kind}.{signature}",
                "other channel": f"second.{expires}.{kind}.{signature}",
                "wrong key": TokenSigner(key=b"other", ttl_us=120 * US).issue("main", rt.clock.now_us(),
                                                                             session=None).text,
                "expired": signer.issue("main", rt.clock.now_us() - 121 * US, session=None).text,
                # The browser's token, without the session cookie it is bound to.
                "bound, no session": bound_token,
            }  # fmt: skip
            for reason, bad in refused.items():
                for url in (f"{base}/channels/main/live.m3u8", segment_url(base, alpha.path)):
                    # A client without the gate's cookies: only the token counts.
                    assert httpx.get(url, params={"token": bad}, timeout=10).status_code == 403, (reason, url)
            # The same token made now with the right key works: the refusals above are about the token.
            good = signer.issue("main", rt.clock.now_us(), session=None).text
            assert httpx.get(segment_url(base, alpha.path), params={"token": good}, timeout=10).status_code == 200
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0


def test_confirmation_gate_and_cookie_renewal(tmp_path: Path) -> None:
    confirm = ChannelSettings(name="main", profile="tiny", compliance={"min_age": 16, "gate": "confirm"})
    settings = origin_settings(tmp_path / "var", origin={"port": 0}, channels=[confirm])
    rt = Runtime.open(settings)
    (alpha,) = make_programmes(rt, ["Alpha"], seconds=4)
    entries = schedule_run(rt, "main", [alpha], start_us=rt.clock.now_us() - 4 * US)
    write_live_playlists(settings, "main", entries, default=True)
    origin = start_origin(settings)
    try:
        with httpx.Client(base_url=origin.url, timeout=10) as client:
            assert client.post("/api/channels/main/gate", json={"confirm": False}).status_code == 400
            assert client.post("/api/channels/main/gate", json={"birthdate": "1990-01-01"}).status_code == 400
            passed = client.post("/api/channels/main/gate", json={"confirm": True})
            assert passed.status_code == 200
            # The client keeps the cookies, as a browser does: playlists renew the token cookie.
            playlist = client.get("/live.m3u8")
            assert playlist.status_code == 200
            assert "vvtv_token_main=" in playlist.headers["set-cookie"]
            assert client.get(segment_url("", alpha.path)).status_code == 200
            client.cookies.clear()
            assert client.get("/live.m3u8").status_code == 403
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0
    # The key was made once in the data folder (no token_secret set), readable by its owner only.
    key = settings.run_dir / "token.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32


def test_age_counts_whole_years() -> None:
    assert age_on(date(2008, 6, 2), date(2026, 6, 1)) == 17
    assert age_on(date(2008, 6, 2), date(2026, 6, 2)) == 18
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
