"""A circuit breaker: stop calling a failing service, then probe it once after a cool-down.

    closed ──N failures within the window──▶ open ──cool-down passed──▶ half-open (one probe)
      ▲                                       ▲                             │
      └────────────── probe succeeded ────────┼─────────────────────────────┘
                                              └──────── probe failed ───────┘

Time comes from a Clock, so tests step through the cool-down without waiting.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable

from vvtv.clock import US, Clock
from vvtv.config import LLMSettings


class BreakerState(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


# Told of every change of state, with a sentence saying why.
StateListener = Callable[[BreakerState, str], None]


class CircuitBreaker:
    def __init__(
        self,
        *,
        clock: Clock,
        failures: int,
        window_seconds: float,
        cooldown_seconds: float,
        on_change: StateListener | None = None,
    ) -> None:
        self._clock = clock
        self._threshold = failures
        self._window_us = round(window_seconds * US)
        self._cooldown_us = round(cooldown_seconds * US)
        self._on_change = on_change
        self._failures: deque[int] = deque()
        self._opened_at_us = 0
        self.state = BreakerState.CLOSED
        self.last_error = ""

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, *, clock: Clock, on_change: StateListener | None = None
    ) -> "CircuitBreaker":
        """The breaker for calls to the LLM, with the llm section's thresholds."""
        return cls(clock=clock, failures=settings.breaker_failures, window_seconds=settings.breaker_window_seconds,
                   cooldown_seconds=settings.breaker_cooldown_seconds, on_change=on_change)  # fmt: skip

    def allow(self) -> bool:
        """May a call go out now? In the open state, the first caller after the cool-down is the probe."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self._clock.now_us() - self._opened_at_us >= self._cooldown_us:
            self._change(BreakerState.HALF_OPEN, "cool-down over: one probe call goes out")
            return True
        return False

    def record_success(self) -> None:
        self._failures.clear()
        if self.state is not BreakerState.CLOSED:
            self._change(BreakerState.CLOSED, "probe succeeded")

    def record_failure(self, error: str) -> None:
        self.last_error = error
        now = self._clock.now_us()
        if self.state is BreakerState.HALF_OPEN:
            self._open(now, f"probe failed: {error}")
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self._window_us:
            self._failures.popleft()
        if len(self._failures) >= self._threshold:
            self._open(now, f"{len(self._failures)} failures within {self._window_us / US:g} s, last: {error}")

    def describe(self) -> str:
        if self.state is BreakerState.CLOSED:
            return f"closed ({len(self._failures)} recent failures)"
        left = max(self._opened_at_us + self._cooldown_us - self._clock.now_us(), 0) / US
        return f"{self.state.value}, probe in {left:.0f} s; last error: {self.last_error}"

    def _open(self, now: int, why: str) -> None:
        self._opened_at_us = now
        self._failures.clear()
        self._change(BreakerState.OPEN, why)

    def _change(self, state: BreakerState, why: str) -> None:
        self.state = state
        if self._on_change:
            self._on_change(state, why)
