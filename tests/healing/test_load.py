"""The Curator pauses while the machine is overloaded, and resumes when the load falls."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conftest import tiny_settings
from sqlalchemy import select

from vvtv.discovery import curator
from vvtv.healing.load import LoadPause, load_per_core
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Heartbeat


def _kinds(rt: Runtime) -> list[str]:
    with rt.db.session() as session:
        return list(session.scalars(select(Event.kind).order_by(Event.id)))


def test_the_machines_load_is_read_per_core() -> None:
    assert 0 <= load_per_core() < 10_000


def test_load_pause_records_each_change_once(runtime: Runtime) -> None:
    readings = iter([0.5, 9.0, 8.0, 0.2, 0.1])  # the limit is 6 per core
    pause = LoadPause(runtime, read=lambda: next(readings))
    assert [pause.check() for _ in range(5)] == [False, True, True, False, False]
    assert [k for k in _kinds(runtime) if k.startswith("curator-")] == ["curator-paused", "curator-resumed"]


def test_the_curator_role_starts_no_discovery_while_overloaded(tmp_path: Path) -> None:
    # The start site is a closed port: once resumed, the discovery starts (and fails at once), which is the sign.
    settings = tiny_settings(tmp_path / "var", healing={"max_load_per_core": 2.0},
                             discovery={"start_sites": ["http://127.0.0.1:9/"], "allowed_hosts": ["127.0.0.1:9"],
                                        "buffer_check_seconds": 0.1, "min_gap_minutes": 0})  # fmt: skip
    rt = Runtime.open(settings)
    load = [9.0]
    role = threading.Thread(target=curator.run, args=(rt,), kwargs={"read_load": lambda: load[0]}, daemon=True)
    role.start()
    try:
        beat = None
        deadline = time.monotonic() + 60
        while (beat is None or "paused" not in beat.data) and time.monotonic() < deadline:  # the judge loads first
            time.sleep(0.2)
            with rt.db.session() as session:
                beat = session.get(Heartbeat, "curator")
        time.sleep(1)  # ten more checks
        assert beat is not None and beat.data["paused"] is True
        assert "discovery-start" not in _kinds(rt)
        load[0] = 0.5
        deadline = time.monotonic() + 60
        while "discovery-start" not in _kinds(rt) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        rt.stop.set()
        role.join(timeout=60)
    kinds = _kinds(rt)
    assert kinds.index("curator-paused") < kinds.index("curator-resumed") < kinds.index("discovery-start")
    rt.db.dispose()
