"""The curator role: it discovers at once when started, again as soon as the buffer runs low,
heartbeats, and stops cleanly, closing its browser."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from demosite import DemoSite, curator_settings, demo_site  # noqa: F401 - demo_site is a fixture
from sqlalchemy import select

from vvtv.discovery.curator import run
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Heartbeat, Plan, PlanStatus


def browsers_of_this_process() -> list[int]:
    """Chromium processes descending from this one (through Playwright's driver)."""
    parents: dict[int, int] = {}
    chromium: list[int] = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if b"chromium" in (entry / "cmdline").read_bytes():
                    chromium.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return [pid for pid in chromium if ours(pid)]


def test_discovers_at_start_and_when_the_buffer_runs_low_then_stops(demo_site: DemoSite, tmp_path: Path) -> None:
    settings = curator_settings(tmp_path / "var", demo_site.url, max_plans=1, buffer_check_seconds=0.2,
                                min_gap_minutes=0, queries=["calm music", "creative commons"])  # fmt: skip
    rt = Runtime.open(settings)
    role = threading.Thread(target=run, args=(rt,), daemon=True)
    role.start()
    deadline = time.monotonic() + 240
    approved: list[Plan] = []
    while time.monotonic() < deadline and len(approved) < 2:
        time.sleep(0.5)
        with rt.db.session() as session:
            approved = list(session.scalars(select(Plan).where(Plan.status == PlanStatus.APPROVED)))
    rt.stop.set()
    role.join(timeout=60)
    assert not role.is_alive()
    assert len(approved) >= 2
    with rt.db.session() as session:
        starts = [e.message for e in session.scalars(select(Event).where(Event.kind == "discovery-start"))]
        beat = session.get(Heartbeat, "curator")
    assert starts[0] == "discovering 'calm music': first discovery since the curator started"
    assert starts[1].startswith("discovering 'creative commons': buffer low:")  # 12 s of content is far from 30 min
    assert beat is not None and beat.data["channels"]["main"]["fresh_programme_minutes_ahead"] == 0
    assert browsers_of_this_process() == []
    rt.db.dispose()
