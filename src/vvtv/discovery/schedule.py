"""When the curator role discovers: on a fixed interval, and at once when the buffer runs low.

The buffer that counts here is the channel's fresh programme time ahead
(vvtv.broadcast.buffer) plus the approved plans still in the Factory, so content
already on its way is not searched for again. A low buffer triggers a discovery
no sooner than `min_gap_minutes` after the previous one, so a web that has
nothing new is not searched in a tight loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from vvtv.broadcast.buffer import BufferAhead
from vvtv.clock import US
from vvtv.config import Settings


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

    def due(self, now_us: int, buffer: BufferAhead) -> str | None:
        """Why a discovery should start now, or None."""
        if self.reached_no_site:
            return "the previous discovery reached no site: trying again"
        if self.last_run_us is None:
            return "first discovery since the curator started"
        since = now_us - self.last_run_us
        if since >= self.interval_us:
            return f"scheduled (every {self.interval_us / US / 60:g} min)"
        if buffer.fresh_us + buffer.in_factory_us < self.buffer_target_us and since >= self.min_gap_us:
            return (f"buffer low: fresh programmes {buffer.fresh_minutes:.1f} min ahead "
                    f"(+ {buffer.in_factory_minutes:.1f} min in the Factory), "
                    f"target {self.buffer_target_us / US / 60:g} min")  # fmt: skip
        return None
