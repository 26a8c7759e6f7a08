"""Acceptance 3: a worker killed with SIGKILL mid-transcode; another takes the job over after the lease.

Both workers are real `vvtv run factory` processes on one SQLite database. The
test watches the whole time that no Asset appears before its files are complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

import factory_media as media
from factory_support import SLOW_PROFILE, factory_settings, media_server, write_config
from vvtv.processing.package import PLAYLIST_NAME, read_vod_durations
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, Job, JobState, Plan, PlanStatus

PROFILE = SLOW_PROFILE
LEASE_SECONDS = 3


def start_worker(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "VVTV_CONFIG": str(config)}
    return subprocess.Popen([sys.executable, "-m", "vvtv.cli", "run", "factory"], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def complete(folder: Path) -> bool:
    """Every rendition's VOD playlist is finished and every segment it lists is there."""
    for rendition in PROFILE.renditions:
        playlist = folder / rendition.name / PLAYLIST_NAME
        if not playlist.is_file() or "#EXT-X-ENDLIST" not in playlist.read_text():
            return False
        if len(read_vod_durations(playlist)) != len(list((folder / rendition.name).glob("seg_*.ts"))):
            return False
    return True


def observe(rt: Runtime) -> tuple[Job | None, list[Asset]]:
    """One look at the job and the assets; asserts no Asset or asset folder is ever half-made."""
    with rt.db.session() as session:
        job = session.scalars(select(Job)).one_or_none()
        assets = session.scalars(select(Asset)).all()
    for asset in assets:
        assert complete(rt.settings.media_dir / asset.path), f"asset {asset.id} recorded before its files"
    for folder in (rt.settings.media_dir / "assets").glob("*"):
        assert complete(folder), f"{folder.name} visible to the Broadcaster while incomplete"
    return job, assets


def test_killed_worker_job_is_taken_over(tmp_path, media_server):  # noqa: ANN001
    base, root = media_server
    media.encode(root / "long.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC], seconds=24)
    config = tmp_path / "vvtv.toml"
    write_config(config, tmp_path / "var", PROFILE, lease_seconds=LEASE_SECONDS)
    settings = factory_settings(tmp_path / "var", PROFILE, lease_seconds=LEASE_SECONDS)
    rt = Runtime.open(settings)
    now = rt.clock.now_us()
    with rt.db.session() as session:
        session.add(Plan(page_url=base + "/long.mp4", title="Long", status=PlanStatus.APPROVED,
                         created_at_us=now, updated_at_us=now))  # fmt: skip

    first = start_worker(config, tmp_path / "first.log")
    try:
        deadline = time.monotonic() + 90
        while True:
            job, assets = observe(rt)
            if job and job.step == "encode" and job.progress >= 0.2:
                break
            assert first.poll() is None and time.monotonic() < deadline, (job and job.step, first.returncode)
            time.sleep(0.1)
        encoders = children(first.pid)
        assert encoders, "the worker should be running ffmpeg now"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = time.monotonic()
    # Its ffmpeg dies with it (PR_SET_PDEATHSIG; its progress pipe breaks too): no orphan keeps writing.
    while any(Path(f"/proc/{pid}").exists() for pid in encoders):
        assert time.monotonic() - killed_at < 10, "the killed worker's ffmpeg is still running"
        time.sleep(0.1)
    job, assets = observe(rt)
    assert (job.state, job.attempts, assets) == (JobState.RUNNING, 1, [])

    second = start_worker(config, tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 120
        while True:
            job, assets = observe(rt)
            if job.state == JobState.DONE:
                break
            assert job.state == JobState.RUNNING, (job.state, job.error)
            assert second.poll() is None and time.monotonic() < deadline, (job.step, second.returncode)
            time.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        if second.poll() is None:
            second.kill()

    assert job.attempts == 2, "the takeover is the second attempt"
    assert job.lease_owner is None and job.error == ""
    assert len(assets) == 1 and assets[0].plan_id == job.plan_id
    with rt.db.session() as session:
        assert session.get(Plan, job.plan_id).status == PlanStatus.DONE
    assert [p.name for p in (rt.settings.media_dir / "assets").iterdir()] == [Path(assets[0].path).name]
    assert not list((tmp_path / "var" / "factory" / "jobs").iterdir()), "the killed attempt's workspace is gone"
    rt.db.dispose()
