"""The demo video site as the real command runs it (`vvtv demo-site --port 0`), for the
demo and discovery tests, and the Curator settings those tests share.

Its media are made once per test session into one cache folder, shared by
every demo-site process and by the tests' own sites that serve the same files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from vvtv.config import Settings, load_settings

VVTV = str(Path(sys.executable).parent / "vvtv")
VVTVCTL = str(Path(sys.executable).parent / "vvtvctl")

# The Curator at test speed: human pacing cut to a twentieth (the shapes stay), short watches,
# no pause between pages of the one local site, loopback allowed.
FAST_DISCOVERY = {
    "pacing": 0.05,
    "watch_seconds": 2.0,
    "find_video_seconds": 4.0,
    "page_timeout_seconds": 6.0,
    "min_interval_seconds": 0.0,
    "allowed_hosts": ["127.0.0.1"],
}


def curator_settings(data_dir: Path, start_url: str, *, llm: dict | None = None, **discovery: object) -> Settings:
    return load_settings(
        data_dir=data_dir, llm=llm or {}, discovery={**FAST_DISCOVERY, "start_sites": [start_url], **discovery}
    )


def settings_overrides(start_url: str) -> list[str]:
    """The same settings as `--set` pairs, for the real commands."""
    import json

    values = {**FAST_DISCOVERY, "start_sites": [start_url]}
    return [f"discovery.{key}={json.dumps(value)}" for key, value in values.items()]


@dataclass(kw_only=True)
class DemoSite:
    url: str
    process: subprocess.Popen

    def requests(self) -> list[str]:
        """Every path the site was asked for, in order."""
        return httpx.get(f"{self.url}__requests", timeout=5).json()

    def events(self) -> list[dict]:
        """The batches the pages' own event logs sent home."""
        return httpx.get(f"{self.url}__events", timeout=5).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_demo_site(data_dir: Path) -> DemoSite:
    """Start `vvtv demo-site --port 0` and read the URL it prints (after making its media, if needed)."""
    env = {**os.environ, "VVTV_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [VVTV, "demo-site", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().strip()  # printed once the media exist and the socket is bound
    if not line.startswith("http://127.0.0.1:"):
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError(f"vvtv demo-site did not print its URL (got {line!r}, exit {process.poll()})")
    return DemoSite(url=line, process=process)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """One demo site per test folder that asks for it; every one shares the session's media cache."""
    site = start_demo_site(tmp_path_factory.getbasetemp() / "demo-site-data")
    yield site
    site.stop()
