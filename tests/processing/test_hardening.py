"""The Factory against bad luck: files on disk before they are called ready, disk space, stuck jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import factory_media as media
from factory_support import make_runtime
from vvtv.processing import jobs
from vvtv.processing.manual import process_now
from vvtv.storage.models import Asset


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
