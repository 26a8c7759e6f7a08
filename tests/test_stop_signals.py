"""A role stops on SIGTERM or SIGINT however the signals fall: several at once (the supervisor and a
process group both signalling, a double Ctrl-C) and while its main thread is inside `stop.wait()`.
A handler that set the Event itself could hang the process for good: Python runs the handler in the
main thread between any two bytecodes, possibly while that thread, or an earlier handler, holds the
Event's lock, which is not re-entrant (seen: `vvtv up` hung after a group SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import tiny_settings

# A role's main loop at its busiest: waiting on `stop` in short slices, as the roles do.
ROLE = """
import sys
from vvtv.config import load_settings
from vvtv.runtime import Runtime
rt = Runtime.open(load_settings(data_dir=sys.argv[1]), migrate=False)
rt.stop_on_signals()
print("ready", flush=True)
while not rt.stop.wait(0.00001):
    pass
"""
BURSTS = 15
SIGNALS_PER_BURST = 200


def test_bursts_of_stop_signals_always_stop_the_role(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    tiny_settings(data_dir)  # a valid data folder
    hung = 0
    for burst in range(BURSTS):
        role = subprocess.Popen([sys.executable, "-c", ROLE, str(data_dir)], stdout=subprocess.PIPE, text=True,
                                env={k: v for k, v in os.environ.items() if not k.startswith("VVTV_")})  # fmt: skip
        try:
            assert role.stdout.readline().strip() == "ready"
            for index in range(SIGNALS_PER_BURST):
                try:
                    os.kill(role.pid, signal.SIGTERM if index % 2 else signal.SIGINT)
                except ProcessLookupError:
                    break  # stopped already
            try:
                # Stopped cleanly, or by a signal that came as the interpreter was exiting (handlers reset).
                assert role.wait(timeout=10) in (0, -signal.SIGTERM, -signal.SIGINT)
            except subprocess.TimeoutExpired:
                hung += 1
        finally:
            if role.poll() is None:
                role.kill()
                role.wait()
    assert hung == 0, f"{hung} of {BURSTS} roles hung on their stop signals"
