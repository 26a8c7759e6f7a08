"""The broadcaster measures how late each playlist write is after its segment boundary,
counting from the first boundary a write catches up with, and shows it in its status."""

from __future__ import annotations

from conftest import make_programme

from vvtv.broadcast.broadcaster import LATENESS_SAMPLES, Broadcaster, Lateness
from vvtv.clock import US
from vvtv.control.vvtvctl import _render_streaming, streaming_status
from vvtv.programming.programmer import Programmer


def test_lateness_is_measured_from_the_first_boundary_each_write_catches_up_with(runtime, fake_clock, capsys) -> None:
    rt = runtime
    make_programme(rt, 20)
    Programmer(rt).fill("main")
    broadcaster = Broadcaster(rt)
    broadcaster.refresh(fake_clock.now_us())
    playout = broadcaster.playouts[0]
    start = playout.timeline.entries[0].start_us

    fake_clock.advance((start + 4 * US - fake_clock.now_us()) / US + 0.5)
    assert broadcaster.tick(fake_clock.now_us())  # the first write after start: not measured
    assert playout.lateness.count == 0

    fake_clock.advance(3.75)  # 0.25 s after the 8 s boundary
    broadcaster.tick(fake_clock.now_us())
    fake_clock.advance(8)  # the 12 s boundary is missed; this write at 16.25 s catches up with it
    broadcaster.tick(fake_clock.now_us())

    assert playout.lateness.count == 2
    assert playout.lateness.max_us == 4_250_000
    status = broadcaster.status()["main"]
    assert (status["lateness_samples"], status["lateness_max_ms"], status["lateness_p99_ms"]) == (2, 4250.0, 4250.0)

    # The heartbeat carries it to `vvtvctl streaming status`.
    rt.heartbeat("broadcaster", start, channels=broadcaster.status())
    shown = streaming_status(rt, ["main"])
    assert (shown["main"]["lateness_p99_ms"], shown["main"]["lateness_max_ms"]) == (4250.0, 4250.0)
    _render_streaming(shown)
    assert "lateness:      p99 4250.0 ms, max 4250.0 ms after the boundary, over 2 writes" in capsys.readouterr().out


def test_p99_is_over_the_recent_writes_and_the_max_over_all() -> None:
    lateness = Lateness()
    assert lateness.p99_us() is None
    for value in range(1, 201):
        lateness.add(value * 1000)
    assert lateness.p99_us() == 198_000  # nearest rank: the 198th of 200
    for _ in range(LATENESS_SAMPLES):
        lateness.add(5000)
    assert lateness.p99_us() == 5000
    assert lateness.max_us == 200_000
