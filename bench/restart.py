"""Restart benchmark: how soon viewers are back after `kill -9` of the whole `vvtv up`, in one run.

Each round kills the process group of a running `vvtv up` (the tiny test channel), waits
--outage seconds (longer than a segment, so the playlists on disk fall behind), starts it
again and polls every 50 ms: how long its port refuses connections, how long until a
media playlist is answered, and until the answer is current (its newest segment ended at
most a target duration before the request).

Baseline, same run and same data: `vvtv run origin` started on its own, on another port,
which binds its socket only after its imports, as the origin did under `vvtv up` before the
supervisor listened first. Its refusal time is what a restart cost before at the least
(the supervisor's own start came on top).

Run: .venv/bin/python bench/restart.py [--rounds 3] [--outage 6]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import m3u8

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from livesystem import VVTV, LiveSystem, free_port  # noqa: E402

PLAYLIST = "/channels/main/90p.m3u8"
POLL_SECONDS = 0.05
GIVE_UP_SECONDS = 120


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def playlist_lag(url: str) -> float | None:
    """Seconds between the request and the end of the newest listed segment; None without an answer."""
    sent = time.time()
    try:
        response = httpx.get(url + PLAYLIST, timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    playlist = m3u8.loads(response.text)
    first: datetime = playlist.segments[0].program_date_time
    return sent - (first.timestamp() + sum(s.duration for s in playlist.segments))


def seconds_until(started: float, condition: Callable[[], bool]) -> float:
    while time.monotonic() - started < GIVE_UP_SECONDS:
        if condition():
            return time.monotonic() - started
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"gave up after {GIVE_UP_SECONDS} s")


def timings(url: str, port: int, started: float) -> tuple[float, float, float]:
    refused = seconds_until(started, lambda: accepts(port))
    answered = seconds_until(started, lambda: playlist_lag(url) is not None)
    current = seconds_until(started, lambda: (lag := playlist_lag(url)) is not None and lag <= 4.01)
    return refused, answered, current


def origin_alone(system: LiveSystem) -> tuple[float, float, float]:
    port = free_port()
    env = {**system.env(), "VVTV_ORIGIN__PORT": str(port)}
    started = time.monotonic()
    process = subprocess.Popen([VVTV, "run", "origin"], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        return timings(f"http://127.0.0.1:{port}", port, started)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=6.0, help="seconds between the kill and the restart")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-restart-") as folder:
        system = LiveSystem(data_dir=Path(folder) / "var")
        system.start()
        restarts, alone = [], []
        try:
            seconds_until(time.monotonic(), lambda: playlist_lag(system.url) is not None)
            for _ in range(args.rounds):
                time.sleep(5)
                system.kill_group()
                time.sleep(args.outage)
                alone.append(origin_alone(system))  # the channel is down: the same stale files
                started = time.monotonic()
                system.start()
                restarts.append(timings(system.url, system.port, started))
        finally:
            system.stop()
    load = os.getloadavg()[0]
    print(f"{args.rounds} restarts after {args.outage:.0f} s down, load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'':<44}{'refused':>9}{'answered':>10}{'current':>9}   (seconds after the start, median)")
    rows = [("vvtv up (listens first, origin first)", restarts), ("baseline: vvtv run origin alone", alone)]
    medians = {}
    for name, samples in rows:
        medians[name] = [sorted(column)[len(column) // 2] for column in zip(*samples)]
        refused, answered, current = medians[name]
        print(f"{name:<44}{refused:>9.2f}{answered:>10.2f}{current:>9.2f}")
    ours, floor = medians[rows[0][0]], medians[rows[1][0]]
    print(f"ratio to the baseline: refused {ours[0] / floor[0]:.2f}x, answered {ours[1] / floor[1]:.2f}x "
          f"(`vvtv up` starts itself, then the origin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
