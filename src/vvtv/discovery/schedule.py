"""When the curator role discovers: on a fixed interval, and at once when the buffer runs low.

The buffer is the fresh programme time the channel has ahead: scheduled and
not yet aired, ready but not yet scheduled, and approved or in the Factory.
A low buffer triggers a discovery no sooner than `min_gap_minutes` after the
previous one, so a web that has nothing new is not searched in a tight loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.config import Settings
from vvtv.programming.programmer import fresh_assets, unaired_ahead_us
from vvtv.storage.models import Plan, PlanStatus

# A plan whose duration is unknown counts as this long while it waits for the Factory.
UNKNOWN_PLAN_SECONDS = 60


def buffer_ahead_us(session: Session, settings: Settings, channel: str, now_us: int) -> int:
    scheduled = unaired_ahead_us(session, channel, now_us)
    ready = sum(a.duration_us for a in fresh_assets(session, channel, settings.channel(channel).profile))
    waiting = session.scalar(
        select(func.coalesce(func.sum(func.coalesce(Plan.duration_s, UNKNOWN_PLAN_SECONDS)), 0)).where(
            Plan.channel == channel, Plan.status.in_([PlanStatus.APPROVED, PlanStatus.PROCESSING])
        )
    )
    return scheduled + ready + round(float(waiting or 0) * US)


@dataclass(kw_only=True)
class DiscoverySchedule:
    interval_us: int
    min_gap_us: int
    buffer_target_us: int
    last_run_us: int | None = None
    # The last discovery opened no result page (a site down or not up yet): try again at the next check.
    reached_no_site: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscoverySchedule:
        return cls(
            interval_us=round(settings.discovery.schedule_minutes * 60 * US),
            min_gap_us=round(settings.discovery.min_gap_minutes * 60 * US),
            buffer_target_us=round(settings.broadcaster.buffer_target_minutes * 60 * US),
        )

    def due(self, now_us: int, buffer_us: int) -> str | None:
        """Why a discovery should start now, or None."""
        if self.reached_no_site:
            return "the previous discovery reached no site: trying again"
        if self.last_run_us is None:
            return "first discovery since the curator started"
        since = now_us - self.last_run_us
        if since >= self.interval_us:
            return f"scheduled (every {self.interval_us / US / 60:g} min)"
        if buffer_us < self.buffer_target_us and since >= self.min_gap_us:
            return (f"buffer low: {buffer_us / US / 60:.1f} min of fresh content ahead, "
                    f"target {self.buffer_target_us / US / 60:g} min")  # fmt: skip
        return None
