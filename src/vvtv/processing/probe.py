"""Analysis: what a source file holds (ffprobe), and whether the channel can take it.

`MediaInfo` is the typed record of one ffprobe run; `admit()` turns it into a
clear rejection when the file cannot become an Asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from vvtv.errors import RejectedError
from vvtv.processing import ffmpeg

INTERLACED_FIELD_ORDERS = ("tt", "bb", "tb", "bt")


@dataclass(kw_only=True)
class VideoInfo:
    stream: str  # ffmpeg stream specifier, "0:<index>"
    codec: str
    profile: str
    width: int  # as stored
    height: int
    rotation: int  # degrees the player turns the picture (a phone's display matrix)
    sample_aspect: Fraction
    pixel_format: str
    frame_rate: float  # average
    nominal_frame_rate: float  # r_frame_rate: the lowest rate that holds every timestamp
    interlaced: bool
    duration_s: float | None  # the stream's own length, when the container says

    @property
    def display_size(self) -> tuple[int, int]:
        width = round(self.width * self.sample_aspect)
        return (self.height, width) if self.rotation % 180 else (width, self.height)

    @property
    def variable_frame_rate(self) -> bool:
        return abs(self.frame_rate - self.nominal_frame_rate) > 0.01 * max(self.nominal_frame_rate, 1)


@dataclass(kw_only=True)
class AudioInfo:
    stream: str
    codec: str
    channels: int
    layout: str
    sample_rate: int
    duration_s: float | None  # the stream's own length, when the container says


@dataclass(kw_only=True)
class MediaInfo:
    container: str
    duration_s: float | None
    size_bytes: int
    video: VideoInfo | None
    audio: AudioInfo | None


@dataclass(kw_only=True)
class Limits:
    min_short_side: int
    min_seconds: float
    max_seconds: float


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _aspect(text: str | None) -> Fraction:
    try:
        value = Fraction((text or "1:1").replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return value if value > 0 else Fraction(1)


def _rotation(stream: dict) -> int:
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            return int(side_data["rotation"]) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


def _video(stream: dict) -> VideoInfo:
    return VideoInfo(
        stream=f"0:{stream['index']}",
        codec=stream.get("codec_name", "unknown"),
        profile=stream.get("profile", ""),
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        rotation=_rotation(stream),
        sample_aspect=_aspect(stream.get("sample_aspect_ratio")),
        pixel_format=stream.get("pix_fmt", ""),
        frame_rate=_rate(stream.get("avg_frame_rate")),
        nominal_frame_rate=_rate(stream.get("r_frame_rate")),
        interlaced=stream.get("field_order") in INTERLACED_FIELD_ORDERS,
        duration_s=_seconds(stream.get("duration")),
    )


def _audio(stream: dict) -> AudioInfo:
    channels = int(stream.get("channels") or 0)
    return AudioInfo(
        stream=f"0:{stream['index']}",
        codec=stream.get("codec_name", "unknown"),
        channels=channels,
        layout=stream.get("channel_layout") or f"{channels} channels",
        sample_rate=int(stream.get("sample_rate") or 0),
        duration_s=_seconds(stream.get("duration")),
    )


def _seconds(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _duration(data: dict, streams: list[dict]) -> float | None:
    for text in [data.get("format", {}).get("duration"), *(s.get("duration") for s in streams)]:
        if (seconds := _seconds(text)) is not None:
            return seconds
    return None


def analyse(path: str) -> MediaInfo:
    """Probe `path`; InputError when ffprobe cannot read it as media at all."""
    data = ffmpeg.probe(path)
    streams = data.get("streams", [])
    # Cover art in a music file is a "video" stream of one picture: not a programme.
    videos = [s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio" and int(s.get("channels") or 0) > 0]
    return MediaInfo(
        container=data.get("format", {}).get("format_name", "unknown"),
        duration_s=_duration(data, streams),
        size_bytes=int(data.get("format", {}).get("size") or 0),
        video=_video(videos[0]) if videos else None,
        audio=_audio(audios[0]) if audios else None,
    )


def admit(info: MediaInfo, limits: Limits) -> VideoInfo:
    """The video stream to use; RejectedError naming the first reason the file cannot be used."""
    video = info.video
    if video is None:
        kind = "audio only" if info.audio else "no audio or video"
        raise RejectedError(f"no video stream ({kind}, container {info.container})")
    if info.duration_s is None:
        raise RejectedError("duration unknown (a live stream or a damaged file)")
    if info.duration_s < limits.min_seconds:
        raise RejectedError(f"too short: {info.duration_s:.1f} s (minimum {limits.min_seconds:g} s)")
    if info.duration_s > limits.max_seconds:
        raise RejectedError(f"too long: {info.duration_s:.0f} s (maximum {limits.max_seconds:g} s)")
    width, height = video.display_size
    if min(width, height) < limits.min_short_side:
        raise RejectedError(
            f"below the minimum resolution: {width}x{height} (the shorter side must be at least "
            f"{limits.min_short_side} pixels)"
        )
    return video
