"""The supervisor heals: a role that dies is restarted; one that hangs is killed and restarted."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from hlscheck import LiveChecker
from livesystem import LiveSystem
from sqlalchemy import select

from vvtv.config import load_settings
from vvtv.storage.db import Database
from vvtv.storage.models import Event, Heartbeat

PLAYLIST = "/channels/main/90p.m3u8"


def _heartbeat_pid(db: Database, role: str) -> int | None:
    with db.session() as session:
        beat = session.get(Heartbeat, role)
        return beat.pid if beat else None


def _wait_for_new_pid(db: Database, role: str, old: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = _heartbeat_pid(db, role)
        if pid and pid != old:
            return pid
        time.sleep(0.3)
    raise AssertionError(f"{role} was not restarted within {seconds} s")


def test_dead_and_hung_roles_are_restarted(tmp_path: Path) -> None:
    system = LiveSystem(data_dir=tmp_path / "var")
    system.start()
    db = Database(load_settings(data_dir=tmp_path / "var").database_url)
    checker = LiveChecker(base="", check_files=False)
    try:
        checker.feed(system.wait_for(PLAYLIST, 120).text)
        first = _heartbeat_pid(db, "broadcaster")
        os.kill(first, signal.SIGKILL)
        second = _wait_for_new_pid(db, "broadcaster", first, 20)

        os.kill(second, signal.SIGSTOP)  # alive but silent: a hang
        third = _wait_for_new_pid(db, "broadcaster", second, 60)
        assert third not in (first, second)
        time.sleep(5)
        checker.feed(system.wait_for(PLAYLIST, 10).text)
        with db.session() as session:
            kinds = [e.kind for e in session.scalars(select(Event).where(Event.kind.like("role-%")))]
        assert "role-restart" in kinds and "role-hung" in kinds
        assert system.process.poll() is None, "the supervisor itself kept running"
    finally:
        system.stop()
        db.dispose()
