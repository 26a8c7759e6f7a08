"""Start the real `vvtv up` for end-to-end tests, on a temp data dir and a free port, and stop it by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

VVTV = str(Path(sys.executable).parent / "vvtv")

TINY_PROFILE = {
    "x264_preset": "ultrafast",
    "renditions": [
        {"name": "90p", "width": 160, "height": 90, "video_kbps": 150, "audio_kbps": 32},
        {"name": "72p", "width": 128, "height": 72, "video_kbps": 100, "audio_kbps": 32},
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(kw_only=True)
class LiveSystem:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env_overrides: dict[str, str] = field(default_factory=dict)
    up_args: list[str] = field(default_factory=list)  # e.g. ["--roles", "factory"]
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VVTV_")}
        env.update(
            VVTV_DATA_DIR=str(self.data_dir),
            VVTV_ORIGIN__PORT=str(self.port),
            VVTV_PROFILES=json.dumps({"tiny": TINY_PROFILE}),
            VVTV_CHANNELS=json.dumps([{"name": "main", "profile": "tiny"}]),
            VVTV_BROADCASTER__SLATE_SECONDS="8",
            VVTV_DEMO__PROGRAMMES="4",
            VVTV_DEMO__MIN_SECONDS="6",
            VVTV_DEMO__MAX_SECONDS="14",
            VVTV_SUPERVISOR__ROLES=json.dumps(["programmer", "broadcaster", "origin", "demo"]),
        )
        env.update(self.env_overrides)
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / "vvtv-up.log"
        with open(self.log_path, "ab") as log:
            # A process group of its own, as a shell gives a command: kill_group() ends all of it.
            self.process = subprocess.Popen(
                [VVTV, "up", *self.up_args], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the supervisor only: its roles die with it (PDEATHSIG)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def kill_group(self) -> None:
        """SIGKILL every process of the group at once, as `kill -9 -PGID` does."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def get(self, path: str, timeout: float = 2.0) -> httpx.Response | None:
        try:
            return httpx.get(self.url + path, timeout=timeout)
        except httpx.HTTPError:
            return None

    def wait_for(self, path: str, seconds: float) -> httpx.Response:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = self.get(path)
            if response is not None and response.status_code == 200:
                return response
            time.sleep(0.2)
        log = self.log_path.read_text()[-3000:] if self.log_path else ""
        raise AssertionError(f"{path} not served within {seconds} s; log tail:\n{log}")
