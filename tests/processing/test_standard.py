"""Acceptance 1: sources of every common shape become Assets that meet the broadcast standard.

Each source is made with ffmpeg, processed by `vvtv process`'s code path and the
output checked independently (Debian's ffprobe, pyloudnorm, a 4x oversampled peak).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

import factory_media as media
from factory_support import FACTORY_PROFILE, make_runtime
from factory_standard import active_picture, check_standard
from vvtv.processing.manual import process_now
from vvtv.processing.package import MASTER_NAME, PLAYLIST_NAME, POSTER_NAME
from vvtv.storage.models import Asset, AssetStatus, Event, Job, JobState, Plan, PlanStatus

# (maker, file extension, the picture's displayed aspect ratio)
CASES: list[tuple[Callable[[Path], Path], str, float]] = [
    (media.sd_4x3, "mp4", 4 / 3),
    (media.vertical_phone, "mp4", 9 / 16),
    (media.full_hd_60, "mp4", 16 / 9),
    (media.pal_25, "mp4", 16 / 9),
    (media.mono, "mp4", 4 / 3),
    (media.surround_51, "mp4", 4 / 3),
    (media.no_audio, "mp4", 4 / 3),
    (media.very_quiet, "mp4", 4 / 3),
    (media.very_loud, "mp4", 4 / 3),
    (media.variable_frame_rate, "mkv", 4 / 3),
    (media.hevc_10bit, "mp4", 4 / 3),
    (media.vp9_webm, "webm", 4 / 3),
    (media.interlaced, "mp4", 352 / 288),
]
BAR_TOLERANCE_PX = 4  # cropdetect rounds to even sizes


@pytest.mark.parametrize(("make", "extension", "aspect"), CASES, ids=[case[0].__name__ for case in CASES])
def test_source_becomes_standard_asset(make, extension, aspect, make_runtime, tmp_path):  # noqa: ANN001
    source = make(tmp_path / f"{make.__name__}.{extension}")
    rt = make_runtime()

    made = process_now(rt, str(source), title=make.__name__)

    assert made.master_playlist.is_file() and made.master_playlist.name == MASTER_NAME
    directory = made.master_playlist.parent
    measured = check_standard(directory, FACTORY_PROFILE, tmp_path, silent=make is media.no_audio)
    # Letterboxed or pillarboxed, never stretched: the picture inside the bars keeps its shape.
    top = FACTORY_PROFILE.top
    width, height = active_picture(directory / top.name / PLAYLIST_NAME)
    expected = (min(top.width, top.height * aspect), min(top.height, top.width / aspect))
    assert abs(width - expected[0]) <= BAR_TOLERANCE_PX and abs(height - expected[1]) <= BAR_TOLERANCE_PX, (
        (width, height), expected)
    with rt.db.session() as session:
        analysed = session.scalars(select(Event).where(Event.kind == "factory.analysed")).one().data
        assert abs(analysed["width"] / analysed["height"] - aspect) < 0.02, "the displayed size, after rotation"
        assert analysed["interlaced"] == (make is media.interlaced)
        asset = session.get(Asset, made.asset_id)
        plan = session.get(Plan, asset.plan_id)
        job = session.scalars(select(Job).where(Job.plan_id == plan.id)).one()
        assert (asset.status, plan.status, job.state) == (AssetStatus.READY, PlanStatus.DONE, JobState.DONE)
        assert rt.settings.media_dir / asset.path == directory
        assert (rt.settings.media_dir / asset.poster).name == POSTER_NAME
        assert (rt.settings.media_dir / asset.poster).stat().st_size > 0
        assert asset.vmaf is not None and asset.vmaf >= rt.settings.factory.vmaf_threshold
        assert abs(asset.duration_us / 1e6 - (4.5 if make is media.full_hd_60 else 6.5)) < 0.25
        if make is media.no_audio:
            assert asset.loudness_lufs is None
        else:
            # The Factory's own record agrees with the independent meter.
            assert abs(asset.loudness_lufs - measured["loudness_lufs"]) < 0.3
            assert asset.true_peak_dbtp <= rt.settings.profiles["factory"].true_peak_dbtp
    assert source.exists(), "an operator's own file is never deleted"
    assert not list((rt.settings.data_dir.resolve() / "factory" / "jobs").iterdir()), "workspace left behind"
