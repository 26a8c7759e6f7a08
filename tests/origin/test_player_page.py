"""The player page in headless Chromium against the real origin: recovers from a missing
stream, plays, labels what is on screen (not what is at the live edge), unmutes,
and loads nothing from anywhere but the origin.
"""

from __future__ import annotations

import re
from pathlib import Path

from origin_support import (
    chromium_page,
    make_programmes,
    origin_settings,
    schedule_run,
    start_origin,
    write_live_playlists,
)
from player_probe import PLAYING, player_events

from vvtv.clock import US
from vvtv.runtime import Runtime

# One evaluate call, so the label, the date and the time belong to the same moment.
SNAPSHOT = """() => ({
  now: document.querySelector('#now .title').textContent,
  next: document.querySelector('#next .title').textContent,
  status: document.getElementById('status').textContent,
  date: window.vvtvPlayer.playingDateMs(),
  time: window.vvtvPlayer.video.currentTime,
  wall: performance.now(),
  muted: window.vvtvPlayer.video.muted,
  paused: window.vvtvPlayer.video.paused,
  unmuteHidden: document.getElementById('unmute').hidden,
})"""
FATAL_MANIFEST_ERROR = """() => window.vvtvPlayer.events.some(
  e => e.type === 'hlsError' && e.fatal && e.details === 'manifestLoadError')"""


def test_player_recovers_plays_labels_and_unmutes(tmp_path: Path) -> None:
    # A long live window keeps the aired entries in the guide however slow this machine is.
    settings = origin_settings(tmp_path / "var", origin={"port": 0}, broadcaster={"window_segments": 30})
    rt = Runtime.open(settings)
    assets = make_programmes(rt, ["Alpha", "Bravo", "Charlie"], seconds=8)
    origin = start_origin(settings)
    requests: list[str] = []
    console: list[str] = []
    try:
        with chromium_page() as page:
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: console.append(message.text))
            # No stream yet: the page reports it and keeps trying.
            page.goto(origin.url + "/")
            page.wait_for_function(FATAL_MANIFEST_ERROR, timeout=20_000)
            page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Connection')")

            # The channel starts: Alpha and Bravo have aired, Charlie is at the live edge.
            t = rt.clock.now_us()
            entries = schedule_run(rt, "main", assets * 2, start_us=t - 16 * US)
            write_live_playlists(settings, "main", entries[:2], default=True)
            bravo = entries[1]
            page.wait_for_function(PLAYING, timeout=30_000)

            # A player starts three segments behind the edge, inside Bravo; the label follows the
            # picture, although the schedule already has Charlie on air.
            page.wait_for_function("() => document.querySelector('#now .title').textContent === 'Bravo'")
            page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Live')")
            shown = page.evaluate(SNAPSHOT)
            assert bravo.start_us <= shown["date"] * 1000 < bravo.end_us, shown
            assert (shown["now"], shown["next"]) == ("Bravo", "Charlie")
            assert re.fullmatch(r"Live · \d+p · \d+\.\d s buffered", shown["status"]), shown["status"]

            # Time moves on screen with the clock.
            page.wait_for_timeout(2_000)
            later = page.evaluate(SNAPSHOT)
            played = later["time"] - shown["time"]
            elapsed = (later["wall"] - shown["wall"]) / 1000
            assert played > 1.0 and abs(played - elapsed) < 1.0, (played, elapsed)

            # Muted autoplay, and a visible way out of it.
            assert later["muted"] and not later["unmuteHidden"]
            page.click("#unmute")
            page.wait_for_function("() => !window.vvtvPlayer.video.muted")
            after = page.evaluate(SNAPSHOT)
            assert after["unmuteHidden"] and not after["paused"]

            events = player_events(page)
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0
    fatal = [e for e in events if e.fatal]
    assert fatal and all(e.details == "manifestLoadError" for e in fatal), fatal
    assert all(url.startswith((origin.url + "/", "blob:", "data:")) for url in requests), requests
    assert not [text for text in console if "Content Security Policy" in text], console
