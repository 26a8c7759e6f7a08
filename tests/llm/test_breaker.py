from vvtv.clock import FakeClock
from vvtv.llm.breaker import BreakerState, CircuitBreaker


def make(clock: FakeClock, changes: list) -> CircuitBreaker:
    return CircuitBreaker(
        clock=clock, failures=3, window_seconds=60, cooldown_seconds=30,
        on_change=lambda state, why: changes.append((state, why)),
    )  # fmt: skip


def test_opens_after_n_failures_within_the_window() -> None:
    clock, changes = FakeClock(), []
    breaker = make(clock, changes)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure("HTTP 500")
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure("timed out")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert changes[-1][0] is BreakerState.OPEN
    assert "3 failures within 60 s, last: timed out" in changes[-1][1]


def test_failures_older_than_the_window_do_not_count() -> None:
    clock, changes = FakeClock(), []
    breaker = make(clock, changes)
    breaker.record_failure("a")
    breaker.record_failure("b")
    clock.advance(61)
    breaker.record_failure("c")
    assert breaker.state is BreakerState.CLOSED


def test_a_success_clears_the_count() -> None:
    clock, changes = FakeClock(), []
    breaker = make(clock, changes)
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()
    breaker.record_failure("c")
    assert breaker.state is BreakerState.CLOSED


def test_one_probe_after_the_cool_down_then_closed_or_open_again() -> None:
    clock, changes = FakeClock(), []
    breaker = make(clock, changes)
    for error in "abc":
        breaker.record_failure(error)
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one probe at a time
    breaker.record_failure("still down")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.advance(30)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert [state for state, _ in changes] == [
        BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED,
    ]  # fmt: skip
