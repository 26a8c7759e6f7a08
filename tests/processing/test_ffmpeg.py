"""The ffmpeg runner: a stalled run is stopped long before its timeout."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from vvtv.errors import ToolError
from vvtv.processing.ffmpeg import run_ffmpeg, run_ffmpeg_report


def test_a_run_whose_media_time_stands_still_is_stopped(tmp_path: Path) -> None:
    source = tmp_path / "clip.ts"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "30", "-c:v", "libx264",
                "-preset", "ultrafast", "-f", "mpegts", str(source)])  # fmt: skip
    data = source.read_bytes()
    dead_input = tmp_path / "input.ts"
    os.mkfifo(dead_input)
    released = threading.Event()

    def send_most_then_go_quiet() -> None:
        with open(dead_input, "wb") as pipe:
            pipe.write(data[: len(data) * 6 // 10])
            pipe.flush()
            released.wait(60)

    feeder = threading.Thread(target=send_most_then_go_quiet, daemon=True)
    feeder.start()
    started = time.monotonic()
    try:
        with pytest.raises(ToolError, match="ffmpeg stalled: no progress for 2 s"):
            run_ffmpeg_report(["-i", str(dead_input), "-f", "null", "-"], stall_seconds=2, timeout=60)
        assert time.monotonic() - started < 30, "stopped by the stall watch, not the timeout"
    finally:
        released.set()
        feeder.join(timeout=10)


def test_a_run_that_reports_nothing_at_all_is_stopped_as_stalled(tmp_path: Path) -> None:
    silent_input = tmp_path / "input.ts"
    os.mkfifo(silent_input)  # nobody ever writes: ffmpeg waits in open() and never reports progress
    with pytest.raises(ToolError, match="ffmpeg stalled: no progress for 1 s"):
        run_ffmpeg_report(["-i", str(silent_input), "-f", "null", "-"], stall_seconds=1, timeout=120)
