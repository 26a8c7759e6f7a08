"""The demo role's programmes go through the real Factory: loudness, ladder, VMAF, poster, plan."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from vvtv.clock import FakeClock
from vvtv.config import ChannelSettings, Profile, Rendition, load_settings
from vvtv.demo.seed import seed_demo
from vvtv.processing.factory import OPERATOR
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetStatus, Plan, PlanStatus

SMALL = Profile(x264_preset="ultrafast", renditions=[Rendition(name="144p", width=256, height=144, video_kbps=400)])


def test_demo_programmes_are_made_by_the_factory_once(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "var",
        profiles={"small": SMALL},
        channels=[ChannelSettings(name="main", profile="small")],
        demo={"programmes": 2, "min_seconds": 5, "max_seconds": 6},  # shorter than the Factory's minimum for the web
    )
    rt = Runtime.open(settings, FakeClock())

    assert seed_demo(rt, "main") == 2
    assert seed_demo(rt, "main") == 0, "made once"

    with rt.db.session() as session:
        assets = session.scalars(select(Asset).order_by(Asset.id)).all()
        plans = {p.id: p for p in session.scalars(select(Plan))}
    assert [a.title for a in assets] == ["VVTV demo 1", "VVTV demo 2"]
    for asset in assets:
        plan = plans[asset.plan_id]
        assert (plan.status, plan.judge) == (PlanStatus.DONE, OPERATOR)
        assert asset.status == AssetStatus.READY and asset.profile == "small"
        assert abs(asset.loudness_lufs - SMALL.loudness_lufs) < 0.5 and asset.vmaf >= settings.factory.vmaf_threshold
        assert (settings.media_dir / asset.poster).is_file()
    assert not list((settings.data_dir / "demo-sources" / "small").iterdir()), "rendered sources are removed"
    rt.db.dispose()
