"""Encode to the broadcast standard and package as HLS, every rendition in one ffmpeg run.

One run decodes the source once, splits it to every rung of the ladder, and
writes one VOD playlist per rendition. Keyframes are forced on the same 2 s
grid in every rendition (no scene-cut keyframes, closed GOPs), so all
renditions share the same segment boundaries.

The same run can also write the poster and check its own output (`Checks`):
each rendition's encoded video is decoded back inside ffmpeg (a loopback
decoder, `-dec`) and scored with VMAF against the source scaled to that
rendition's size, and the top rendition's encoded audio goes through a
loudness meter. So quality control costs no second pass over the source and
no second read of the segments.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from vvtv.clock import US
from vvtv.config import Profile, Rendition
from vvtv.errors import ToolError
from vvtv.processing.ffmpeg import ProgressCallback, probe, run_ffmpeg
from vvtv.processing.quality import read_vmaf, vmaf_filter

SEGMENT_PATTERN = "seg_%05d.ts"
PLAYLIST_NAME = "index.m3u8"
POSTER_NAME = "poster.jpg"
MASTER_NAME = "master.m3u8"


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
class Checks:
    """Measurements made inside the encode, on the encoder's own output."""

    vmaf_log_dir: Path  # one libvmaf JSON log per rendition is written here
    vmaf_subsample: int = 50  # score two neighbouring frames out of every this many
    # A measuring audio filter (vvtv.processing.loudness.meter_filter) run on the top
    # rendition's encoded audio; its report ends up in Packaged.log.
    loudness_meter: str | None = None


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
    poster: Path | None = None
    vmaf: dict[str, float] = field(default_factory=dict)  # rendition name -> pooled mean VMAF
    log: str = ""  # ffmpeg's stderr, where the loudness meter reports

    @property
    def duration_us(self) -> int:
        return sum(self.segment_durations_us)


@dataclass(kw_only=True)
class Filtergraph:
    text: str
    outputs: list[str]  # the HLS output's labels: video then audio, rendition by rendition
    poster: str | None = None  # the label of the poster frame's branch
    references: list[str] = field(default_factory=list)  # each rendition's picture as it enters the encoder


def _picture_chain(source: Source, profile: Profile, outputs: list[str]) -> str:
    """The source picture at the profile's frame rate and pixel format, split into `outputs`."""
    chain = [*source.video_filters, f"fps={profile.fps}", "format=yuv420p", f"split={len(outputs)}"]
    return f"[{source.video}]" + ",".join(chain) + "".join(outputs)


def _fit(rendition: Rendition) -> str:
    """Fit inside the frame without stretching, then letterbox or pillarbox to the rendition's size."""
    r = rendition
    return (
        f"scale={r.width}:{r.height}:force_original_aspect_ratio=decrease:force_divisible_by=2:out_range=tv,"
        f"pad={r.width}:{r.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )


def scored_frames(period: int, fps: int) -> str:
    """Two neighbouring frames out of every `period`, so VMAF's motion feature (the smaller of
    the motions to the previous and the next frame it is given) still sees neighbours.

    Chosen by timestamp, not by count: the decoded side may not number its frames from the
    same one (a source starting off the frame grid), but every frame keeps its timestamp.
    """
    return f"select='lt(mod(round(t*{fps}),{period}),2)'"


def build_filtergraph(
    source: Source, profile: Profile, *, poster_at_s: float | None = None, reference_every: int | None = None
) -> Filtergraph:
    """The filter_complex that makes every rendition's picture and sound (and the poster frame).

    With `reference_every`, the scored frames (see scored_frames) of each rendition's
    finished picture are also led out unencoded, as the reference its encode is scored against.
    """
    count = len(profile.renditions)
    top = profile.renditions.index(profile.top)
    parts = [_picture_chain(source, profile, [f"[vs{i}]" for i in range(count)])]
    for i, r in enumerate(profile.renditions):
        branches = [f"[v{i}]"]
        if reference_every:
            branches.append(f"[rs{i}]")
            parts.append(f"[rs{i}]{scored_frames(reference_every, profile.fps)}[ref{i}]")
        if i == top and poster_at_s is not None:
            branches.append("[pv]")
            parts.append(f"[pv]select='gte(t,{poster_at_s:.3f})',scale=out_range=pc[poster]")
        split = f",split={len(branches)}" if len(branches) > 1 else ""
        parts.append(f"[vs{i}]{_fit(r)}{split}{''.join(branches)}")
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
    return Filtergraph(
        text=";".join(parts),
        outputs=[label for i in range(count) for label in (f"[v{i}]", f"[a{i}]")],
        poster="[poster]" if poster_at_s is not None else None,
        references=[f"[ref{i}]" for i in range(count)] if reference_every else [],
    )


def vmaf_log(checks: Checks, rendition: Rendition) -> Path:
    return checks.vmaf_log_dir / f"vmaf-{rendition.name}.json"


def checks_args(source: Source, profile: Profile, checks: Checks, graph: Filtergraph, first_output: int) -> list[str]:
    """The checks' outputs, loopback decoders and graphs; `first_output` is the index of the first output added.

    ffmpeg's loopback decoders (`-dec FILE:STREAM`) decode what an encoder of this
    run has just made. The HLS output (file 0) holds v0, a0, v1, a1, ... in the
    order of `-map`. Each rendition's reference frames leave the encode's own graph
    as raw video (no second scaling) and are decoded back beside the same frames of
    the encoded picture. Only the scored frames are copied and scored: one pair of
    neighbours in every `vmaf_subsample` frames, which came within 0.7 (below) of
    scoring every frame on the clips tried. Every check has a graph and a null
    output of its own: streams that share an output are interleaved by its muxer,
    and one arriving an encoder delay after another can fill the muxer's queue and
    stall the whole run.
    """
    cut = _cut(source)
    args: list[str] = []
    for label in graph.references:
        args += ["-map", label, "-c:v", "rawvideo", *cut, "-f", "null", "-"]
    decoders = 0
    pick = scored_frames(checks.vmaf_subsample, profile.fps)
    for i, r in enumerate(profile.renditions):
        encoded, reference = f"[dec:{decoders}]", f"[dec:{decoders + 1}]"
        args += [
            "-dec", f"0:{2 * i}", "-dec", f"{first_output + i}:0",
            "-filter_complex", f"{encoded}{pick}[d{i}];[d{i}]{reference}{vmaf_filter(vmaf_log(checks, r))}[vmaf{i}]",
            "-map", f"[vmaf{i}]", *cut, "-f", "null", "-",
        ]  # fmt: skip
        decoders += 2
    if checks.loudness_meter and source.audio:
        top = profile.renditions.index(profile.top)
        args += ["-dec", f"0:{2 * top + 1}", "-filter_complex", f"[dec:{decoders}]{checks.loudness_meter}[meter]",
                 "-map", "[meter]", *cut, "-f", "null", "-"]  # fmt: skip
    return args


def _cut(source: Source) -> list[str]:
    return ["-t", f"{source.duration_s:.3f}"] if source.duration_s is not None else []


def codec_args(profile: Profile, preset: str | None = None) -> list[str]:
    """The broadcast standard's codecs: H.264 High with closed GOPs on a fixed keyframe grid, AAC-LC stereo.

    Also what bench/broadcaster.py gives its live-encoder baseline, so both encode alike.
    """
    gop = profile.fps * profile.keyframe_seconds
    return [
        "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-preset", preset or profile.x264_preset,
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{profile.keyframe_seconds})",
        "-x264-params", "open-gop=0:scenecut=0",
        "-c:a", "aac", "-ar", str(profile.audio_sample_rate), "-ac", "2",
    ]  # fmt: skip


def rate_args(index: int, rendition: Rendition) -> list[str]:
    """Output streams `index` (video and audio) at the rendition's rates: a VBV-capped video bitrate."""
    r = rendition
    return [
        f"-b:v:{index}", f"{r.video_kbps}k", f"-maxrate:v:{index}", f"{r.video_kbps}k",
        f"-bufsize:v:{index}", f"{r.video_kbps * 2}k", f"-b:a:{index}", f"{r.audio_kbps}k",
    ]  # fmt: skip


def encode_args(
    source: Source,
    profile: Profile,
    work: Path,
    *,
    preset: str | None = None,
    poster_at_s: float | None = None,
    checks: Checks | None = None,
) -> list[str]:
    graph = build_filtergraph(
        source, profile, poster_at_s=poster_at_s, reference_every=checks.vmaf_subsample if checks else None
    )
    args = [*source.inputs, "-filter_complex", graph.text]
    for label in graph.outputs:
        args += ["-map", label]
    args += codec_args(profile, preset)
    for i, r in enumerate(profile.renditions):
        args += rate_args(i, r)
    args += _cut(source)
    if not source.audio:
        args += ["-shortest"]
    stream_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(profile.renditions))
    args += [
        "-f", "hls", "-hls_time", str(profile.segment_seconds), "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(work / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", stream_map, str(work / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    outputs = 1
    if graph.poster:
        args += ["-map", graph.poster, "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", "-update", "1",
                 str(work / POSTER_NAME)]  # fmt: skip
        outputs += 1
    if checks:
        args += checks_args(source, profile, checks, graph, outputs)
    return args


def package(
    source: Source,
    profile: Profile,
    destination: Path,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float = 3 * 3600,
    preset: str | None = None,
    poster_at_s: float | None = None,
    checks: Checks | None = None,
    stall_seconds: float | None = None,
) -> Packaged:
    """Encode `source` into `destination` (which must not exist yet); all or nothing.

    The work happens in a hidden sibling folder renamed into place at the end,
    so a crash never leaves a half-made asset where the Broadcaster looks.
    `preset` overrides the profile's x264 preset (the Factory's higher-quality
    retry); `poster_at_s` also writes poster.jpg from the top rendition at that
    time; `checks` scores the output as it is made; `stall_seconds` stops an
    encode whose media time stands still that long.
    """
    if destination.exists():
        raise FileExistsError(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = destination.parent / f".work-{destination.name}-{uuid.uuid4().hex[:8]}"
    for r in profile.renditions:
        (work / r.name).mkdir(parents=True)
    try:
        args = encode_args(source, profile, work, preset=preset, poster_at_s=poster_at_s, checks=checks)
        log = run_ffmpeg(args, timeout=timeout, on_progress=on_progress, stall_seconds=stall_seconds)
        durations = aligned_segment_durations(work, profile)
        renditions = [_describe(work, r) for r in profile.renditions]
        vmaf = {r.name: read_vmaf(vmaf_log(checks, r)) for r in profile.renditions} if checks else {}
        (work / MASTER_NAME).write_text(master_playlist(renditions, profile.fps))
        has_poster = (work / POSTER_NAME).is_file()
        sync_tree(work)
        work.rename(destination)
        sync_path(destination.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Packaged(
        directory=destination,
        renditions=renditions,
        segment_durations_us=durations,
        poster=destination / POSTER_NAME if has_poster else None,
        vmaf=vmaf,
        log=log,
    )


def sync_path(path: Path) -> None:
    """fsync one file or folder (a folder: the names in it, such as a rename into it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(folder: Path) -> None:
    """Every file under `folder` on disk, then the folders that name them.

    Before an Asset is recorded READY its segments must survive a power cut: a
    file the database says is ready must not come back empty after a reboot.
    """
    paths = sorted(folder.rglob("*"), key=lambda p: (p.is_dir(), -len(p.parts)))  # files, then folders inside out
    for path in [*paths, folder]:
        sync_path(path)


def master_playlist(renditions: list[PackagedRendition], fps: int) -> str:
    """The asset's own multivariant playlist (for `vvtv process` and players; the channel has its own)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: -r.bandwidth):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},RESOLUTION={r.width}x{r.height},"
            f'CODECS="{r.codecs}",FRAME-RATE={fps:.3f}'
        )
        lines.append(f"{r.name}/{PLAYLIST_NAME}")
    return "\n".join(lines) + "\n"


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
