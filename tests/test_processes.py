"""Children that die with their parent, set up without anything unsafe between fork and exec."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

import pytest

from vvtv import processes

# A parent that starts `sleep` with die_with_parent, prints the child's PID and waits to be killed.
PARENT = """
import subprocess, sys, time
from vvtv.processes import die_with_parent
child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (the parent gone, init not reaped it yet) is dead too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_prctl_is_looked_up_at_import_not_in_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    # ctypes after fork in a threaded parent can deadlock on the loader's lock; the child only calls.
    def no_lookup(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("libc looked up between fork and exec")

    monkeypatch.setattr(ctypes, "CDLL", no_lookup)
    child = subprocess.run(["true"], preexec_fn=processes.die_with_parent, check=True)
    assert child.returncode == 0


def test_a_child_dies_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(child), "the child outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child is not None and not _gone(child):
            os.kill(child, signal.SIGKILL)
