"""The factory role's behaviour around the jobs: URLs, retries, stopping, disk space, sources."""

from __future__ import annotations

import time

from sqlalchemy import select

import factory_media as media
from factory_support import SLOW_PROFILE, make_runtime, media_server, wait_for, worker_thread
from vvtv.processing.factory import factory_dir
from vvtv.storage.models import Asset, Event, Job, JobState, Plan, PlanStatus


def add_plan(rt, page_url: str, media_url: str | None = None, title: str = "Clip") -> int:  # noqa: ANN001
    now = rt.clock.now_us()
    with rt.db.session() as session:
        plan = Plan(page_url=page_url, media_url=media_url, title=title, status=PlanStatus.APPROVED,
                    created_at_us=now, updated_at_us=now)  # fmt: skip
        session.add(plan)
        session.flush()
        return plan.id


def plan_status(rt, plan_id: int) -> PlanStatus:  # noqa: ANN001
    with rt.db.session() as session:
        return session.get(Plan, plan_id).status


def job_for(rt, plan_id: int) -> Job | None:  # noqa: ANN001
    with rt.db.session() as session:
        return session.scalars(select(Job).where(Job.plan_id == plan_id)).one_or_none()


def event_kinds(rt) -> list[str]:  # noqa: ANN001
    with rt.db.session() as session:
        return list(session.scalars(select(Event.kind).order_by(Event.id)))


def test_page_url_hls_and_stale_media_url(make_runtime, media_server, tmp_path):  # noqa: ANN001
    base, root = media_server
    media.pal_25(root / "clip.mp4")
    (root / "watch.html").write_text('<html><head><title>A walk</title></head><body>'
                                     '<video controls src="clip.mp4"></video></body></html>')  # fmt: skip
    hls = root / "hls"
    hls.mkdir()
    hls_args = ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    media.encode(hls / "index.m3u8", media.picture("480x270"), media.tone(), args=[*media.X264, *media.AAC, *hls_args])
    rt = make_runtime(keep_sources="archive")
    from_page = add_plan(rt, base + "/watch.html", title="")
    from_hls = add_plan(rt, base + "/hls-page", media_url=base + "/hls/index.m3u8")
    # The media link captured in the browser has expired; the page still leads to the video.
    stale = add_plan(rt, base + "/watch.html?again", media_url=base + "/expired.mp4")

    settled = (PlanStatus.DONE, PlanStatus.FAILED)
    with worker_thread(rt):
        wait_for(lambda: all(plan_status(rt, p) in settled for p in (from_page, from_hls, stale)),
                 timeout=120, what="three plans to settle")  # fmt: skip

    with rt.db.session() as session:
        reasons = {p.id: (p.status, p.reason) for p in session.scalars(select(Plan))}
        assert all(status == PlanStatus.DONE for status, _ in reasons.values()), reasons
        assets = {a.plan_id: a for a in session.scalars(select(Asset))}
    assert assets[from_page].title == "A walk", "the page's title is used when the plan has none"
    assert assets[from_hls].source == base + "/hls/index.m3u8"
    assert abs(assets[from_hls].duration_us / 1e6 - media.SECONDS) < 0.25
    archived = sorted(p.name for p in (factory_dir(rt.settings) / "archive").iterdir())
    assert archived == [f"{p:06d}-source.mp4" for p in (from_page, from_hls, stale)]


def test_failure_that_may_pass_is_retried_after_its_backoff(make_runtime, media_server):  # noqa: ANN001
    base, _ = media_server
    rt = make_runtime(max_attempts=3, retry_backoff_seconds=30, download_stall_seconds=1)
    plan_id = add_plan(rt, base + "/stall/clip.mp4")

    with worker_thread(rt):
        wait_for(lambda: (job := job_for(rt, plan_id)) is not None and job.attempts == 1
                 and job.state == JobState.QUEUED, timeout=60, what="the first attempt to fail")  # fmt: skip
        time.sleep(1.5)  # several polls: the job is not due yet on the (fake) clock
        assert job_for(rt, plan_id).attempts == 1
        rt.clock.advance(30)
        wait_for(lambda: job_for(rt, plan_id).attempts == 2, timeout=30, what="the retry after the backoff")
    job = job_for(rt, plan_id)
    assert "timed out" in job.error
    assert "factory.retry" in event_kinds(rt)


def test_stopping_worker_gives_the_job_back(make_runtime, media_server):  # noqa: ANN001
    base, root = media_server
    media.encode(root / "long.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC], seconds=24)
    rt = make_runtime(SLOW_PROFILE)
    plan_id = add_plan(rt, base + "/long.mp4")
    with worker_thread(rt):
        wait_for(lambda: (job := job_for(rt, plan_id)) is not None and job.step == "encode", timeout=60,
                 what="the encode to start")  # fmt: skip
    job = job_for(rt, plan_id)
    assert (job.state, job.attempts, job.lease_owner) == (JobState.QUEUED, 0, None)
    assert not list((factory_dir(rt.settings) / "jobs").iterdir())
    assert not list((rt.settings.media_dir / "assets").glob("*"))


def test_no_job_starts_while_the_disk_is_short_of_space(make_runtime, media_server):  # noqa: ANN001
    base, root = media_server
    rt = make_runtime(min_free_bytes=10**18)
    plan_id = add_plan(rt, base + "/clip.mp4")
    with worker_thread(rt):
        wait_for(lambda: "factory.disk-low" in event_kinds(rt), timeout=30, what="the disk-low event")
        time.sleep(1)
    job = job_for(rt, plan_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0), "enqueued, but not started"
    assert event_kinds(rt).count("factory.disk-low") == 1, "reported once, not on every poll"

