"""A database that holds the Broadcaster's writes up (SQLite locked by another connection's
exclusive transaction) holds up no playlist: they are written from the timeline already read,
and the heartbeat goes on once the lock is gone, from the same process."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from conftest import TINY, tiny_settings
from hlscheck import LiveChecker

from vvtv.broadcast import broadcaster
from vvtv.broadcast.slate import ensure_slates
from vvtv.clock import SystemClock
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import Heartbeat

SEGMENTS_WHILE_LOCKED = 3


def _until(what: str, seconds: float, ready) -> object:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := ready():
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {seconds} s")


def test_playlists_go_on_while_the_database_is_locked(tmp_path: Path) -> None:
    # 1 s segments: the playlist moves on several times while the lock is held.
    profile = TINY.model_copy(update={"segment_seconds": 1, "keyframe_seconds": 1})
    rt = Runtime.open(tiny_settings(tmp_path / "var", profiles={"tiny": profile}), SystemClock())
    ensure_slates(rt)
    Programmer(rt).fill("main")
    playlist = rt.settings.media_dir / "channels" / "main" / "90p.m3u8"
    checker = LiveChecker(base="", check_files=False)

    def beat() -> Heartbeat | None:
        with rt.db.session() as session:
            return session.get(Heartbeat, "broadcaster")

    role = threading.Thread(target=broadcaster.run, args=(rt,))
    role.start()
    lock = sqlite3.connect(rt.db.engine.url.database, isolation_level=None)
    try:
        first = _until("the first heartbeat", 30, beat)
        _until("the first playlist", 30, playlist.exists)
        lock.execute("BEGIN EXCLUSIVE")  # no one else writes until it ends; the heartbeat waits on it
        locked = beat()  # reading goes on (WAL)
        newest = checker.feed(playlist.read_text()).media_sequence
        _until(f"{SEGMENTS_WHILE_LOCKED} segments published under the lock", 30,
               lambda: checker.feed(playlist.read_text()).media_sequence >= newest + SEGMENTS_WHILE_LOCKED)
        assert beat().at_us == locked.at_us, "the lock held the heartbeat up all along"
        lock.execute("ROLLBACK")
        released = rt.clock.now_us()
        after = _until("a heartbeat after the lock", 30, lambda: (b := beat()) and b.at_us > released and b)
        assert after.pid == first.pid and role.is_alive()
    finally:
        lock.close()
        rt.stop.set()
        role.join()
        rt.db.dispose()
