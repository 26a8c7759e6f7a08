"""The Curator steps back while the machine is overloaded: the broadcast and the Factory come first.

Load is the 1-minute load average per core. Above `healing.max_load_per_core`
the Curator starts no discovery (one under way finishes its current link and
stops early) until the load falls below the limit again; an event records each
change.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from vvtv.runtime import Runtime

LoadReading = Callable[[], float]


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


class LoadPause:
    def __init__(self, rt: Runtime, read: LoadReading = load_per_core) -> None:
        self.rt = rt
        self.read = read
        self.paused = False

    def check(self) -> bool:
        """True while the Curator should pause; records the changes."""
        limit = self.rt.settings.healing.max_load_per_core
        load = self.read()
        overloaded = load > limit
        if overloaded != self.paused:
            self.paused = overloaded
            if overloaded:
                self.rt.record_event("curator-paused", f"load {load:.2f} per core is above {limit:g}: the Curator "
                                     "pauses so the broadcast and the Factory keep the machine", load=load)  # fmt: skip
            else:
                self.rt.record_event("curator-resumed", f"load {load:.2f} per core is back under {limit:g}: "
                                     "the Curator resumes", load=load)  # fmt: skip
        return self.paused
