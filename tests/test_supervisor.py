"""The supervisor heals: a role that dies is restarted; one that hangs is killed and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import tiny_settings
from hlscheck import LiveChecker
from livesystem import LiveSystem
from sqlalchemy import select

from vvtv.config import SupervisorSettings, load_settings
from vvtv.processes import die_with_parent
from vvtv.runtime import Runtime
from vvtv.storage.db import Database
from vvtv.storage.models import Event, Heartbeat
from vvtv.supervisor import Supervisor

PLAYLIST = "/channels/main/90p.m3u8"
HANG_SECONDS = 5

# A role as the supervisor sees it: a process that heartbeats. "busy" heartbeats as a long
# job's progress callbacks make the Factory and the Curator do; "hung" heartbeats once and
# then stays alive and silent, as a role stuck in a call that never returns.
STAND_IN_ROLE = """
import sys, time
from vvtv.config import load_settings
from vvtv.runtime import Runtime
role, behaviour, data_dir = sys.argv[1:]
rt = Runtime.open(load_settings(data_dir=data_dir), migrate=False)
started = rt.clock.now_us()
while True:
    rt.heartbeat(role, started, state="working")
    while behaviour == "hung":
        time.sleep(60)
    time.sleep(0.2)
"""


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
    # The broadcaster heartbeats every few seconds; found hung after 8 s of silence instead of 20, to save time.
    hang = json.dumps({**SupervisorSettings().hang_seconds, "broadcaster": 8})
    system = LiveSystem(data_dir=tmp_path / "var", env_overrides={"VVTV_SUPERVISOR__HANG_SECONDS": hang})
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
        # The restarted broadcaster publishes on from where the stream was.
        before = checker.feed(system.wait_for(PLAYLIST, 10).text)
        deadline = time.monotonic() + 15
        while checker.feed(system.wait_for(PLAYLIST, 10).text).media_sequence == before.media_sequence:
            assert time.monotonic() < deadline, "the restarted broadcaster published nothing new"
            time.sleep(0.3)
        with db.session() as session:
            kinds = [e.kind for e in session.scalars(select(Event).where(Event.kind.like("role-%")))]
        assert "role-restart" in kinds and "role-hung" in kinds
        assert system.process.poll() is None, "the supervisor itself kept running"
    finally:
        system.stop()
        db.dispose()


def test_a_hung_role_is_restarted_and_a_busy_one_is_not(tmp_path: Path) -> None:
    assert {"factory", "curator"} <= SupervisorSettings().hang_seconds.keys()  # watched out of the box
    settings = tiny_settings(tmp_path / "var", supervisor={"roles": ["factory", "curator"],
                             "hang_seconds": {"factory": HANG_SECONDS, "curator": HANG_SECONDS}})  # fmt: skip
    rt = Runtime.open(settings)
    behaviour = {"factory": "hung", "curator": "busy"}

    def launch(role: str, _overrides: list[str], *, env: dict[str, str], pass_fds: tuple[int, ...]) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", STAND_IN_ROLE, role, behaviour[role], str(settings.data_dir)],
                                env=env, pass_fds=pass_fds, preexec_fn=die_with_parent)  # fmt: skip

    supervisor = Supervisor(rt, [], launch=launch)
    factory, curator = supervisor.children
    first_pids: dict[str, int] = {}

    def watch() -> None:
        # Until the hung Factory runs again under a new PID (or a minute, for a failing test).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not rt.stop.is_set():
            for child in supervisor.children:
                if child.process is not None:
                    first_pids.setdefault(child.role, child.process.pid)
            if factory.process is not None and factory.process.pid != first_pids.get("factory"):
                break
            time.sleep(0.1)
        rt.stop.set()

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        supervisor.run()  # in the main thread: it sets signal handlers; returns once the watcher stops it
        watcher.join()
        restarted_factory, curator_process = factory.process, curator.process
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(-1)  # and the pipe it relays them through
        rt.stop.set()
        watcher.join()
    try:
        assert restarted_factory is not None and restarted_factory.pid != first_pids["factory"]
        # The busy one ran as long as the hung one took to be found out, past the limit, and was left alone.
        assert curator_process is not None and curator_process.pid == first_pids["curator"]
        with rt.db.session() as session:
            events = session.scalars(select(Event).where(Event.kind.like("role-%"))).all()
        hung = [e for e in events if e.kind == "role-hung"]
        assert [e.data["role"] for e in hung] == ["factory"], [e.message for e in events]
        assert f"heartbeat stood still for more than {HANG_SECONDS} s" in hung[0].message
        assert hung[0].data["pid"] == first_pids["factory"]
    finally:
        rt.db.dispose()
