"""The origin role as a process: stops on SIGTERM, rebinds at once after a kill, names a busy port."""

from __future__ import annotations

import http.client
import signal
import subprocess
from pathlib import Path

from origin_support import VVTV, origin_settings, settings_env, start_origin, stop_process

from vvtv.runtime import Runtime


def fetch_keeping_the_connection(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection left open: when the server dies first, its side lingers in TIME_WAIT."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status in (200, 503)
    return connection


def test_sigterm_stops_the_origin_cleanly(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0})
    Runtime.open(settings).db.dispose()
    origin = start_origin(settings)
    connection = fetch_keeping_the_connection(origin.port)
    try:
        origin.process.send_signal(signal.SIGTERM)
        assert origin.process.wait(timeout=15) == 0, origin.log.read_text()
    finally:
        connection.close()
        stop_process(origin.process)


def test_a_restart_right_after_a_kill_rebinds_the_same_port(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0})
    Runtime.open(settings).db.dispose()
    first = start_origin(settings)
    connections = [fetch_keeping_the_connection(first.port) for _ in range(3)]
    try:
        first.process.kill()
        first.process.wait(timeout=10)
        # The killed server's connections now linger; without SO_REUSEADDR the bind below fails.
        again = origin_settings(tmp_path / "var", origin={"port": first.port})
        second = start_origin(again)
        try:
            assert second.port == first.port
            connection = http.client.HTTPConnection("127.0.0.1", second.port, timeout=10)
            connection.request("GET", "/")
            assert connection.getresponse().status == 200
            connection.close()
        finally:
            assert second.stop() == 0
    finally:
        for connection in connections:
            connection.close()
        stop_process(first.process)


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0})
    Runtime.open(settings).db.dispose()
    running = start_origin(settings)
    try:
        busy = origin_settings(tmp_path / "var", origin={"port": running.port})
        done = subprocess.run(
            [VVTV, "run", "origin"], env=settings_env(busy), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2
        assert f"origin: cannot listen on 127.0.0.1:{running.port}" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        assert running.stop() == 0
