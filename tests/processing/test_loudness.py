"""Loudness: the meter's report, and the choice between a linear gain and loudnorm's dynamic mode."""

from __future__ import annotations

import math

import pytest

import factory_media as media
from vvtv.errors import ToolError
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.processing.loudness import STEREO, Loudness, meter_filter, normalization, parse_meter


def measured(integrated: float, peak: float) -> Loudness:
    return Loudness(integrated_lufs=integrated, true_peak_dbtp=peak, range_lu=5.0, threshold_lufs=integrated - 10)


def test_meter_reads_a_real_tone(tmp_path):  # noqa: ANN001
    # A 997 Hz sine peaking at -20 dBFS in both channels reads -20 LUFS and -20 dBTP (EBU Tech 3341).
    sine = ["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*997*t):s=48000:c=stereo"]
    clip = media.encode(tmp_path / "tone.wav", sine, args=["-c:a", "pcm_f32le"], seconds=5)
    report = parse_meter(run_ffmpeg(["-i", str(clip), "-af", f"{STEREO},{meter_filter()}", "-f", "null", "-"]))
    assert abs(report.integrated_lufs - -20) < 0.2
    assert abs(report.true_peak_dbtp - -20) < 0.2


def test_quiet_sound_with_headroom_gets_one_linear_gain():
    plan = normalization(measured(-40.0, -30.0), target_lufs=-14, ceiling_dbtp=-2)
    assert (plan.mode, plan.gain_db) == ("linear", 26.0)
    assert plan.filters == [STEREO, "volume=26.00dB:precision=double"]


def test_loud_sound_is_turned_down_linearly():
    plan = normalization(measured(-5.0, 0.5), target_lufs=-14, ceiling_dbtp=-2)
    assert (plan.mode, plan.gain_db) == ("linear", -9.0)


def test_peaks_that_the_gain_would_push_over_the_ceiling_need_the_dynamic_mode():
    plan = normalization(measured(-30.0, -6.0), target_lufs=-14, ceiling_dbtp=-2)
    assert plan.mode == "dynamic"
    assert plan.filters[1].startswith("loudnorm=I=-14.0:TP=-2.0:")
    assert "measured_I=-30.00" in plan.filters[1] and "linear=false" in plan.filters[1]


def test_silence_is_left_alone():
    plan = normalization(measured(-70.0, -math.inf), target_lufs=-14, ceiling_dbtp=-2)
    assert (plan.mode, plan.filters) == ("none", [STEREO])


def test_missing_report_is_a_tool_error():
    with pytest.raises(ToolError, match="no loudness report"):
        parse_meter("ffmpeg said nothing useful")
