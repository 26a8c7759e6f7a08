"""EBU R128 loudness: measure in a first pass, apply in the second (the encode).

Both passes hear the same thing: the source's sound mixed to stereo (mono
upmixed, 5.1 downmixed) by the same filter, so the gain measured is the gain
the viewer gets. The gain is linear (one `volume`) whenever the true peak
after it stays under the ceiling; only otherwise does loudnorm's dynamic mode
(gain riding plus a true-peak limiter) take over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vvtv.errors import ToolError

STEREO = "aformat=channel_layouts=stereo"  # swresample's standard up- and downmix matrices
ABSOLUTE_GATE_LUFS = -70.0  # EBU R128: blocks below this are not counted; all-below means silence
# loudnorm accepts a loudness range target of up to 50 LU; 7 is its default.
LRA_DEFAULT, LRA_MAX = 7.0, 50.0


@dataclass(kw_only=True)
class Loudness:
    integrated_lufs: float  # -70 (the absolute gate) or less for silence
    true_peak_dbtp: float
    range_lu: float
    threshold_lufs: float

    @property
    def silent(self) -> bool:
        return self.integrated_lufs <= ABSOLUTE_GATE_LUFS


@dataclass(kw_only=True)
class Normalization:
    filters: list[str]
    mode: str  # "linear", "dynamic" or "none" (silence)
    gain_db: float


def meter_filter() -> str:
    """A filter that passes the sound through and reports its loudness and true peak (parse_meter reads it).

    ebur128 measures at the source's own rate and oversamples only for the peak;
    loudnorm's meter, which resamples everything to 192 kHz, costs six times as much.
    """
    return "ebur128=peak=true:framelog=quiet"


_SUMMARY = re.compile(
    r"Integrated loudness:\s+I:\s+(?P<i>\S+) LUFS\s+Threshold:\s+(?P<thresh>\S+) LUFS"
    r"\s+Loudness range:\s+LRA:\s+(?P<lra>\S+) LU.*?True peak:\s+Peak:\s+(?P<tp>\S+) dBFS",
    re.DOTALL,
)


def parse_meter(log: str) -> Loudness:
    """The last loudness summary in an ffmpeg log."""
    reports = list(_SUMMARY.finditer(log))
    if not reports:
        raise ToolError("ffmpeg printed no loudness report", stderr=log)
    found = reports[-1]
    return Loudness(
        integrated_lufs=float(found["i"]),
        true_peak_dbtp=float(found["tp"]),
        range_lu=float(found["lra"]),
        threshold_lufs=float(found["thresh"]),
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
