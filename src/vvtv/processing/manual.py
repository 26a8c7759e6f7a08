"""Programmes added by hand: `vvtv process PATH_OR_URL`, in the foreground.

The operator may name a local file (a plan from the web may not); a URL is
checked like any other. The programme becomes a Plan approved by the operator
and its job runs at once, here, through the same steps as the factory role's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from vvtv.clock import US
from vvtv.config import FactorySettings
from vvtv.errors import InputError
from vvtv.netsafety import check_public_url
from vvtv.processing import jobs
from vvtv.processing.download import ALLOW_LIST
from vvtv.processing.factory import OPERATOR, is_url, run_job, worker_id
from vvtv.processing.jobrun import ProgressListener
from vvtv.processing.package import MASTER_NAME
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, Plan, PlanStatus


@dataclass(kw_only=True)
class Made:
    """What `vvtv process` reports."""

    asset_id: int
    title: str
    master_playlist: Path
    duration_s: float
    vmaf: float | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None



def _operator_reference(target: str, settings: FactorySettings) -> str:
    if is_url(target):
        check_public_url(target, settings.allowed_hosts, setting=ALLOW_LIST)
        return target
    path = Path(target).expanduser()
    if not path.is_file():
        raise InputError(f"{target}: no such file")
    return str(path.resolve())


def _operator_plan(rt: Runtime, reference: str, *, channel: str, title: str) -> int:
    """The plan for a programme added by hand: new, or an earlier one for the same source reopened."""
    now = rt.clock.now_us()
    with rt.db.session() as session:
        plan = session.scalars(select(Plan).where(Plan.page_url == reference)).one_or_none()
        if plan is not None and plan.status == PlanStatus.DONE:
            asset = session.scalars(select(Asset).where(Asset.plan_id == plan.id)).first()
            raise InputError(f"{reference} was already made into asset {asset.id if asset else '?'}")
        # PROCESSING at once, never APPROVED: a running Factory enqueues every approved plan that has
        # no job, and would race start_now() for this one (jobs.plan_id is unique).
        if plan is None:
            plan = Plan(page_url=reference, channel=channel, created_at_us=now, status=PlanStatus.PROCESSING)
            session.add(plan)
        plan.channel, plan.judge, plan.status, plan.reason = channel, OPERATOR, PlanStatus.PROCESSING, ""
        plan.updated_at_us = now
        if title:
            plan.title = title
        session.flush()
        return plan.id


def process_now(
    rt: Runtime, target: str, *, channel: str | None = None, title: str = "", listener: ProgressListener | None = None
) -> Made:
    """`vvtv process`: make one programme from a local file or a URL, in the foreground."""
    settings = rt.settings
    channel_name = settings.channel(channel or settings.origin.default_channel).name
    reference = _operator_reference(target, settings.factory)
    plan_id = _operator_plan(rt, reference, channel=channel_name, title=title)
    lease = jobs.start_now(rt.db, rt.clock, plan_id, owner=worker_id(), lease_seconds=settings.factory.lease_seconds,
                           max_attempts=settings.factory.max_attempts)  # fmt: skip
    outcome = run_job(rt, lease, listener=listener, retry=False)
    if outcome.asset_id is None:
        raise InputError(f"{target}: not made into an asset: {outcome.error}")
    with rt.db.session() as session:
        asset = session.get(Asset, outcome.asset_id)
        assert asset is not None
        return Made(
            asset_id=asset.id, title=asset.title, master_playlist=settings.media_dir / asset.path / MASTER_NAME,
            duration_s=asset.duration_us / US, vmaf=asset.vmaf, loudness_lufs=asset.loudness_lufs,
            true_peak_dbtp=asset.true_peak_dbtp,
        )  # fmt: skip
