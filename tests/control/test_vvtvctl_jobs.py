"""vvtvctl queue show lists the Factory's waiting and running jobs with their step and progress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from vvtv.clock import SystemClock
from vvtv.config import load_settings
from vvtv.processing import jobs
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

VVTVCTL = str(Path(sys.executable).parent / "vvtvctl")


def test_queue_show_lists_factory_jobs(tmp_path: Path) -> None:
    rt = Runtime.open(load_settings(data_dir=tmp_path / "var"), SystemClock())
    now = rt.clock.now_us()
    with rt.db.session() as session:
        for name in ("Running", "Finished", "Waiting"):  # claimed in this order
            session.add(Plan(page_url=f"https://example.org/{name}", title=name, status=PlanStatus.APPROVED,
                             created_at_us=now, updated_at_us=now))  # fmt: skip
    jobs.enqueue_approved(rt.db, rt.clock, max_attempts=3)
    running = jobs.claim(rt.db, rt.clock, owner="host:1:abc", lease_seconds=60)
    jobs.renew(rt.db, rt.clock, running, lease_seconds=60, step="encode", progress=0.42)
    finished = jobs.claim(rt.db, rt.clock, owner="host:1:abc", lease_seconds=60)
    with rt.db.session() as session:
        jobs.mark_done(session, finished, rt.clock.now_us())
    env = {"PATH": "/usr/bin:/bin", "VVTV_DATA_DIR": str(rt.settings.data_dir)}

    done = subprocess.run([VVTVCTL, "--json", "queue", "show"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["main"]["jobs"]
    assert [(j["title"], j["state"], j["step"], j["percent"], j["attempts"]) for j in listed] == [
        ("Running", "running", "encode", 42, 1),
        ("Waiting", "queued", "", 0, 0),
    ]
    assert listed[0]["worker"] == "host:1:abc"

    text = subprocess.run([VVTVCTL, "queue", "show"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "In the Factory: 2 job(s)" in text
    assert "running  encode    42%  attempt 1/3  Running" in text
    rt.db.dispose()
