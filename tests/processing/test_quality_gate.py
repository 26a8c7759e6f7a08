"""Acceptance 4: the VMAF gate.

A deliberately degraded first encode (x264's ultrafast preset at a starved
bitrate) scores under the threshold and takes the retry path, whose slower
preset passes; where even the retry cannot reach the threshold the plan is
rejected with its score.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import factory_media as media
from factory_support import make_runtime
from vvtv.config import Profile, Rendition
from vvtv.errors import InputError
from vvtv.processing.manual import process_now
from vvtv.processing.quality import read_vmaf
from vvtv.storage.models import Asset, Event, Plan, PlanStatus

STARVED = Profile(x264_preset="ultrafast", renditions=[Rendition(name="180p", width=320, height=180, video_kbps=60)])
# At 60 kb/s ultrafast scores about 72 on this picture and the slow preset about 90.
PASSABLE_THRESHOLD = 81
# Out of reach of either.
UNREACHABLE_THRESHOLD = 97


def events(rt, kind: str) -> list[Event]:  # noqa: ANN001
    with rt.db.session() as session:
        return session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def test_degraded_encode_is_retried_and_passes(make_runtime, tmp_path):  # noqa: ANN001
    source = media.encode(tmp_path / "clip.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC])
    rt = make_runtime(STARVED, vmaf_threshold=PASSABLE_THRESHOLD, vmaf_retry_preset="slow")

    made = process_now(rt, str(source))

    retries = events(rt, "factory.vmaf-retry")
    assert len(retries) == 1
    first_score = retries[0].data["vmaf"]["180p"]
    assert first_score < PASSABLE_THRESHOLD
    assert made.vmaf >= PASSABLE_THRESHOLD > first_score
    steps = [(e.data["step"], e.data["outcome"]) for e in events(rt, "factory.step")]
    assert steps == [("fetch", "ok"), ("analyse", "ok"), ("encode", "ok"), ("retry", "ok"), ("publish", "ok")]
    with rt.db.session() as session:
        assert session.get(Asset, made.asset_id).vmaf == made.vmaf


def test_source_that_cannot_reach_the_threshold_is_rejected_with_its_score(make_runtime, tmp_path):  # noqa: ANN001
    source = media.encode(tmp_path / "clip.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC])
    rt = make_runtime(STARVED, vmaf_threshold=UNREACHABLE_THRESHOLD)

    with pytest.raises(InputError, match=r"VMAF \d+\.\d of rendition 180p is under the threshold 97"):
        process_now(rt, str(source))

    with rt.db.session() as session:
        plan = session.scalars(select(Plan)).one()
        assert plan.status == PlanStatus.FAILED
        assert session.scalars(select(Asset)).all() == []
    score = float(re.search(r"VMAF (\d+\.\d)", plan.reason).group(1))
    assert 0 < score < UNREACHABLE_THRESHOLD
    assert len(events(rt, "factory.vmaf-retry")) == 1, "rejected only after the one retry"
    assert not list((rt.settings.media_dir / "assets").glob("*"))


def test_vmaf_log_without_a_score_is_a_tool_error(tmp_path):  # noqa: ANN001
    log = tmp_path / "vmaf.json"
    log.write_text('{"frames": []}')
    with pytest.raises(Exception, match="no VMAF score"):
        read_vmaf(log)
