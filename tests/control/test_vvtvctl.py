"""vvtvctl, run as the real command against a channel that a real programmer and broadcaster filled."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_programme, tiny_settings
from livesystem import TINY_PROFILE

from vvtv.broadcast.broadcaster import Broadcaster
from vvtv.clock import US, SystemClock
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime

VVTVCTL = str(Path(sys.executable).parent / "vvtvctl")


@pytest.fixture
def live_runtime(tmp_path: Path) -> Runtime:
    rt = Runtime.open(tiny_settings(tmp_path / "var"), SystemClock())
    yield rt
    rt.db.dispose()


def vvtvctl(rt: Runtime, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # a worktree's code, when the tests run on one
        "VVTV_DATA_DIR": str(rt.settings.data_dir),
        "VVTV_PROFILES": json.dumps({"tiny": TINY_PROFILE}),
        "VVTV_CHANNELS": json.dumps([{"name": "main", "profile": "tiny"}]),
    }
    return subprocess.run([VVTVCTL, *args], env=env, capture_output=True, text=True, timeout=60)


def test_queue_and_streaming_status_show_the_channel(live_runtime: Runtime) -> None:
    rt = live_runtime
    make_programme(rt, 6, title="Morning show")
    make_programme(rt, 6, title="Evening news")
    Programmer(rt).fill("main")
    broadcaster = Broadcaster(rt)
    broadcaster.refresh(rt.clock.now_us())
    # Pretend the channel started a while ago: publish as of 9 s from its start.
    start = broadcaster.playouts[0].timeline.entries[0].start_us
    broadcaster.tick(start + 9 * US)

    queue = json.loads(vvtvctl(rt, "--json", "queue", "show").stdout)["main"]
    titles = [e["title"] for e in queue["entries"]]
    assert titles[:2] == ["Morning show", "Evening news"]
    # Both programmes are fresh; the emergency loop's reruns after them count as scheduled only.
    assert 0 < queue["fresh_programme_minutes_ahead"] <= 0.2
    assert queue["scheduled_minutes_ahead"] > queue["fresh_programme_minutes_ahead"]
    assert queue["entries"][1]["start"] == queue["entries"][0]["end"]

    streaming = json.loads(vvtvctl(rt, "--json", "streaming", "status").stdout)["main"]
    assert streaming["on_air"]["title"] in {"Morning show", "Evening news"}
    assert (streaming["media_sequence"], streaming["newest_segment"], streaming["segments_published"]) == (0, 1, 2)
    assert streaming["playlist_age_s"] is not None
    assert streaming["broadcaster_alive"] is False  # no broadcaster role is running

    status = json.loads(vvtvctl(rt, "--json", "status").stdout)
    assert status["counts"]["assets_ready"] == 3  # the slate and two programmes
    assert status["channels"]["main"]["on_air"] in {"Morning show", "Evening news"}
    assert any(e["kind"] == "slate-made" for e in status["recent_events"])

    text = vvtvctl(rt, "queue", "show").stdout
    both = re.compile(r"fresh programmes 0\.[0-2] min ahead, scheduled \d+\.\d min ahead")
    assert "Morning show" in text and both.search(text)
    assert both.search(vvtvctl(rt, "status").stdout)


def test_bad_setting_is_one_clear_line_and_exit_2(live_runtime: Runtime) -> None:
    done = vvtvctl(live_runtime, "--set", "broadcaster.window_segments=0", "status")
    assert done.returncode == 2
    assert "broadcaster.window_segments" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_channel_is_named(live_runtime: Runtime) -> None:
    done = vvtvctl(live_runtime, "queue", "show", "--channel", "nope")
    assert done.returncode == 2
    assert "no channel named 'nope'" in done.stderr


def test_a_title_from_the_web_cannot_drive_the_terminal(live_runtime: Runtime) -> None:
    """Escapes in a title (clear the screen, retitle the window, reverse the text) are shown, not obeyed."""
    title = "Evil\x1b[2J\x1b]0;owned\x07 \u202etitle"
    make_programme(live_runtime, 4, title=title)
    Programmer(live_runtime).fill("main")
    text = vvtvctl(live_runtime, "queue", "show").stdout
    assert "Evil\\x1b[2J\\x1b]0;owned\\x07 \\u202etitle" in text
    assert not any(ch in text for ch in "\x1b\x07\u202e")
    entries = json.loads(vvtvctl(live_runtime, "--json", "queue", "show").stdout)["main"]["entries"]
    assert entries[0]["title"] == title  # JSON carries it exactly, escaped the JSON way
