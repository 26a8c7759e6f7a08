"""What every role and command needs: the settings, the database and the clock."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from vvtv.clock import Clock, SystemClock
from vvtv.config import Settings
from vvtv.storage.db import Database
from vvtv.storage.models import Event, Heartbeat

log = logging.getLogger(__name__)

# Waits between attempts while the database does not answer: 1, 2, 4 ... seconds, at most this.
DATABASE_RETRY_MAX_SECONDS = 10.0


@dataclass(kw_only=True)
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    # Set by SIGTERM/SIGINT (or a test) to ask a role's loop to finish.
    stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> "Runtime":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        if migrate:
            db.migrate()
        return cls(settings=settings, db=db, clock=clock or SystemClock())

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT set `stop`, from a thread of their own.

        Not from the handler: Python runs it in the main thread between any two bytecodes, possibly
        while that thread (inside stop.wait) or an earlier handler (inside stop.set) holds the Event's
        lock, which is not re-entrant, and the process hangs. The C-level handler writes the signal
        to a pipe (set_wakeup_fd) without any Python lock; the relay thread reads it and sets `stop`.
        """
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        threading.Thread(target=self._stop_when_signalled, args=(read_fd,), name="signals", daemon=True).start()

    def _stop_when_signalled(self, read_fd: int) -> None:
        os.read(read_fd, 1)
        self.stop.set()

    def record_event(
        self, kind: str, message: str, *, channel: str | None = None, at_us: int | None = None, **data: Any
    ) -> None:
        """`at_us`: when it happened, for an event written later than that (kept while the database was away)."""
        at_us = self.clock.now_us() if at_us is None else at_us
        with self.db.session() as session:
            session.add(Event(at_us=at_us, kind=kind, channel=channel, message=message, data=data))

    def heartbeat(self, role: str, started_at_us: int, **data: Any) -> None:
        self.db.upsert(Heartbeat, {"role": role, "pid": os.getpid(), "started_at_us": started_at_us,
                                   "at_us": self.clock.now_us(), "data": data})  # fmt: skip


@dataclass(kw_only=True)
class DatabaseOutage:
    """A role that carries on without the database: says once that it is gone, retries with
    backoff, and records how long it was away when it answers again."""

    rt: Runtime
    role: str
    since: float | None = None  # monotonic time of the first failure of the current outage
    failures: int = 0
    retry_at: float = 0.0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def due(self) -> bool:
        """Whether to use the database now: always while it answers, after the backoff while it does not."""
        return time.monotonic() >= self.retry_at

    def failed(self, exc: Exception) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s: the database is unavailable (%s: %s); carrying on without it, retrying",
                        self.role, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")  # fmt: skip
        self.failures += 1
        self.retry_at = time.monotonic() + min(2.0 ** (self.failures - 1), DATABASE_RETRY_MAX_SECONDS)

    def answered(self) -> None:
        """The database answered: if it was away, say so, in the log and as an Event."""
        if self.since is None:
            return
        seconds = time.monotonic() - self.since
        self.rt.record_event(f"{self.role}.database-back", f"{self.role}: the database answers again after "
                             f"{seconds:.0f} s away ({self.failures} failed attempts)",
                             seconds=round(seconds, 1), failures=self.failures)  # fmt: skip
        log.warning("%s: the database answers again after %.0f s", self.role, seconds)
        self.since, self.failures, self.retry_at = None, 0, 0.0
