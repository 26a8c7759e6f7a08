"""Analysis: what ffprobe reports as typed records, and the reasons a source is turned away."""

from __future__ import annotations

from fractions import Fraction

import pytest

import factory_media as media
from vvtv.errors import InputError, RejectedError
from vvtv.processing.probe import AudioInfo, Limits, MediaInfo, VideoInfo, admit, analyse

LIMITS = Limits(min_short_side=720, min_seconds=10, max_seconds=3600)


def video(width: int = 1920, height: int = 1080, **fields: object) -> VideoInfo:
    values = dict(stream="0:0", codec="h264", profile="High", width=width, height=height, rotation=0,
                  sample_aspect=Fraction(1), pixel_format="yuv420p", frame_rate=25.0, nominal_frame_rate=25.0,
                  interlaced=False, duration_s=60.0)  # fmt: skip
    values.update(fields)
    return VideoInfo(**values)


def info(duration_s: float | None = 60.0, video_info: VideoInfo | None = None, audio: bool = True) -> MediaInfo:
    sound = AudioInfo(stream="0:1", codec="aac", channels=2, layout="stereo", sample_rate=48000, duration_s=duration_s)
    return MediaInfo(container="mov,mp4", duration_s=duration_s, size_bytes=1, video=video_info,
                     audio=sound if audio else None)  # fmt: skip


def test_real_files_are_described(tmp_path):  # noqa: ANN001
    phone = analyse(str(media.vertical_phone(tmp_path / "phone.mp4")))
    assert (phone.video.width, phone.video.height, phone.video.rotation) == (640, 360, 90)
    assert phone.video.display_size == (360, 640)
    assert phone.audio.layout == "stereo" and abs(phone.duration_s - media.SECONDS) < 0.1

    woven = analyse(str(media.interlaced(tmp_path / "interlaced.mp4")))
    assert woven.video.interlaced
    surround = analyse(str(media.surround_51(tmp_path / "surround.mp4")))
    assert (surround.audio.channels, surround.audio.layout) == (6, "5.1")
    silent = analyse(str(media.no_audio(tmp_path / "silent.mp4")))
    assert silent.audio is None and silent.video.codec == "h264"


def test_unreadable_file_is_an_input_error(tmp_path):  # noqa: ANN001
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(InputError, match="not a readable media file"):
        analyse(str(text))


def test_admit_takes_a_good_source():
    chosen = video()
    assert admit(info(video_info=chosen), LIMITS) is chosen


@pytest.mark.parametrize(
    ("media_info", "reason"),
    [
        (info(video_info=None), r"no video stream \(audio only"),
        (info(video_info=None, audio=False), "no video stream \\(no audio or video"),
        (info(duration_s=None, video_info=video()), "duration unknown"),
        (info(duration_s=4.0, video_info=video()), r"too short: 4.0 s \(minimum 10 s\)"),
        (info(duration_s=7200.0, video_info=video()), r"too long: 7200 s \(maximum 3600 s\)"),
        (info(video_info=video(1280, 544)), "below the minimum resolution: 1280x544"),
        (info(video_info=video(480, 854)), "below the minimum resolution: 480x854"),
        # Anamorphic: stored 720 wide, shown 1280 wide; the stored height of 576 is what counts.
        (info(video_info=video(720, 576, sample_aspect=Fraction(64, 45))), "below the minimum resolution: 1024x576"),
    ],
)
def test_admit_names_the_reason(media_info, reason):  # noqa: ANN001
    with pytest.raises(RejectedError, match=reason):
        admit(media_info, LIMITS)


def test_vertical_video_is_judged_by_its_shorter_side():
    upright = video(1280, 720, rotation=90)
    assert upright.display_size == (720, 1280)
    assert admit(info(video_info=upright), LIMITS) is upright
