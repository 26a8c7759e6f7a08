"""What every role and command needs: the settings, the database and the clock."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from vvtv.clock import Clock, SystemClock
from vvtv.config import Settings
from vvtv.storage.db import Database
from vvtv.storage.models import Event, Heartbeat


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
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())

    def record_event(self, kind: str, message: str, *, channel: str | None = None, **data: Any) -> None:
        with self.db.session() as session:
            session.add(Event(at_us=self.clock.now_us(), kind=kind, channel=channel, message=message, data=data))

    def heartbeat(self, role: str, started_at_us: int, **data: Any) -> None:
        with self.db.session() as session:
            session.merge(
                Heartbeat(role=role, pid=os.getpid(), started_at_us=started_at_us, at_us=self.clock.now_us(), data=data)
            )
