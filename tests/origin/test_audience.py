"""Viewer statistics from real segment requests to `vvtv run origin`.

Two viewers watch channel main over real HTTP: one with the player page's cookie who
stays for the whole first programme, one without cookies who leaves after two segments.
What the origin records must say exactly that, and must hold nothing that names them.
"""

from __future__ import annotations

from urllib.parse import urljoin

import httpx
import pytest
from origin_support import make_programmes, origin_settings, schedule_run, start_origin, write_live_playlists
from sqlalchemy import select

from vvtv.clock import US
from vvtv.origin.audience import VIEWER_COOKIE, ViewerKeys, programme_stats
from vvtv.runtime import Runtime
from vvtv.storage.models import Viewing


def segment_urls(base: str, client: httpx.Client, playlist: str) -> list[str]:
    text = client.get(base + playlist).text
    return [urljoin(base + playlist, line) for line in text.splitlines() if line and not line.startswith("#")]


def watch(base: str, client: httpx.Client, channel_playlist: str, asset_playlist: str) -> list[str]:
    """What a player does: fetch the channel's playlist, then segments. The segments are taken from the
    asset's own playlist, so the test does not depend on how far the live window has moved meanwhile."""
    assert client.get(base + channel_playlist).status_code == 200
    return segment_urls(base, client, asset_playlist)


@pytest.fixture
def watched(tmp_path):  # noqa: ANN001, ANN201
    settings = origin_settings(tmp_path / "var", origin={"port": 0, "stale_segments": 30})
    rt = Runtime.open(settings)
    alpha, bravo = make_programmes(rt, ["Alpha", "Bravo"], seconds=8)
    now = rt.clock.now_us()
    # Both programmes aired just now, on main; bravo also on second, so the channel must come from the playlist.
    entries = schedule_run(rt, "main", [alpha, bravo], start_us=now - 17 * US)
    schedule_run(rt, "second", [bravo, alpha], start_us=now - 17 * US)
    write_live_playlists(settings, "main", entries, default=True)
    origin = start_origin(settings)
    base = origin.url
    loyal = httpx.Client(timeout=10, headers={"user-agent": "loyal-viewer"})
    fleeting = httpx.Client(timeout=10, headers={"user-agent": "fleeting-viewer"})
    try:
        assert VIEWER_COOKIE in loyal.get(base + "/channels/main/").cookies
        alpha_segments = watch(base, loyal, "/channels/main/small.m3u8", f"/{alpha.path}/small/index.m3u8")
        assert len(alpha_segments) == len(alpha.segment_durations_us)
        for url in alpha_segments + alpha_segments[:1]:  # a refetch counts once
            assert loyal.get(url).status_code == 200
        for url in watch(base, fleeting, "/channels/main/tiny.m3u8", f"/{bravo.path}/tiny/index.m3u8")[:2]:
            assert fleeting.get(url).status_code == 200
        # Not segments of anything: nothing is counted.
        assert fleeting.get(base + "/assets/nope/small/seg_00000.ts").status_code == 404
    finally:
        loyal.close()
        fleeting.close()
        assert origin.stop() == 0, origin.log.read_text()  # the last flush happens on the way out
    yield rt, alpha, bravo
    rt.db.dispose()


def test_viewings_count_distinct_segments_per_viewer_and_entry(watched) -> None:  # noqa: ANN001
    rt, alpha, bravo = watched
    with rt.db.session() as session:
        rows = session.scalars(select(Viewing).order_by(Viewing.asset_id)).all()
        stats = programme_stats(session, "main")
        assert programme_stats(session, "second") == {}
    assert [(r.channel, r.asset_id) for r in rows] == [("main", alpha.id), ("main", bravo.id)]
    loyal, fleeting = rows
    assert loyal.segments == len(alpha.segment_durations_us)
    assert loyal.watched_us == loyal.possible_us == alpha.duration_us
    assert fleeting.segments == 2
    assert fleeting.watched_us == sum(bravo.segment_durations_us[:2])
    assert stats[alpha.id].retention == pytest.approx(1.0)
    assert stats[bravo.id].retention == pytest.approx(fleeting.watched_us / bravo.duration_us)
    assert stats[bravo.id].starts == 1
    assert stats[alpha.id].average_watch_s == pytest.approx(alpha.duration_us / US)
    # The viewer column is a keyed hash: neither the address nor the user agent is in it.
    for row in rows:
        assert len(row.viewer) == 32 and "127.0.0.1" not in row.viewer and "viewer" not in row.viewer


def test_viewer_keys_change_with_the_day_and_ignore_bad_cookies(tmp_path) -> None:  # noqa: ANN001
    keys = ViewerKeys.in_folder(tmp_path)
    again = ViewerKeys.in_folder(tmp_path)  # the secret is kept, so keys survive a restart
    day = 1_767_225_600 * US
    peer = {"address": "127.0.0.1", "user_agent": "ua"}
    assert keys.key(cookie=None, now_us=day, **peer) == again.key(cookie=None, now_us=day, **peer)
    assert keys.key(cookie=None, now_us=day, **peer) != keys.key(cookie=None, now_us=day + 86_400 * US, **peer)
    # A malformed cookie is treated as no cookie.
    assert keys.key(cookie="x;y", now_us=day, **peer) == keys.key(cookie=None, now_us=day, **peer)
    assert keys.key(cookie="a" * 24, now_us=day, **peer) != keys.key(cookie="b" * 24, now_us=day, **peer)
    assert (tmp_path / "viewer-secret").stat().st_mode & 0o077 == 0
