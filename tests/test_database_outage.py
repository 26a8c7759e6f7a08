"""The channel stays on air while its database is away: the real `vvtv up` on a PostgreSQL
server of its own, frozen (SIGSTOP: no answer at all) and thawed, then stopped under the
running roles and started again. The Broadcaster keeps publishing from the timeline it read,
the supervisor keeps its roles running (a role that dies meanwhile is restarted all the
same), and both write what happened once it is back."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from hlscheck import LiveChecker
from livesystem import TINY_PROFILE, LiveSystem
from pgserver import start_cluster
from sqlalchemy import select

from vvtv.clock import SystemClock
from vvtv.control.restart import SUPERVISOR_ROLE
from vvtv.storage.db import Database
from vvtv.storage.models import Event, Heartbeat

SEGMENTS_WHILE_AWAY = 3


def _until(what: str, seconds: float, ready: Callable[[], object], system: LiveSystem) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := ready():
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {seconds} s; log tail:\n{system.log_path.read_text()[-3000:]}")


def _beats(db: Database) -> dict[str, Heartbeat]:
    try:
        with db.session() as session:
            return {b.role: b for b in session.scalars(select(Heartbeat))}
    except Exception:  # noqa: BLE001 - the server still starting
        return {}


def test_the_channel_plays_through_a_database_outage(tmp_path: Path) -> None:
    cluster = start_cluster()  # of its own: the session's server is shared with other tests
    system = LiveSystem(data_dir=tmp_path / "var", env_overrides={
        "VVTV_STORAGE__URL": cluster.new_database(),
        "VVTV_SUPERVISOR__ROLES": json.dumps(["programmer", "broadcaster"]),
        # 1 s segments: the playlist moves on several times in a short outage.
        "VVTV_PROFILES": json.dumps({"tiny": {**TINY_PROFILE, "segment_seconds": 1, "keyframe_seconds": 1}}),
    })  # fmt: skip
    playlist = system.data_dir / "media" / "channels" / "main" / "90p.m3u8"
    checker = LiveChecker(base="", check_files=False)
    db = Database(system.env()["VVTV_STORAGE__URL"])
    system.start()
    try:
        _until("the first playlist", 120, playlist.exists, system)
        before = _until("the roles' heartbeats", 60, lambda: _fresh(_beats(db), 0) if "programmer" in _beats(db)
                        else None, system)  # fmt: skip

        # A database that does not answer at all: the supervisor's and the Broadcaster's database work waits,
        # the rest goes on; a role that dies meanwhile is restarted.
        frozen = cluster.freeze()
        try:
            newest = checker.feed(playlist.read_text()).media_sequence
            _until("segments published with the database frozen", 60,
                   lambda: checker.feed(playlist.read_text()).media_sequence >= newest + 2, system)
            programmer = _role_pid(system, "programmer")
            os.kill(programmer, signal.SIGKILL)
            _until("the programmer restarted", 60, lambda: _role_pid(system, "programmer") not in (None, programmer),
                   system)  # fmt: skip
        finally:
            cluster.thaw(frozen)

        away_from = SystemClock().now_us()
        cluster.halt()
        _until("both saying the database is away", 60, lambda: all(
            f"{role}: the database is unavailable" in system.log_path.read_text() for role in ("broadcaster", "supervisor")
        ), system)  # fmt: skip
        os.kill(_role_pid(system, "programmer"), signal.SIGKILL)  # a role that dies meanwhile is restarted all the same
        newest = checker.feed(playlist.read_text()).media_sequence
        _until(f"{SEGMENTS_WHILE_AWAY} more segments published", 60,
               lambda: checker.feed(playlist.read_text()).media_sequence >= newest + SEGMENTS_WHILE_AWAY, system)
        back_at = SystemClock().now_us()
        cluster.start()

        kinds = ("broadcaster.database-back", "supervisor.database-back")
        _until("both saying the database is back", 60, lambda: _events(db, kinds).keys() >= set(kinds), system)
        after = _until("fresh heartbeats", 30, lambda: _fresh(_beats(db), back_at), system)
        assert system.process.poll() is None, "the supervisor ran on"
        assert after["broadcaster"].pid == before["broadcaster"].pid, "the Broadcaster ran on, not restarted"
        assert after[SUPERVISOR_ROLE].pid == before[SUPERVISOR_ROLE].pid == system.process.pid
        restarts = _events(db, ("role-restart",)).get("role-restart", [])
        assert any(e.data["role"] == "programmer" and away_from < e.at_us < back_at for e in restarts), \
            "the programmer's restart during the outage recorded once the database was back"  # fmt: skip
        checker.feed(playlist.read_text())
    finally:
        system.stop()
        db.dispose()
        cluster.stop()


def _role_pid(system: LiveSystem, role: str) -> int | None:
    """The PID of the supervisor's child running `role`, from /proc: the database may not answer."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == system.process.pid and stat[0] != "Z" \
                    and (entry / "cmdline").read_bytes().endswith(b"\0run\0" + role.encode() + b"\0"):  # fmt: skip
                return int(entry.name)
        except OSError:
            continue
    return None


def _fresh(beats: dict[str, Heartbeat], since_us: int) -> dict[str, Heartbeat] | None:
    """The heartbeats, once the Broadcaster's and the supervisor's are newer than `since_us`."""
    roles = ("broadcaster", SUPERVISOR_ROLE)
    return beats if all(role in beats and beats[role].at_us > since_us for role in roles) else None


def _events(db: Database, kinds: tuple[str, ...]) -> dict[str, list[Event]]:
    try:
        with db.session() as session:
            found: dict[str, list[Event]] = {}
            for event in session.scalars(select(Event).where(Event.kind.in_(kinds))):
                found.setdefault(event.kind, []).append(event)
            return found
    except Exception:  # noqa: BLE001 - the server still starting
        return {}
