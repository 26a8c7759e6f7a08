"""Quality auto-adjust: the Factory's x264 preset steps slower after VMAF failures and faster when encodes
fall behind, says so in an event, and a restarted Factory carries on with the preset it had reached."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

import factory_media as media
from factory_support import factory_settings, wait_for, worker_thread
from vvtv.clock import FakeClock
from vvtv.config import HealingSettings
from vvtv.healing.quality import EncodeOutcome, QualityGovernor, current_preset
from vvtv.processing.factory import OPERATOR
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Plan, PlanStatus


def _runtime(tmp_path: Path, **healing: object) -> Runtime:
    settings = factory_settings(tmp_path / "var")
    return Runtime.open(settings.model_copy(update={"healing": HealingSettings(**healing)}), FakeClock())


def _events(rt: Runtime, kind: str) -> list[Event]:
    with rt.db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_vmaf_failures_step_the_preset_slower_and_slow_encodes_step_it_faster(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, quality_window_jobs=5, vmaf_failures_to_step=2, max_encode_seconds_per_media_second=1.0)
    governor = QualityGovernor(rt)
    good = EncodeOutcome(media_seconds=10, encode_seconds=5, vmaf_failed=False)
    failed = EncodeOutcome(media_seconds=10, encode_seconds=5, vmaf_failed=True)
    assert governor.preset("factory") == "veryfast"  # the profile's own
    assert governor.observe("factory", failed) is None
    assert governor.observe("factory", good) is None
    assert governor.observe("factory", failed) == "faster"  # two failures in the window
    [event] = _events(rt, "factory.preset")
    assert event.data["previous"] == "veryfast" and event.data["preset"] == "faster"
    assert "2 of the last 3 encodes scored under the VMAF threshold" in event.message
    slow = EncodeOutcome(media_seconds=10, encode_seconds=30, vmaf_failed=False)
    assert [governor.observe("factory", slow) for _ in range(3)] == [None, None, "veryfast"]  # needs three
    assert current_preset(rt, "factory") == "veryfast"
    rt.db.dispose()


def test_the_factory_encodes_with_the_preset_it_stepped_to(tmp_path: Path) -> None:
    """Real jobs: any encode counts as too slow here, so each one steps the preset one faster."""
    rt = _runtime(tmp_path, quality_window_jobs=1, vmaf_failures_to_step=1, max_encode_seconds_per_media_second=1e-6)
    now = rt.clock.now_us()
    plan_ids = []
    for name in ("first", "second"):
        source = media.pal_25(tmp_path / f"{name}.mp4")
        with rt.db.session() as session:
            plan = Plan(page_url=str(source), title=name, judge=OPERATOR, status=PlanStatus.APPROVED,
                        created_at_us=now, updated_at_us=now)  # fmt: skip
            session.add(plan)
            session.flush()
            plan_ids.append(plan.id)

    def settled() -> bool:
        with rt.db.session() as session:
            return all(session.get(Plan, p).status in (PlanStatus.DONE, PlanStatus.FAILED) for p in plan_ids)

    with worker_thread(rt):
        wait_for(settled, timeout=300, what="both plans")
    ready = {e.data["plan"]: e.data["preset"] for e in _events(rt, "factory.asset-ready")}
    assert ready == {plan_ids[0]: "veryfast", plan_ids[1]: "superfast"}
    assert [e.data["preset"] for e in _events(rt, "factory.preset")] == ["superfast", "ultrafast"]
    assert QualityGovernor(rt).preset("factory") == "ultrafast"  # a restarted Factory goes on from there
    rt.db.dispose()
