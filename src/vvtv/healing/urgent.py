"""Urgent discovery: a channel whose fresh programmes run short of the buffer target gets help at once.

Fresh is programme time not aired yet: scheduled after now, or ready and not
scheduled (reruns and the slate do not count). When it falls below
`broadcaster.buffer_target_minutes`, the channel becomes urgent: an event says
so, the Factory's jobs for the channel get a higher priority (they are taken
before any other channel's), and, unless enough plans already wait in the
Factory, a discovery with the channel's brief starts at once, not at the next
scheduled time. While urgent, jobs that appear are raised too. When fresh time
is back at the target, another event says so and the priority goes back down.
"""

from __future__ import annotations

from dataclasses import dataclass

from vvtv.broadcast.buffer import BufferAhead
from vvtv.clock import US
from vvtv.processing import jobs
from vvtv.runtime import Runtime

URGENT_PRIORITY = 10


@dataclass(kw_only=True)
class Urgency:
    """One channel's state: urgent since when (None when not)."""

    since_us: int | None = None


class UrgentDiscovery:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.target_us = round(rt.settings.broadcaster.buffer_target_minutes * 60 * US)
        self.channels: dict[str, Urgency] = {}

    def is_urgent(self, channel: str) -> bool:
        return self.channels.get(channel, Urgency()).since_us is not None

    def check(self, channel: str, now_us: int, buffer: BufferAhead) -> str | None:
        """Update the channel's urgency from its buffer (vvtv.broadcast.buffer); why to discover at once, or None."""
        rt = self.rt
        fresh_us = buffer.fresh_us
        pipeline_us = buffer.fresh_us + buffer.in_factory_us  # with the plans already waiting for the Factory
        state = self.channels.setdefault(channel, Urgency())
        minutes = f"{fresh_us / US / 60:.1f} min of fresh programmes ahead, target {self.target_us / US / 60:g} min"
        if fresh_us >= self.target_us:
            if state.since_us is not None:
                state.since_us = None
                lowered = jobs.set_priority(rt.db, channel, 0)
                rt.record_event("buffer-recovered", f"{minutes}: urgency over, Factory priority back to normal "
                                f"({lowered} job(s))", channel=channel, fresh_us=fresh_us)  # fmt: skip
            return None
        raised = jobs.set_priority(rt.db, channel, URGENT_PRIORITY)  # jobs that appeared since are raised too
        if state.since_us is not None:
            return None
        state.since_us = now_us
        discover = pipeline_us < self.target_us
        then = ("an urgent discovery starts now with the channel's brief" if discover
                else "enough plans already wait in the Factory, so no discovery yet")  # fmt: skip
        rt.record_event("urgent-discovery", f"{minutes}: Factory priority raised for {raised} job(s); {then}",
                        channel=channel, fresh_us=fresh_us, pipeline_us=pipeline_us, jobs_raised=raised,
                        discovering=discover)  # fmt: skip
        return f"urgent: {minutes}" if discover else None
