"""Acceptance 3 of the Broadcaster: the real `vvtv up` killed with SIGKILL five times at
random moments and started again. A checker polling the playlist over HTTP sees media
sequence numbers never decrease and the segment behind each number never change, and
the stream is back within one segment duration. On SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import time
from pathlib import Path

from hlscheck import LiveChecker, check_boundaries
from livesystem import LiveSystem

PLAYLIST = "/channels/main/90p.m3u8"
SEGMENT_SECONDS = 4


def _poll(system: LiveSystem, checker: LiveChecker, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = system.get(PLAYLIST)
        if response is not None and response.status_code == 200:
            checker.feed(response.text)
            check_boundaries(response.text)
        time.sleep(0.25)


def _newest(checker: LiveChecker) -> int:
    return checker.last.media_sequence + len(checker.last.uris) - 1


def test_sigkill_five_times_and_the_stream_continues(tmp_path: Path, database_url: str) -> None:
    system = LiveSystem(data_dir=tmp_path / "var", env_overrides={"VVTV_STORAGE__URL": database_url})
    checker = LiveChecker(base="", check_files=False)
    generator = random.Random(20261126)
    outages = []
    system.start()
    try:
        checker.feed(system.wait_for(PLAYLIST, 120).text)
        _poll(system, checker, 6)
        for _ in range(5):
            _poll(system, checker, generator.uniform(1, 9))
            newest_before = _newest(checker)
            system.kill()
            time.sleep(generator.uniform(0, 1.5))
            restarted = time.monotonic()
            system.start()
            # Back: the origin answers again with a playlist at least as new as before the kill.
            deadline = restarted + 60
            while time.monotonic() < deadline:
                response = system.get(PLAYLIST, timeout=1)
                if response is not None and response.status_code == 200:
                    checker.feed(response.text)
                    if _newest(checker) >= newest_before:
                        break
                time.sleep(0.05)
            outages.append(time.monotonic() - restarted)
        _poll(system, checker, 2 * SEGMENT_SECONDS)
    finally:
        system.stop()
    print(f"refreshes checked: {checker.refreshes}; time back after each restart: "
          + ", ".join(f"{o:.2f} s" for o in outages))  # fmt: skip
    assert checker.refreshes > 50
    assert len(checker.seen_uri) > 10
    assert max(outages) <= SEGMENT_SECONDS, f"the stream took {max(outages):.2f} s to come back"
