"""Encode to the broadcast standard and package as HLS, every rendition in one ffmpeg run.

One run decodes the source once, splits it to every rung of the ladder, and
writes one VOD playlist per rendition. Keyframes are forced on the same 2 s
grid in every rendition (no scene-cut keyframes, closed GOPs), so all
renditions share the same segment boundaries.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from vvtv.clock import US
from vvtv.config import Profile, Rendition
from vvtv.errors import ToolError
from vvtv.processing.ffmpeg import ProgressCallback, probe, run_ffmpeg

SEGMENT_PATTERN = "seg_%05d.ts"
PLAYLIST_NAME = "index.m3u8"


@dataclass(kw_only=True)
class Source:
    """What to encode: ffmpeg input arguments and the streams to take from them.

    `audio` is None for a source without sound: silence is put in its place.
    `video_filters` / `audio_filters` run before scaling and the ladder split
    (deinterlace, titles, the loudness gain).
    """

    inputs: list[str]
    video: str = "0:v:0"
    audio: str | None = "0:a:0"
    video_filters: list[str] = field(default_factory=list)
    audio_filters: list[str] = field(default_factory=list)
    duration_s: float | None = None  # cut the output at this length


@dataclass(kw_only=True)
class PackagedRendition:
    name: str
    width: int
    height: int
    bandwidth: int  # bits per second, peak, for the master playlist
    codecs: str

    def as_record(self) -> dict:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "bandwidth": self.bandwidth,
            "codecs": self.codecs,
        }


@dataclass(kw_only=True)
class Packaged:
    directory: Path
    renditions: list[PackagedRendition]
    segment_durations_us: list[int]

    @property
    def duration_us(self) -> int:
        return sum(self.segment_durations_us)


def build_filtergraph(source: Source, profile: Profile) -> tuple[str, list[str]]:
    """The filter_complex and the output labels, video then audio, rendition by rendition."""
    count = len(profile.renditions)
    video_chain = [*source.video_filters, f"fps={profile.fps}", "format=yuv420p", f"split={count}"]
    parts = [f"[{source.video}]" + ",".join(video_chain) + "".join(f"[vs{i}]" for i in range(count))]
    for i, r in enumerate(profile.renditions):
        # Fit inside the frame without stretching, then letterbox or pillarbox to 16:9.
        parts.append(
            f"[vs{i}]scale={r.width}:{r.height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={r.width}:{r.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[v{i}]"
        )
    audio_in = f"[{source.audio}]" if source.audio else f"anullsrc=r={profile.audio_sample_rate}:cl=stereo,"
    audio_chain = [
        *source.audio_filters,
        f"aresample={profile.audio_sample_rate}",
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
        f"asplit={count}",
    ]
    if not source.audio:
        # Silence is endless: the video's length decides (-shortest below).
        audio_chain = audio_chain[len(source.audio_filters) :]
    parts.append(audio_in + ",".join(audio_chain) + "".join(f"[a{i}]" for i in range(count)))
    labels = [label for i in range(count) for label in (f"[v{i}]", f"[a{i}]")]
    return ";".join(parts), labels


def encode_args(source: Source, profile: Profile, work: Path, *, crf_boost: bool = False) -> list[str]:
    graph, labels = build_filtergraph(source, profile)
    gop = profile.fps * profile.keyframe_seconds
    args = [*source.inputs, "-filter_complex", graph]
    for label in labels:
        args += ["-map", label]
    args += [
        "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-preset", "medium" if crf_boost else profile.x264_preset,
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{profile.keyframe_seconds})",
        "-x264-params", "open-gop=0:scenecut=0",
        "-c:a", "aac", "-ar", str(profile.audio_sample_rate), "-ac", "2",
    ]  # fmt: skip
    for i, r in enumerate(profile.renditions):
        args += [
            f"-b:v:{i}", f"{r.video_kbps}k", f"-maxrate:v:{i}", f"{r.video_kbps}k",
            f"-bufsize:v:{i}", f"{r.video_kbps * 2}k", f"-b:a:{i}", f"{r.audio_kbps}k",
        ]  # fmt: skip
    if source.duration_s is not None:
        args += ["-t", f"{source.duration_s:.3f}"]
    if not source.audio:
        args += ["-shortest"]
    stream_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(profile.renditions))
    args += [
        "-f", "hls", "-hls_time", str(profile.segment_seconds), "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(work / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", stream_map, str(work / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    return args


def package(
    source: Source,
    profile: Profile,
    destination: Path,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float = 3 * 3600,
    crf_boost: bool = False,
) -> Packaged:
    """Encode `source` into `destination` (which must not exist yet); all or nothing.

    The work happens in a hidden sibling folder renamed into place at the end,
    so a crash never leaves a half-made asset where the Broadcaster looks.
    """
    if destination.exists():
        raise FileExistsError(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = destination.parent / f".work-{destination.name}-{uuid.uuid4().hex[:8]}"
    for r in profile.renditions:
        (work / r.name).mkdir(parents=True)
    try:
        run_ffmpeg(encode_args(source, profile, work, crf_boost=crf_boost), timeout=timeout, on_progress=on_progress)
        durations = aligned_segment_durations(work, profile)
        renditions = [_describe(work, r) for r in profile.renditions]
        work.rename(destination)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Packaged(directory=destination, renditions=renditions, segment_durations_us=durations)


def read_vod_durations(playlist: Path) -> list[int]:
    """EXTINF durations of a VOD playlist, in microseconds."""
    durations = []
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            durations.append(round(float(line[8:].split(",")[0]) * US))
    return durations


def aligned_segment_durations(work: Path, profile: Profile) -> list[int]:
    """The segment durations shared by every rendition; ToolError if they differ."""
    per_rendition = {r.name: read_vod_durations(work / r.name / PLAYLIST_NAME) for r in profile.renditions}
    reference = per_rendition[profile.renditions[0].name]
    if not reference:
        raise ToolError("packaging produced no segments")
    for name, durations in per_rendition.items():
        if len(durations) != len(reference) or any(abs(a - b) > 1000 for a, b in zip(durations, reference)):
            raise ToolError(f"rendition {name} is not aligned with {profile.renditions[0].name}")
    return reference


def _describe(work: Path, rendition: Rendition) -> PackagedRendition:
    info = probe(str(work / rendition.name / (SEGMENT_PATTERN % 0)))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    level = int(video.get("level") or 40)
    codecs = f"avc1.6400{level:02x},mp4a.40.2"
    # Peak bandwidth: the VBV cap plus audio and about 10% of MPEG-TS overhead.
    bandwidth = int((rendition.video_kbps + rendition.audio_kbps) * 1000 * 1.1)
    return PackagedRendition(
        name=rendition.name, width=video["width"], height=video["height"], bandwidth=bandwidth, codecs=codecs
    )
