"""Quality auto-adjust: the Factory's x264 preset follows what its recent encodes showed.

Per profile, over the last `healing.quality_window_jobs` encodes:
- `healing.vmaf_failures_to_step` or more first encodes under the VMAF threshold step
  the preset one slower (x264 spends more effort per bit, so the same bitrate scores higher);
- otherwise, a median encode slower than `healing.max_encode_seconds_per_media_second`
  (needs at least three encodes) steps it one faster, so the Factory keeps up.
A step is an event (`factory.preset`) and starts a new window. The latest such event is the
profile's preset, so a restarted Factory carries on with it; without one, the profile's own.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

from sqlalchemy import select

from vvtv.config import X264_PRESETS
from vvtv.runtime import Runtime
from vvtv.storage.models import Event

PRESET_EVENT = "factory.preset"
MIN_SPEED_SAMPLES = 3


@dataclass(frozen=True, kw_only=True)
class EncodeOutcome:
    media_seconds: float
    encode_seconds: float
    vmaf_failed: bool  # the first encode scored under the threshold

    @property
    def seconds_per_media_second(self) -> float:
        return self.encode_seconds / self.media_seconds if self.media_seconds > 0 else 0.0


def current_preset(rt: Runtime, profile_name: str) -> str:
    """The preset the latest factory.preset event set for the profile, or the profile's own."""
    with rt.db.session() as session:
        events = session.scalars(
            select(Event).where(Event.kind == PRESET_EVENT).order_by(Event.id.desc()).limit(200)
        ).all()
    chosen = next((e.data.get("preset") for e in events if e.data.get("profile") == profile_name), None)
    return chosen if chosen in X264_PRESETS else rt.settings.profiles[profile_name].x264_preset


class QualityGovernor:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._presets: dict[str, str] = {}
        self._windows: dict[str, deque[EncodeOutcome]] = {}

    def preset(self, profile_name: str) -> str:
        if profile_name not in self._presets:
            self._presets[profile_name] = current_preset(self.rt, profile_name)
        return self._presets[profile_name]

    def observe(self, profile_name: str, outcome: EncodeOutcome) -> str | None:
        """Count one encode; the new preset when this one made it step, else None."""
        healing = self.rt.settings.healing
        window = self._windows.setdefault(profile_name, deque(maxlen=healing.quality_window_jobs))
        window.append(outcome)
        preset = self.preset(profile_name)
        position = X264_PRESETS.index(preset) if preset in X264_PRESETS else X264_PRESETS.index("veryfast")
        failures = sum(o.vmaf_failed for o in window)
        speed = statistics.median(o.seconds_per_media_second for o in window)
        if failures >= healing.vmaf_failures_to_step and position + 1 < len(X264_PRESETS):
            new = X264_PRESETS[position + 1]
            why = (f"{failures} of the last {len(window)} encodes scored under the VMAF threshold: "
                   f"x264 preset {preset} -> {new} (more quality per bit)")  # fmt: skip
        elif (len(window) >= min(MIN_SPEED_SAMPLES, healing.quality_window_jobs)
              and speed > healing.max_encode_seconds_per_media_second and position > 0):  # fmt: skip
            new = X264_PRESETS[position - 1]
            why = (f"encodes took a median {speed:.2f} s per second of media, over "
                   f"{healing.max_encode_seconds_per_media_second:g}: x264 preset {preset} -> {new} (faster)")
        else:
            return None
        self._presets[profile_name] = new
        window.clear()
        self.rt.record_event(
            PRESET_EVENT, f"profile {profile_name}: {why}", profile=profile_name, preset=new, previous=preset,
            vmaf_failures=failures, seconds_per_media_second=round(speed, 3),
        )  # fmt: skip
        return new
