"""The origin role as a process: stops on SIGTERM, rebinds at once after a kill, names a busy port."""

from __future__ import annotations

import http.client
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from origin_support import VVTV, OriginProcess, origin_settings, settings_env, start_origin, stop_process

from vvtv.config import Settings
from vvtv.runtime import Runtime


def fetch_keeping_the_connection(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection left open: when the server dies first, its side lingers in TIME_WAIT."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status in (200, 503)
    return connection


def on_port(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"origin": settings.origin.model_copy(update={"port": port})})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Settings, OriginProcess]]:
    """An origin on a fresh data dir and a port the system chose; stopped by PID afterwards."""
    settings = origin_settings(tmp_path / "var", origin={"port": 0})
    Runtime.open(settings).db.dispose()
    origin = start_origin(settings)
    try:
        yield settings, origin
    finally:
        stop_process(origin.process)


def test_sigterm_stops_the_origin_cleanly(running: tuple[Settings, OriginProcess]) -> None:
    _, origin = running
    connection = fetch_keeping_the_connection(origin.port)
    try:
        origin.process.send_signal(signal.SIGTERM)
        assert origin.process.wait(timeout=15) == 0, origin.log.read_text()
    finally:
        connection.close()


def test_a_restart_right_after_a_kill_rebinds_the_same_port(running: tuple[Settings, OriginProcess]) -> None:
    settings, first = running
    connections = [fetch_keeping_the_connection(first.port) for _ in range(3)]
    try:
        first.process.kill()
        first.process.wait(timeout=10)
        # The killed server's connections now linger; without SO_REUSEADDR the bind below fails.
        second = start_origin(on_port(settings, first.port))
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


def test_a_busy_port_is_a_clear_error(running: tuple[Settings, OriginProcess]) -> None:
    settings, origin = running
    busy = on_port(settings, origin.port)
    done = subprocess.run(
        [VVTV, "run", "origin"], env=settings_env(busy), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"origin: cannot listen on 127.0.0.1:{origin.port}" in done.stderr
    assert "Traceback" not in done.stderr
