"""No gap across a restart: the real `vvtv up`, its whole process group killed with SIGKILL
(as `kill -9 -PGID` would), and `vvtv up` started again. Every channel playlist is polled
every 0.5 s throughout: none is ever answered 404, a media playlist's sequence never goes
back and the segment behind a number never changes, and no media playlist served after the
restart is behind the timeline (its newest segment ended at most a target duration before
the request). Once after an outage longer than a segment (the playlists on disk are stale),
once after the playlists on disk were deleted (a media folder on a tmpfs after a reboot)."""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import m3u8
from hlscheck import LiveChecker
from livesystem import LiveSystem

MASTERS = ["/live.m3u8", "/channels/main/live.m3u8"]
MEDIA = ["/channels/main/90p.m3u8", "/channels/main/72p.m3u8"]
POLL_SECONDS = 0.5
# Clock resolution of PROGRAM-DATE-TIME (milliseconds) and EXTINF (microseconds) rounded up.
SLACK_SECONDS = 0.01


@dataclass(kw_only=True)
class Watch:
    """What the polling saw after one restart."""

    refused_s: float | None = None  # from `vvtv up` until a connection was first accepted
    answered_s: float | None = None  # until the first playlist was served
    answers: int = 0
    errors: list[str] = field(default_factory=list)
    worst_lag_s: float = 0.0  # how far the newest listed segment's end was behind the request


def _newest_end(text: str) -> float:
    playlist = m3u8.loads(text)
    first: datetime = playlist.segments[0].program_date_time
    return first.timestamp() + sum(segment.duration for segment in playlist.segments)


def _accepts(system: LiveSystem) -> bool:
    try:
        socket.create_connection(("127.0.0.1", system.port), timeout=1).close()
    except OSError:
        return False
    return True


def _poll(system: LiveSystem, checkers: dict[str, LiveChecker], seconds: float, started: float) -> Watch:
    """Poll every playlist every 0.5 s until `seconds` after the first answer (at most a minute)."""
    watch = Watch()
    deadline = started + 60
    while time.monotonic() < deadline:
        if watch.refused_s is None:
            if not _accepts(system):
                time.sleep(0.05)
                continue
            watch.refused_s = time.monotonic() - started
        for path in MASTERS + MEDIA:
            sent = time.time()
            try:
                response = httpx.get(system.url + path, timeout=10)
            except httpx.HTTPError as exc:
                watch.errors.append(f"{path}: {exc!r}")  # accepted, then no answer
                continue
            if response.status_code != 200:
                watch.errors.append(f"{path}: {response.status_code} {response.text[:80]!r}")
                continue
            if watch.answered_s is None:
                watch.answered_s = time.monotonic() - started
                deadline = min(deadline, time.monotonic() + seconds)
            watch.answers += 1
            if path in MEDIA:
                checkers[path].feed(response.text)
                lag = sent - _newest_end(response.text)
                target = m3u8.loads(response.text).target_duration
                watch.worst_lag_s = max(watch.worst_lag_s, lag)
                if lag > target + SLACK_SECONDS:
                    watch.errors.append(f"{path}: newest segment ended {lag:.2f} s before the request")
            else:
                assert m3u8.loads(response.text).is_variant, f"{path} is not a master playlist"
        time.sleep(POLL_SECONDS)
    return watch


def test_kill_the_group_restart_and_no_playlist_is_missing_or_behind(tmp_path) -> None:  # noqa: ANN001
    system = LiveSystem(data_dir=tmp_path / "var")
    media_dir = system.data_dir / "media"
    checkers = {path: LiveChecker(base="", check_files=False) for path in MEDIA}
    watches: list[Watch] = []
    system.start()
    try:
        for path in MASTERS + MEDIA:
            system.wait_for(path, 120)
        before = _poll(system, checkers, 6, time.monotonic())
        assert not before.errors, before.errors
        for outage_s, wipe in ((7.0, False), (1.0, True)):
            system.kill_group()
            time.sleep(outage_s)
            if wipe:
                shutil.rmtree(media_dir / "channels")
                (media_dir / "live.m3u8").unlink()
            started = time.monotonic()
            system.start()
            watches.append(_poll(system, checkers, 15, started))
    finally:
        system.stop()
    for watch in watches:
        print(f"after restart: connections refused for {watch.refused_s:.2f} s, first playlist at "
              f"{watch.answered_s:.2f} s, {watch.answers} answers, worst lag {watch.worst_lag_s:.2f} s")  # fmt: skip
    for watch in watches:
        assert not watch.errors, watch.errors
        assert watch.answered_s is not None and watch.answers > 10
    assert all(checker.refreshes > 20 for checker in checkers.values())
