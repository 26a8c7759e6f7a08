"""Time, passed in: SystemClock in production, FakeClock in tests.

Times are UTC. Inside the timeline they are integer microseconds since the Unix
epoch, so a day of 4-second segments adds up without floating-point drift.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol

US = 1_000_000


class Clock(Protocol):
    def now_us(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to; sleep() advances it at once."""

    def __init__(self, start_us: int = 1_767_225_600 * US) -> None:  # 2026-01-01T00:00:00Z
        self._now = start_us
        self._lock = threading.Lock()

    def now_us(self) -> int:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += round(seconds * US)

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0))


def to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / US, tz=timezone.utc)


def iso(us: int) -> str:
    """ISO 8601 with milliseconds and Z, as EXT-X-PROGRAM-DATE-TIME wants it."""
    return to_datetime(us).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"
