"""Factory workers on several machines: 4 real `vvtv run factory` processes, each with a data folder of its
own (as on separate machines), sharing one real PostgreSQL and 20 jobs. Every job is done exactly once,
and the job of a worker killed with SIGKILL mid-job is finished by another once its lease runs out."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

import factory_media as media
from factory_support import media_server, write_config  # noqa: F401 (fixture)
from vvtv.storage.db import Database
from vvtv.storage.models import Asset, Job, JobState, Plan, PlanStatus

WORKERS = 4
JOBS = 20
LEASE_SECONDS = 3


def start_worker(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VVTV_")}
    return subprocess.Popen([sys.executable, "-m", "vvtv.cli", "run", "factory"],
                            env={**env, "VVTV_CONFIG": str(config)}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)  # fmt: skip


def jobs_now(db: Database) -> list[Job]:
    with db.session() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_four_workers_on_one_postgresql_do_every_job_once_and_take_over_a_killed_one(  # noqa: ANN001
    tmp_path, media_server, postgres
) -> None:
    base, root = media_server
    clip = media.encode(root / "clip-00.mp4", media.picture("320x180"), media.tone(), args=[*media.X264, *media.AAC],
                        seconds=6.5)  # fmt: skip
    for index in range(1, JOBS):
        shutil.copy(clip, root / f"clip-{index:02d}.mp4")
    url = postgres.new_database()
    db = Database(url)
    db.migrate()
    with db.session() as session:
        session.add_all(Plan(page_url=f"{base}/clip-{i:02d}.mp4", title=f"Clip {i}", status=PlanStatus.APPROVED,
                             created_at_us=0, updated_at_us=0) for i in range(JOBS))  # fmt: skip

    workers: dict[int, subprocess.Popen] = {}
    data_dirs: dict[int, Path] = {}
    try:
        for index in range(WORKERS):
            machine = tmp_path / f"machine-{index}"
            machine.mkdir()
            config = write_config(machine / "vvtv.toml", machine / "var", lease_seconds=LEASE_SECONDS)
            config.write_text(config.read_text() + f"[storage]\nurl = {json.dumps(url)}\n")
            process = start_worker(config, machine / "factory.log")
            workers[process.pid], data_dirs[process.pid] = process, machine / "var"

        # Kill the worker of the first job seen encoding, mid-job.
        deadline = time.monotonic() + 180
        while True:
            encoding = [j for j in jobs_now(db) if j.state == JobState.RUNNING and j.step == "encode"]
            if encoding:
                break
            assert time.monotonic() < deadline, "no job reached its encode step"
            time.sleep(0.05)
        victim_job = encoding[0]
        victim_pid = int(victim_job.lease_owner.split(":")[1])
        workers[victim_pid].send_signal(signal.SIGKILL)
        workers[victim_pid].wait(timeout=10)

        deadline = time.monotonic() + 300
        while not all(j.state == JobState.DONE for j in jobs_now(db)):
            current = jobs_now(db)
            assert not [j for j in current if j.state == JobState.FAILED], [(j.id, j.error) for j in current]
            assert time.monotonic() < deadline, f"jobs still open: {[(j.id, j.state, j.step) for j in current]}"
            time.sleep(0.3)
        for pid, process in workers.items():
            if pid != victim_pid:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0, (data_dirs[pid].parent / "factory.log").read_text()[-3000:]
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    done = jobs_now(db)
    assert len(done) == JOBS
    attempts = {j.id: j.attempts for j in done}
    assert attempts.pop(victim_job.id) == 2, "the killed worker's job is finished on a second attempt"
    assert set(attempts.values()) == {1}, f"a job was started twice: {attempts}"
    with db.session() as session:
        assets = session.scalars(select(Asset)).all()
        assert {p.status for p in session.scalars(select(Plan))} == {PlanStatus.DONE}
    assert sorted(a.plan_id for a in assets) == sorted(j.plan_id for j in done), "one Asset per plan, no more"
    made_by = {a.plan_id: [pid for pid, d in data_dirs.items() if (d / "media" / a.path).is_dir()] for a in assets}
    assert all(len(pids) == 1 for pids in made_by.values()), f"an asset was published twice: {made_by}"
    assert made_by[victim_job.plan_id] != [victim_pid], "another worker finished the killed worker's job"
    assert len({pids[0] for pids in made_by.values()}) >= 3, f"the jobs were not shared out: {made_by}"
    db.dispose()
