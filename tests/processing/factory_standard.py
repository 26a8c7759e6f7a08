"""An independent check of the broadcast standard on a finished Asset's files.

It uses Debian's ffprobe and ffmpeg (not the encoder's build) to read the
output, pyloudnorm to measure loudness (not the filter that normalized it) and
a 4x oversampled peak for the true peak.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile
from scipy.signal import resample_poly

from vvtv.config import Profile
from vvtv.processing.package import PLAYLIST_NAME, read_vod_durations

FFPROBE = "/usr/bin/ffprobe"
FFMPEG = "/usr/bin/ffmpeg"
TIME_TOLERANCE_S = 0.001


def ffprobe_json(path: Path, *args: str) -> dict:
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def keyframe_times(playlist: Path) -> tuple[list[float], float]:
    """Times of the video keyframes from the first frame on, and the time of the last frame."""
    packets = ffprobe_json(playlist, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")["packets"]
    times = sorted((float(p["pts_time"]), "K" in p["flags"]) for p in packets)
    start = times[0][0]
    return [t - start for t, key in times if key], times[-1][0] - start


def decode_audio(playlist: Path, wav: Path) -> tuple[np.ndarray, int]:
    subprocess.run(
        [FFMPEG, "-v", "error", "-nostdin", "-y", "-i", str(playlist), "-map", "0:a:0", "-c:a", "pcm_f32le", str(wav)],
        check=True, timeout=120,
    )  # fmt: skip
    samples, rate = soundfile.read(str(wav), dtype="float64", always_2d=True)
    return samples, rate


def true_peak_dbtp(samples: np.ndarray) -> float:
    """The peak of the signal oversampled 4 times (ITU-R BS.1770's method), in dB."""
    peak = float(np.max(np.abs(resample_poly(samples, 4, 1, axis=0))))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def active_picture(playlist: Path) -> tuple[int, int]:
    """Width and height of the picture inside the black bars, found by cropdetect over the whole clip."""
    done = subprocess.run(
        [FFMPEG, "-nostdin", "-i", str(playlist), "-vf", "cropdetect=limit=16:round=2:reset=0", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    width, height = re.findall(r"crop=(\d+):(\d+):", done.stderr)[-1]
    return int(width), int(height)


def check_rendition(directory: Path, rendition_name: str, width: int, height: int, profile: Profile) -> None:
    info = ffprobe_json(directory / rendition_name / PLAYLIST_NAME, "-show_streams")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p"), video
    assert (video["width"], video["height"]) == (width, height)
    assert Fraction(video["r_frame_rate"]) == profile.fps, video["r_frame_rate"]
    assert Fraction(video["avg_frame_rate"]) == profile.fps, video["avg_frame_rate"]
    assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")
    assert video.get("field_order", "progressive") == "progressive", video.get("field_order")
    assert (audio["codec_name"], audio["profile"], audio["sample_rate"], audio["channels"]) == ("aac", "LC", "48000", 2)

    keyframes, last_frame = keyframe_times(directory / rendition_name / PLAYLIST_NAME)
    every = profile.keyframe_seconds
    expected = [k * every for k in range(int(last_frame // every) + 1)]
    assert len(keyframes) == len(expected), (keyframes, expected)
    assert all(abs(a - b) <= TIME_TOLERANCE_S for a, b in zip(keyframes, expected)), (keyframes, expected)


def check_standard(directory: Path, profile: Profile, scratch: Path, *, silent: bool = False) -> dict[str, float]:
    """Assert every rule of the standard on an asset folder; returns the measured loudness figures.

    `scratch` is a folder for the decoded sound.
    """
    ladder = [read_vod_durations(directory / r.name / PLAYLIST_NAME) for r in profile.renditions]
    segment_us = profile.segment_seconds * 1_000_000
    for durations in ladder:
        assert durations == ladder[0], "renditions' segment boundaries differ"
        assert all(d == segment_us for d in durations[:-1]), durations
        assert 0 < durations[-1] <= segment_us, durations
    for r in profile.renditions:
        check_rendition(directory, r.name, r.width, r.height, profile)

    samples, rate = decode_audio(directory / profile.top.name / PLAYLIST_NAME, scratch / "check.wav")
    peak = true_peak_dbtp(samples)
    if silent:
        assert peak == -math.inf or peak < -90, f"expected silence, peak {peak:.1f} dBTP"
        return {"true_peak_dbtp": peak}
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(loudness - profile.loudness_lufs) <= 0.5, f"integrated loudness {loudness:.2f} LUFS"
    assert peak <= profile.true_peak_dbtp, f"true peak {peak:.2f} dBTP"
    return {"loudness_lufs": loudness, "true_peak_dbtp": peak}
