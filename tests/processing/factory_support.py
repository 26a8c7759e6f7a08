"""Shared pieces of the Factory's tests: a small broadcast profile, settings, fixtures, a worker thread.

Test modules import the fixtures from here by name. A conftest.py would do the
same, but other test folders import helpers with `from conftest import ...`,
which picks up whichever conftest pytest loaded last.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vvtv.clock import FakeClock
from vvtv.config import ChannelSettings, Profile, Rendition, Settings, load_settings
from vvtv.processing import factory
from vvtv.runtime import Runtime

HERE = Path(__file__).parent

# Two rungs, so segment alignment across renditions is checked too; small, so a clip encodes in a second.
FACTORY_PROFILE = Profile(
    x264_preset="veryfast",
    renditions=[
        Rendition(name="144p", width=256, height=144, video_kbps=400, audio_kbps=128),
        Rendition(name="90p", width=160, height=90, video_kbps=200, audio_kbps=64),
    ],
)
# Slow enough (the medium preset, two bigger rungs) that a 24 s source is still encoding seconds later.
SLOW_PROFILE = Profile(
    x264_preset="medium",
    renditions=[
        Rendition(name="270p", width=480, height=270, video_kbps=800),
        Rendition(name="180p", width=320, height=180, video_kbps=400),
    ],
)
FACTORY_TEST_SETTINGS = {
    "min_height": 120,
    "min_seconds": 3,
    "max_seconds": 120,
    "lease_seconds": 10,
    "retry_backoff_seconds": 0,
    "poll_seconds": 0.2,
    "vmaf_subsample": 5,
    "min_free_bytes": 0,
    "max_download_bytes": 200_000_000,  # a job starts only with this much free
    "allowed_hosts": ["127.0.0.1"],
}


def write_config(
    path: Path, data_dir: Path, profile: Profile = FACTORY_PROFILE, **factory_values: object
) -> Path:
    """A vvtv.toml for the real commands: one channel on `profile`, the test factory settings."""
    rungs = ", ".join(
        f'{{name = "{r.name}", width = {r.width}, height = {r.height}, video_kbps = {r.video_kbps}, '
        f"audio_kbps = {r.audio_kbps}}}"
        for r in profile.renditions
    )
    lines = [f'data_dir = "{data_dir}"', "[profiles.factory]", f'x264_preset = "{profile.x264_preset}"',
             f"renditions = [{rungs}]", "[[channels]]", 'name = "main"', 'profile = "factory"',
             "[factory]"]  # fmt: skip
    lines += [f"{key} = {json.dumps(value)}" for key, value in {**FACTORY_TEST_SETTINGS, **factory_values}.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def factory_settings(data_dir: Path, profile: Profile = FACTORY_PROFILE, **factory_values: object) -> Settings:
    return load_settings(
        data_dir=data_dir,
        profiles={"factory": profile},
        channels=[ChannelSettings(name="main", profile="factory")],
        factory={**FACTORY_TEST_SETTINGS, **factory_values},
    )


@contextmanager
def worker_thread(rt: Runtime) -> Iterator[threading.Thread]:
    """The factory role running in a thread, stopped (and joined) on exit."""
    thread = threading.Thread(target=factory.run, args=(rt,), name="factory-worker", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        rt.stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the factory worker did not stop"


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on a temporary data folder with a fake clock: make_runtime(profile=..., **factory settings)."""
    opened: list[Runtime] = []

    def make(profile: Profile = FACTORY_PROFILE, **factory_values: object) -> Runtime:
        rt = Runtime.open(factory_settings(tmp_path / "var", profile, **factory_values), FakeClock())
        opened.append(rt)
        return rt

    yield make
    for rt in opened:
        rt.stop.set()
        rt.db.dispose()


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server in its own process on 127.0.0.1, port 0: (base URL, the folder it serves)."""
    root = tmp_path / "site"
    root.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "media_server.py"), str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, root
    finally:
        process.kill()  # by its own PID
        process.wait(timeout=10)
