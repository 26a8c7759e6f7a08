"""RTMP output to a real NGINX-RTMP: the channel arrives as one continuous FLV stream across
programme boundaries, and the restreamer survives the server going away."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import make_programme, tiny_settings
from nginxrtmp import start_nginx_rtmp

from sqlalchemy import select

from vvtv.broadcast.restream import Restreamer
from vvtv.control.vvtvctl import _render_status, status
from vvtv.clock import SystemClock
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import Event

STREAM_KEY = "live_81723_Qw3rTy5ecr3tK3y"


@pytest.fixture
def live_runtime(tmp_path: Path) -> Runtime:
    rt = Runtime.open(tiny_settings(tmp_path / "var", broadcaster={"slate_seconds": 8, "poll_seconds": 0.5}),
                      SystemClock())  # fmt: skip
    yield rt
    rt.stop.set()
    rt.db.dispose()


def _video_times(path: Path) -> list[float]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(p["dts_time"]) for p in json.loads(done.stdout)["packets"]]


def _streams(path: Path) -> list[str]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sorted(s["codec_name"] for s in json.loads(done.stdout)["streams"])


def test_channel_restreams_continuously_to_nginx_rtmp(live_runtime: Runtime, tmp_path: Path) -> None:
    rt = live_runtime
    make_programme(rt, 5, title="A")
    make_programme(rt, 6, title="B")
    Programmer(rt).fill("main")
    nginx = start_nginx_rtmp(tmp_path / "nginx")
    restreamer = Restreamer(rt, "main", nginx.url("main"))
    try:
        restreamer.start()
        time.sleep(24)  # the first programme boundary is 5 s in
    finally:
        rt.stop.set()
        restreamer.join(timeout=15)
        nginx.stop()
    recording = nginx.recording("main")
    assert _streams(recording) == ["aac", "h264"]
    times = _video_times(recording)
    assert times[-1] - times[0] >= 12, f"only {times[-1] - times[0]:.1f} s arrived"
    steps = [b - a for a, b in zip(times, times[1:])]
    assert min(steps) > 0, "video timestamps went backwards at a programme boundary"
    assert max(steps) < 0.5, f"a gap of {max(steps):.2f} s in the stream"
    assert restreamer.segments_sent >= 4 and restreamer.failures == 0


def test_restreamer_restarts_ffmpeg_when_the_server_goes_away_and_never_shows_the_stream_key(  # noqa: ANN001
    live_runtime: Runtime, tmp_path: Path, caplog, capsys
) -> None:
    rt = live_runtime
    make_programme(rt, 6)
    Programmer(rt).fill("main")
    nginx = start_nginx_rtmp(tmp_path / "first")
    restreamer = Restreamer(rt, "main", nginx.url(STREAM_KEY))  # as Twitch or YouTube give it: the stream key
    caplog.set_level(logging.DEBUG)
    try:
        restreamer.start()
        time.sleep(8)
        assert nginx.recording(STREAM_KEY).stat().st_size > 0, "the stream reached the server under its key"
        nginx.process.kill()  # the RTMP server dies: ffmpeg fails, the restreamer backs off and retries
        nginx.process.wait()
        deadline = time.monotonic() + 30
        while restreamer.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        rt.stop.set()
        restreamer.join(timeout=15)
    assert restreamer.failures >= 1
    with rt.db.session() as session:
        events = session.scalars(select(Event)).all()
        shown = [f"{e.kind} {e.message} {json.dumps(e.data)}" for e in events]
    restart = next(line for line in shown if line.startswith("restream-restart"))
    assert nginx.url("") in restart, "the event still says which server"
    assert not [line for line in shown if STREAM_KEY in line], "the stream key is in an event"
    assert not [r for r in caplog.records if STREAM_KEY in r.getMessage()], "the stream key is in a log record"
    state = status(rt)
    _render_status(state)
    assert STREAM_KEY not in json.dumps(state) + capsys.readouterr().out, "the stream key is in `vvtvctl status`"


def test_restreamer_restarts_ffmpeg_when_its_output_stalls(tmp_path: Path) -> None:
    """A server that stops reading but keeps the connection open blocks ffmpeg without an exit: the watchdog
    sees its output time stand still, kills it, and the restreamer starts again once the server reads again."""
    settings = tiny_settings(tmp_path / "var", broadcaster={"slate_seconds": 8, "poll_seconds": 0.5},
                             healing={"restream_stall_seconds": 4})  # fmt: skip
    rt = Runtime.open(settings, SystemClock())
    make_programme(rt, 30)
    Programmer(rt).fill("main")
    nginx = start_nginx_rtmp(tmp_path / "nginx")
    restreamer = Restreamer(rt, "main", nginx.url("main"))
    try:
        restreamer.start()
        time.sleep(6)
        assert restreamer.failures == 0
        os.kill(nginx.process.pid, signal.SIGSTOP)  # frozen: the socket stays open, nothing is read
        deadline = time.monotonic() + 120
        while restreamer.stalls == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        stalled_after = 120 - (deadline - time.monotonic())
        os.kill(nginx.process.pid, signal.SIGCONT)
        assert restreamer.stalls >= 1, "the stalled output was never noticed"
        sent = restreamer.segments_sent
        deadline = time.monotonic() + 60
        while restreamer.segments_sent < sent + 3 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        rt.stop.set()
        restreamer.join(timeout=15)
        nginx.stop()
    assert restreamer.segments_sent >= sent + 3, f"no recovery after the stall (noticed after {stalled_after:.0f} s)"
    with rt.db.session() as session:
        causes = [e.data["cause"] for e in session.scalars(select(Event).where(Event.kind == "restream-restart"))]
    assert "stalled" in causes
    assert _streams(nginx.recording("main")) == ["aac", "h264"]  # the stream published after the stall
    rt.db.dispose()
