"""`vvtv up`: every role in a process of its own, restarted with backoff when it dies or hangs.

Children get PR_SET_PDEATHSIG, so if the supervisor itself is killed (even
with SIGKILL) its roles die with it and a new `vvtv up` starts clean.

The supervisor needs the database only to heartbeat, answer restart requests, write
events and tell hung roles, and does all of it on a thread of its own: while the database
fails or does not answer at all, dead roles are still restarted, events wait in memory,
and no role is judged hung (a role cannot heartbeat then either).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vvtv.broadcast import schedule
from vvtv.broadcast.slate import ensure_slates
from vvtv.cli import SUPERVISED_ENV
from vvtv.control import restart
from vvtv.errors import ConfigError
from vvtv.origin.listener import EarlyOrigin, handover, listen, wait_ready
from vvtv.processes import start_role
from vvtv.roles import ROLES
from vvtv.runtime import DatabaseOutage, Runtime
from vvtv.storage.models import Heartbeat

log = logging.getLogger(__name__)

HEALTHY_AFTER_SECONDS = 60  # a role that ran this long has its backoff reset
ORIGIN_READY_SECONDS = 30
# A role has at least this long to heartbeat the first time: on a loaded machine, its imports
# and start alone can take longer than a short hang limit.
FIRST_HEARTBEAT_SECONDS = 60
# A database round taking longer than this means the database is unwell, as if it had failed.
SLOW_DATABASE_SECONDS = 5
# Events kept while the database is away, written when it is back; the oldest go first beyond this.
PENDING_EVENTS = 1000

Launch = Callable[..., subprocess.Popen]  # start_role's signature: (role, overrides, *, env, pass_fds)


@dataclass(kw_only=True)
class Child:
    role: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    failures: int = 0
    # The newest heartbeat seen from this process, and when (monotonic) it was first seen.
    beat_at_us: int | None = None
    quiet_since: float = 0.0


class Supervisor:
    def __init__(self, rt: Runtime, overrides: list[str], *, launch: Launch = start_role) -> None:
        roles = list(rt.settings.supervisor.roles)
        if not roles:
            raise ConfigError(f"supervisor.roles: no role to run; roles are {sorted(ROLES)}")
        if rt.settings.broadcaster.rtmp_url and "broadcaster" in roles and "restream" not in roles:
            roles.append("restream")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ConfigError(f"supervisor.roles: unknown role(s) {unknown}; roles are {sorted(ROLES)}")
        unknown = [r for r in rt.settings.supervisor.hang_seconds if r not in ROLES]
        if unknown:
            raise ConfigError(f"supervisor.hang_seconds: unknown role(s) {unknown}; roles are {sorted(ROLES)}")
        self.rt = rt
        self.overrides = overrides
        self.launch = launch
        self.database = DatabaseOutage(rt=rt, role="supervisor")
        self.pending_events: deque[dict[str, Any]] = deque(maxlen=PENDING_EVENTS)
        self.answered: int | None = None  # the newest restart request answered (None: not read yet)
        self.round_began: float | None = None  # monotonic start of the database round under way
        # The children, between the main loop (starts, restarts, kills) and the database thread
        # (restart requests, heartbeats seen).
        self.lock = threading.Lock()
        # Bound by up() before anything else and handed to each origin process (see origin/listener.py).
        self.origin_socket: socket.socket | None = None
        # The origin first: after a restart, viewers are back as soon as it listens.
        roles.sort(key=lambda r: r != "origin")
        self.children = [Child(role=r) for r in roles]

    def start(self, child: Child, *, ready_fd: int | None = None) -> None:
        env = {**os.environ, SUPERVISED_ENV: "1"}
        inherited: tuple[int, ...] = ()
        if child.role == "origin" and self.origin_socket is not None:
            extra, inherited = handover(self.origin_socket, ready_fd)
            env.update(extra)
        self.adopt(child, self.launch(child.role, self.overrides, env=env, pass_fds=inherited))

    def adopt(self, child: Child, process: subprocess.Popen) -> None:
        child.process = process
        child.started_at = child.quiet_since = time.monotonic()
        child.beat_at_us = None
        log.info("started %s (pid %d)", child.role, process.pid)

    def event(self, kind: str, message: str, **data: Any) -> None:
        """Written with the next database round (run), or once the database is back."""
        self.pending_events.append({"kind": kind, "message": message, "at_us": self.rt.clock.now_us(), **data})

    def check(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is None:
            if now >= child.restart_at:
                self.start(child)
            return
        code = child.process.poll()
        if code is None and self.hung(child):
            child.process.kill()
            child.process.wait()
            code = -signal.SIGKILL
            limit = self.rt.settings.supervisor.hang_seconds[child.role]
            self.event("role-hung", f"{child.role} (pid {child.process.pid}) alive but its heartbeat stood still "
                       f"for more than {limit:g} s; killed it", role=child.role, pid=child.process.pid,
                       hang_seconds=limit)  # fmt: skip
            log.warning("%s (pid %d) hung: no heartbeat for %g s; killed it", child.role, child.process.pid, limit)
        if code is None:
            if now - child.started_at > HEALTHY_AFTER_SECONDS:
                child.failures = 0
            return
        child.failures += 1
        backoff = min(2 ** (child.failures - 1), self.rt.settings.supervisor.max_backoff_seconds)
        self.event("role-restart", f"{child.role} exited with {code}; restarting in {backoff:.0f} s",
                   role=child.role, exit_code=code)  # fmt: skip
        log.warning("%s exited with %s; restarting in %.0f s", child.role, code, backoff)
        child.process = None
        child.restart_at = now + backoff

    def watch_heartbeats(self) -> None:
        """Note which running roles' heartbeats advanced since the last look."""
        watched = [c.role for c in self.children if c.role in self.rt.settings.supervisor.hang_seconds]
        if not watched:
            return
        with self.rt.db.session() as session:
            beats = {b.role: b for b in session.scalars(select(Heartbeat).where(Heartbeat.role.in_(watched)))}
        with self.lock:
            for child in self.children:
                beat = beats.get(child.role)
                if beat and child.process and beat.pid == child.process.pid and beat.at_us != child.beat_at_us:
                    child.beat_at_us, child.quiet_since = beat.at_us, time.monotonic()

    def database_unwell(self) -> bool:
        began = self.round_began
        return self.database.ongoing or (began is not None and time.monotonic() - began > SLOW_DATABASE_SECONDS)

    def hung(self, child: Child) -> bool:
        """Alive, but its heartbeat has not advanced for longer than its limit while the database answered."""
        limit = self.rt.settings.supervisor.hang_seconds.get(child.role)
        if limit is None or self.database_unwell():
            return False
        if child.beat_at_us is None:
            limit = max(limit, FIRST_HEARTBEAT_SECONDS)
        return time.monotonic() - child.quiet_since > limit

    def run(self) -> None:
        self.rt.stop_on_signals()
        database = threading.Thread(target=self.keep_database, name="database", daemon=True)
        database.start()
        try:
            while not self.rt.stop.is_set():
                with self.lock:
                    for child in self.children:
                        self.check(child)
                self.rt.stop.wait(0.5)
        finally:
            self.rt.stop.set()
            self.shutdown(database)

    def keep_database(self) -> None:
        """The database thread: a round every half second, or after the backoff while the database fails."""
        started_us, next_heartbeat = self.rt.clock.now_us(), 0.0
        while not self.rt.stop.is_set():
            if self.database.due():
                self.round_began = time.monotonic()
                next_heartbeat = self.database_round(started_us, next_heartbeat)
                self.round_began = None
            self.rt.stop.wait(0.5)

    def database_round(self, started_us: int, next_heartbeat: float) -> float:
        """Everything the supervisor does with the database; returns when the next heartbeat is due.

        A failure is waited out with backoff (DatabaseOutage); meanwhile the roles run on as they are.
        """
        try:
            unwell = self.database_unwell()
            if time.monotonic() >= next_heartbeat:  # so `vvtvctl streaming restart` knows someone will answer
                self.rt.heartbeat(restart.SUPERVISOR_ROLE, started_us, roles=[c.role for c in self.children])
                next_heartbeat = time.monotonic() + restart.SUPERVISOR_HEARTBEAT_SECONDS
            self.flush_events()
            self.restart_requested()
            self.database.answered()
            if unwell or self.database_unwell():
                # No role could heartbeat while the database was away: each has its full limit again from now.
                with self.lock:
                    for child in self.children:
                        child.quiet_since = time.monotonic()
            self.watch_heartbeats()
        except Exception as exc:  # noqa: BLE001 - whatever the database says, the roles keep running
            self.database.failed(exc)
        return next_heartbeat

    def flush_events(self) -> None:
        while self.pending_events:
            self.rt.record_event(**self.pending_events[0])
            self.pending_events.popleft()

    def restart_requested(self) -> None:
        """Restart the roles operators asked for (control/restart.py)."""
        with self.rt.db.session() as session:
            if self.answered is None:  # requests made before this supervisor are not its own
                self.answered = restart.newest_event_id(session)
            requests = restart.pending_requests(session, self.answered)
        for request in requests:
            report = restart.RestartReport(request_id=request.id)
            with self.lock:
                for role in request.roles:
                    child = next((c for c in self.children if c.role == role), None)
                    if child is None:
                        report.not_running.append(role)
                        continue
                    if child.process is not None and child.process.poll() is None:
                        _stop([child.process])
                    self.start(child)  # at once and without counting a failure: it was asked for
                    child.failures = 0
                    report.restarted[role] = child.process.pid
            self.answered = request.id  # before answering: a failed answer must not restart the roles twice
            restart.answer(self.rt, report)
            log.info("restart request %d: restarted %s", request.id, report.restarted)

    def shutdown(self, database: threading.Thread) -> None:
        with self.lock:
            _stop([c.process for c in self.children if c.process and c.process.poll() is None])
        if self.origin_socket is not None:
            self.origin_socket.close()
        database.join(timeout=SLOW_DATABASE_SECONDS)
        try:
            if database.is_alive():
                raise TimeoutError(f"no answer within {SLOW_DATABASE_SECONDS} s")
            self.flush_events()  # what is still waiting
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("%d event(s) not written, the database did not answer: %s", len(self.pending_events), exc)


def _stop(processes: list[subprocess.Popen], grace_seconds: float = 10) -> None:
    """SIGTERM (a role's clean stop), then SIGKILL for those still running after the grace period."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(rt: Runtime) -> None:
    """What must exist before the roles start: the channels, and their slates where the timeline is made."""
    try:
        with rt.db.session() as session:
            schedule.ensure_channels(session, rt.settings, rt.clock.now_us())
    except IntegrityError:  # another machine's `vvtv up` added them at the same moment
        with rt.db.session() as session:
            schedule.ensure_channels(session, rt.settings, rt.clock.now_us())
    if {"programmer", "broadcaster"} & set(rt.settings.supervisor.roles):
        ensure_slates(rt)


def up(rt: Runtime, overrides: list[str], *, early: EarlyOrigin | None = None) -> None:
    """Run every role; `rt` comes unmigrated so the origin can start first.

    `early` is the origin the caller started before its own heavy imports (cli.cmd_up); started here otherwise.
    """
    supervisor = Supervisor(rt, overrides)
    origin = next((c for c in supervisor.children if c.role == "origin"), None)
    if origin and early:
        supervisor.origin_socket, ready = early.socket, early.ready_fd
        supervisor.adopt(origin, early.process)
    elif origin:
        # The origin first: it answers every playlist from the timeline (origin/live.py),
        # so after a restart viewers are back as soon as it runs.
        supervisor.origin_socket = listen(rt.settings.origin.host, rt.settings.origin.port)
        ready, ready_for_origin = os.pipe()
        supervisor.start(origin, ready_fd=ready_for_origin)
        os.close(ready_for_origin)
    rt.db.migrate()
    prepare(rt)
    if origin:
        # The other roles start once the origin serves: on a busy machine they would slow its start.
        if not wait_ready(ready, ORIGIN_READY_SECONDS):
            log.warning("the origin did not report serving within %d s; starting the other roles", ORIGIN_READY_SECONDS)
    host, port = (
        supervisor.origin_socket.getsockname()[:2]
        if supervisor.origin_socket
        else (rt.settings.origin.host, rt.settings.origin.port)
    )
    origin_url = f"http://{host}:{port}"
    log.info("VVTV is on air: player %s/  stream %s/live.m3u8  (Ctrl-C stops)", origin_url, origin_url)
    rt.record_event("up", f"vvtv up (pid {os.getpid()}) starting roles {rt.settings.supervisor.roles}")
    supervisor.run()
