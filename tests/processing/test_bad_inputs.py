"""Acceptance 2: bad inputs end as failed plans with a clear reason, and the worker goes on.

Every bad source is a plan of its own, served by a real HTTP server (or a URL
that must be refused before any connection); a good plan comes last. One
worker takes them all in turn.
"""

from __future__ import annotations

import random
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as query

import factory_media as media
from factory_support import make_runtime, media_server, wait_for, worker_thread
from vvtv.storage.models import Asset, Job, JobState, Plan, PlanStatus

MAX_DOWNLOAD_BYTES = 10_000_000  # /huge/ sends five times this


def undecodable(path: Path) -> Path:
    """A real MP4 whose coded video was overwritten with noise: the container is fine, the picture is not."""
    plain = media.encode(path.with_name("plain.mp4"), media.picture(), args=[*media.X264, "-an"])
    data = bytearray(plain.read_bytes())
    start, end = data.find(b"mdat") + 4, data.find(b"moov") - 4  # no faststart: mdat comes first
    data[start:end] = random.Random(7).randbytes(end - start)
    path.write_bytes(bytes(data))
    plain.unlink()
    return path


def truncated(path: Path) -> Path:
    """The first half of a file whose index comes first, as an interrupted download leaves it."""
    whole = media.encode(path.with_name("whole.mp4"), media.picture(), media.tone(),
                         args=[*media.X264, *media.AAC, "-movflags", "+faststart"])  # fmt: skip
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    whole.unlink()
    return path


def make_site(root: Path, lure_url: str) -> None:
    # A "video" that is a playlist of a segment elsewhere: ffmpeg must not go and fetch it.
    (root / "playlist.mp4").write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{lure_url}\n#EXT-X-ENDLIST\n")
    # One naming a file of this machine: it must not be read (nor aired) either.
    (root / "local-playlist.mp4").write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{root / 'good.mp4'}\n#EXT-X-ENDLIST\n"
    )
    truncated(root / "truncated.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("This is not a video.\n" * 100)
    media.audio_only(root / "audio-only.m4a")
    media.short_clip(root / "short.mp4")
    undecodable(root / "undecodable.mp4")
    media.pal_25(root / "good.mp4")


# (path on the site or a full URL, what the failure reason must say)
BAD = [
    ("/truncated.mp4", "truncated"),
    ("/empty.mp4", "empty file"),
    ("/text.mp4", "not a readable media file"),
    ("/playlist.mp4", "refers to other files or addresses"),
    ("/local-playlist.mp4", "refers to other files or addresses"),
    ("/audio-only.m4a", "no video stream"),
    ("/short.mp4", "too short"),
    ("/undecodable.mp4", "undecodable"),
    ("/missing.mp4", "HTTP Error 404"),
    ("/stall/clip.mp4", "timed out"),
    ("/huge/clip.mp4", "exceeds the size cap"),
    ("file:///etc/hosts", "scheme 'file' is not allowed"),
    ("http://10.1.2.3/clip.mp4", "private address"),
    ("http://192.168.0.1/", "add it to factory.allowed_hosts"),
]


@pytest.fixture
def lure() -> Iterator[tuple[str, socket.socket]]:
    """A listening socket nobody should connect to: (its URL, the socket)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/segment.ts", server


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address this process connects a socket to (recorded, then connected for real)."""
    seen: list[str] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def test_bad_inputs_fail_cleanly_and_the_worker_goes_on(make_runtime, media_server, connections, lure):  # noqa: ANN001
    base, root = media_server
    lure_url, lure_server = lure
    make_site(root, lure_url)
    rt = make_runtime(max_download_bytes=MAX_DOWNLOAD_BYTES, download_stall_seconds=1, max_attempts=2)
    now = rt.clock.now_us()
    urls = [u if "://" in u else base + u for u, _ in BAD] + [base + "/good.mp4"]
    with rt.db.session() as session:
        for url in urls:
            session.add(Plan(page_url=url, title=url.rsplit("/", 1)[-1], status=PlanStatus.APPROVED,
                             created_at_us=now, updated_at_us=now))  # fmt: skip

    def settled() -> bool:
        with rt.db.session() as session:
            open_plans = session.scalar(
                query(func.count()).select_from(Plan).where(Plan.status.not_in([PlanStatus.DONE, PlanStatus.FAILED]))
            )
            return open_plans == 0

    with worker_thread(rt):
        wait_for(settled, timeout=240, what="every plan to be done or failed")

    with rt.db.session() as session:
        plans = {p.page_url: p for p in session.scalars(query(Plan))}
        for (target, reason), url in zip(BAD, urls):
            plan = plans[url]
            assert plan.status == PlanStatus.FAILED, (url, plan.status, plan.reason)
            assert reason in plan.reason, (url, plan.reason)
            job = session.scalars(query(Job).where(Job.plan_id == plan.id)).one()
            assert job.state == JobState.FAILED and job.error == plan.reason
            # Bad input is final at once; a stalled server is worth the second attempt.
            assert job.attempts == (2 if target.startswith("/stall/") else 1), (url, job.attempts)
        good = plans[base + "/good.mp4"]
        assert good.status == PlanStatus.DONE, good.reason
        assets = session.scalars(query(Asset)).all()
        assert [a.plan_id for a in assets] == [good.id], "only the good plan became an Asset"

    data_dir = rt.settings.data_dir.resolve()
    assert sorted(p.name for p in (rt.settings.media_dir / "assets").iterdir()) == [Path(assets[0].path).name]
    assert not list((data_dir / "factory" / "jobs").iterdir()), "a failed job's workspace was left behind"
    assert not (data_dir / "factory" / "quarantine").exists()
    assert not [p for p in data_dir.rglob("*") if p.name.startswith(".work-") or p.name == "partial"]
    assert set(connections) <= {"127.0.0.1"}, f"connected to {set(connections) - {'127.0.0.1'}}"
    assert select.select([lure_server], [], [], 0)[0] == [], "ffmpeg fetched the playlist's segment"


def test_failed_job_files_are_quarantined_when_asked(make_runtime, media_server):  # noqa: ANN001
    base, root = media_server
    truncated(root / "truncated.mp4")
    rt = make_runtime(on_failure="quarantine")
    now = rt.clock.now_us()
    with rt.db.session() as session:
        session.add(Plan(page_url=base + "/truncated.mp4", status=PlanStatus.APPROVED, created_at_us=now,
                         updated_at_us=now))  # fmt: skip

    def failed() -> bool:
        with rt.db.session() as session:
            return session.scalars(query(Plan.status)).one() == PlanStatus.FAILED

    with worker_thread(rt):
        wait_for(failed, timeout=60, what="the plan to fail")
    quarantine = rt.settings.data_dir.resolve() / "factory" / "quarantine"
    kept = [p.name for p in quarantine.rglob("*") if p.is_file()]
    assert kept == ["source.mp4"], kept  # the download, kept for inspection
    assert not list((rt.settings.media_dir / "assets").glob("*"))
