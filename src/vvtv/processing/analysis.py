"""The first pass: hear the whole sound through the loudness meter and try the picture.

One ffmpeg run reads the source once. Its sound, mixed to stereo as the
encode will mix it, goes through the loudness meter (the measurement the
second pass applies); its first few video frames are decoded, so a file whose
picture cannot be decoded is rejected before the expensive encode starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from vvtv.errors import RejectedError, ToolError
from vvtv.processing.ffmpeg import ProgressCallback, local_input, run_ffmpeg_report
from vvtv.processing.loudness import STEREO, Loudness, meter_filter, parse_meter
from vvtv.processing.probe import MediaInfo, VideoInfo

TRIAL_FRAMES = 8
# Sound that stops this far short of its stated length means the file was cut off.
MIN_DECODED_SHARE = 0.9


@dataclass(kw_only=True)
class FirstPass:
    loudness: Loudness | None  # None when the source has no sound
    decoded_frames: int
    decoded_audio_s: float


def first_pass(
    path: str,
    info: MediaInfo,
    video: VideoInfo,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float = 3600,
    stall_seconds: float | None = None,
) -> FirstPass:
    """Measure the loudness and check that the picture decodes; RejectedError when it does not."""
    args = local_input(path)
    if info.audio:
        # The sound first: the progress report's time is the first output's.
        args += ["-map", info.audio.stream, "-af", f"{STEREO},{meter_filter()}", "-f", "null", "-"]
    args += ["-map", video.stream, "-frames:v", str(TRIAL_FRAMES), "-f", "null", "-"]
    try:
        report = run_ffmpeg_report(args, timeout=timeout, on_progress=on_progress, stall_seconds=stall_seconds)
    except ToolError as exc:
        if not exc.stderr:
            raise  # ffmpeg did not run at all: the machine's problem, not the file's
        # Nothing but decoding happens here, so a failure is the source's.
        lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "error" in line.lower()), lines[-1])
        raise RejectedError(f"undecodable: {detail}") from None
    if report.frames == 0:
        raise RejectedError(f"video undecodable: not one frame of its {video.codec} stream decodes")
    if not info.audio:
        return FirstPass(loudness=None, decoded_frames=report.frames, decoded_audio_s=0.0)
    stated = info.audio.duration_s or info.duration_s
    if stated and report.out_time_s < MIN_DECODED_SHARE * stated:
        raise RejectedError(
            f"truncated or damaged: only {report.out_time_s:.1f} s of its {stated:.1f} s of sound decode"
        )
    loudness = parse_meter(report.stderr)
    return FirstPass(loudness=loudness, decoded_frames=report.frames, decoded_audio_s=report.out_time_s)
