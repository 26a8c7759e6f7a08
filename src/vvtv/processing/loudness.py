"""EBU R128 loudness: measure in a first pass, apply in the second (the encode).

Both passes hear the same thing: the source's sound mixed to stereo (mono
upmixed, 5.1 downmixed) by the same filter, so the gain measured is the gain
the viewer gets. The gain is linear (one `volume`) whenever the true peak
after it stays under the ceiling; only otherwise does loudnorm's dynamic mode
(gain riding plus a true-peak limiter) take over.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from vvtv.errors import ToolError

STEREO = "aformat=channel_layouts=stereo"  # swresample's standard up- and downmix matrices
# loudnorm accepts a loudness range target of up to 50 LU; 7 is its default.
LRA_DEFAULT, LRA_MAX = 7.0, 50.0


@dataclass(kw_only=True)
class Loudness:
    integrated_lufs: float  # -inf for silence
    true_peak_dbtp: float
    range_lu: float
    threshold_lufs: float

    @property
    def silent(self) -> bool:
        return math.isinf(self.integrated_lufs)


@dataclass(kw_only=True)
class Normalization:
    filters: list[str]
    mode: str  # "linear", "dynamic" or "none" (silence)
    gain_db: float


def meter_filter() -> str:
    """A filter that passes the sound through and reports its loudness (parse_meter reads it)."""
    return "loudnorm=print_format=json"


_REPORT = re.compile(r"\[Parsed_loudnorm[^\]]*\]\s*(\{.*?\})", re.DOTALL)


def parse_meter(log: str) -> Loudness:
    """The last loudnorm report in an ffmpeg log."""
    reports = _REPORT.findall(log)
    if not reports:
        raise ToolError("ffmpeg printed no loudness report", stderr=log)
    data = json.loads(reports[-1])
    return Loudness(
        integrated_lufs=float(data["input_i"]),
        true_peak_dbtp=float(data["input_tp"]),
        range_lu=float(data["input_lra"]),
        threshold_lufs=float(data["input_thresh"]),
    )


def normalization(measured: Loudness, *, target_lufs: float, ceiling_dbtp: float) -> Normalization:
    """The second pass's filters: bring `measured` to `target_lufs` with peaks under `ceiling_dbtp`."""
    if measured.silent:
        return Normalization(filters=[STEREO], mode="none", gain_db=0.0)
    gain = target_lufs - measured.integrated_lufs
    if measured.true_peak_dbtp + gain <= ceiling_dbtp:
        return Normalization(filters=[STEREO, f"volume={gain:.2f}dB:precision=double"], mode="linear", gain_db=gain)
    lra = min(max(measured.range_lu, LRA_DEFAULT), LRA_MAX)
    dynamic = (
        f"loudnorm=I={target_lufs:.1f}:TP={ceiling_dbtp:.1f}:LRA={lra:.1f}"
        f":measured_I={measured.integrated_lufs:.2f}:measured_TP={measured.true_peak_dbtp:.2f}"
        f":measured_LRA={measured.range_lu:.2f}:measured_thresh={measured.threshold_lufs:.2f}"
        ":linear=false"
    )
    return Normalization(filters=[STEREO, dynamic], mode="dynamic", gain_db=gain)
