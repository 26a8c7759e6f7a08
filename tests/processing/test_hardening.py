"""The Factory against bad luck: files on disk before they are called ready, disk space, stuck jobs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

import factory_media as media
from factory_support import SLOW_PROFILE, make_runtime, media_server, wait_for, worker_thread
from test_worker import add_plan, event_kinds, job_for, plan_status
from vvtv.errors import InputError
from vvtv.processing import factory, jobs
from vvtv.processing.manual import process_now
from vvtv.storage.models import Asset, Job, JobState, PlanStatus


def test_published_files_are_on_disk_before_the_asset_is_recorded(  # noqa: ANN001
    make_runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    source = media.pal_25(tmp_path / "clip.mp4")
    rt = make_runtime()
    synced: list[int] = []  # inodes, in order; 0 marks the READY commit
    real_fsync, real_mark_done = os.fsync, jobs.mark_done

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_ino)

    def mark_done(*args: object, **kwargs: object) -> None:
        synced.append(0)
        real_mark_done(*args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(jobs, "mark_done", mark_done)

    made = process_now(rt, str(source))

    with rt.db.session() as session:
        folder = rt.settings.media_dir / session.get(Asset, made.asset_id).path
    published = [folder, folder.parent, *folder.rglob("*")]
    assert 0 in synced, "the asset was recorded"
    before_commit = set(synced[: synced.index(0)])
    missing = [p.relative_to(rt.settings.media_dir) for p in published if p.stat().st_ino not in before_commit]
    assert not missing, f"not fsynced before the READY commit: {missing}"


@pytest.fixture
def encode_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The encode's ffmpeg reads a pipe nobody ever writes to: it waits for good, reporting nothing."""
    silent = tmp_path / "silent.ts"
    os.mkfifo(silent)
    monkeypatch.setattr(factory, "local_input", lambda _path: ["-i", str(silent)])


def ffmpeg_children() -> list[int]:
    """PIDs of the ffmpeg processes this process started that are still running."""
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    return [int(pid) for pid in children if "ffmpeg" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"job_stall_seconds": 1}, "ffmpeg stalled: no progress for 1 s"),
        ({"job_deadline_seconds": 3, "job_deadline_per_media_second": 0}, "job stopped: past its deadline of 3 s"),
    ],
    ids=["standing-still", "deadline"],
)
def test_a_job_whose_ffmpeg_hangs_is_stopped_and_gives_its_lease_back(  # noqa: ANN001
    make_runtime, tmp_path: Path, encode_hangs, settings: dict, reason: str
):
    source = media.pal_25(tmp_path / "clip.mp4")
    rt = make_runtime(**settings)

    with pytest.raises(InputError, match=re.escape(reason)):
        process_now(rt, str(source))

    with rt.db.session() as session:
        job = session.scalars(select(Job)).one()
        assert (job.state, job.lease_owner) == (JobState.FAILED, None) and reason in job.error
    assert ffmpeg_children() == [], "the hung ffmpeg was killed"


def test_a_stuck_job_is_retried_by_the_worker_while_attempts_remain(  # noqa: ANN001
    make_runtime, media_server, encode_hangs
):
    base, root = media_server
    media.pal_25(root / "clip.mp4")
    rt = make_runtime(job_stall_seconds=1, max_attempts=2)
    plan_id = add_plan(rt, base + "/clip.mp4")
    with worker_thread(rt):
        wait_for(lambda: plan_status(rt, plan_id) == PlanStatus.FAILED, timeout=60, what="both attempts to fail")
    job = job_for(rt, plan_id)
    assert job.attempts == 2 and "no progress for 1 s (attempt 2 of 2)" in job.error
    assert "factory.retry" in event_kinds(rt)


class SmallDisk:
    """A disk of `size` bytes holding the data folder: free is what the files under it leave (sparse ones too)."""

    def __init__(self, data_dir: Path, size: int) -> None:
        self.data_dir, self.size = data_dir, size

    def used(self) -> int:
        return sum(p.stat().st_size for p in self.data_dir.rglob("*") if p.is_file())

    def free(self, _folder: Path) -> int:
        return max(self.size - self.used(), 0)


MB = 1_000_000


def test_a_job_starts_only_with_room_for_the_download_cap(make_runtime, media_server, monkeypatch):  # noqa: ANN001
    base, root = media_server
    media.pal_25(root / "clip.mp4")
    rt = make_runtime(min_free_bytes=10 * MB, max_download_bytes=50 * MB)
    disk = SmallDisk(rt.settings.data_dir, 0)
    disk.size = disk.used() + 59 * MB  # room for the reserve, not for the reserve and a full download
    monkeypatch.setattr(factory, "free_bytes", disk.free)
    plan_id = add_plan(rt, base + "/clip.mp4")
    with worker_thread(rt):
        wait_for(lambda: "factory.disk-low" in event_kinds(rt), timeout=30, what="the disk-low event")
        assert job_for(rt, plan_id).attempts == 0, "not started"
        disk.size += 2 * MB  # another program freed some space
        wait_for(lambda: plan_status(rt, plan_id) == PlanStatus.DONE, timeout=60, what="the job, once there is room")


def test_a_disk_filling_up_during_the_encode_stops_the_job(make_runtime, media_server, monkeypatch):  # noqa: ANN001
    base, root = media_server
    media.encode(root / "long.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC], seconds=24)
    rt = make_runtime(SLOW_PROFILE, min_free_bytes=10 * MB, max_download_bytes=50 * MB, max_attempts=1)
    disk = SmallDisk(rt.settings.data_dir, 10**12)
    monkeypatch.setattr(factory, "free_bytes", disk.free)
    plan_id = add_plan(rt, base + "/long.mp4")
    with worker_thread(rt):
        wait_for(lambda: (job := job_for(rt, plan_id)) is not None and job.step == "encode", timeout=60,
                 what="the encode to start")  # fmt: skip
        disk.size = disk.used() + 5 * MB  # something else fills the disk: under the 10 MB reserve
        wait_for(lambda: plan_status(rt, plan_id) == PlanStatus.FAILED, timeout=60, what="the job to stop")
    job = job_for(rt, plan_id)
    assert "disk short" in job.error and "the running job" in job.error, job.error
    assert not list((rt.settings.media_dir / "assets").glob("*")), "nothing half-made was published"
