"""The encode's command line for the default 1080p profile, checked without encoding a long clip."""

from __future__ import annotations

from pathlib import Path

from vvtv.config import Profile
from vvtv.processing.package import Checks, Source, encode_args


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_default_profile_encodes_the_broadcast_standard(tmp_path: Path):
    profile = Profile()
    source = Source(inputs=["-i", "in.mp4"], video="0:0", audio="0:1")
    args = encode_args(source, profile, tmp_path, poster_at_s=10.0, checks=Checks(vmaf_log_dir=tmp_path))

    video = (option(args, "-c:v"), option(args, "-profile:v"), option(args, "-pix_fmt"))
    assert video == ("libx264", "high", "yuv420p")
    assert option(args, "-g") == option(args, "-keyint_min") == "50"  # 25 fps, a keyframe every 2 s
    assert option(args, "-sc_threshold") == "0"
    assert option(args, "-force_key_frames") == "expr:gte(t,n_forced*2)"
    assert option(args, "-x264-params") == "open-gop=0:scenecut=0"
    top_rate = (option(args, "-b:v:0"), option(args, "-maxrate:v:0"), option(args, "-bufsize:v:0"))
    assert top_rate == ("4500k", "4500k", "9000k")  # 4500 kb/s, VBV capped
    assert (option(args, "-b:v:1"), option(args, "-b:v:2")) == ("2500k", "1000k")
    assert (option(args, "-c:a"), option(args, "-ar"), option(args, "-ac")) == ("aac", "48000", "2")
    assert (option(args, "-hls_time"), option(args, "-hls_playlist_type")) == ("4", "vod")
    assert option(args, "-var_stream_map") == "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p"

    graph = option(args, "-filter_complex")
    assert "fps=25,format=yuv420p,split=3" in graph
    assert "scale=1920:1080:force_original_aspect_ratio=decrease" in graph
    assert "pad=1920:1080:(ow-iw)/2:(oh-ih)/2" in graph
    # The checks: each rendition's picture leaves the graph raw (outputs 2-4, after the HLS output and the
    # poster), is decoded back beside its encoded video and scored, each in a graph and null output of its own.
    assert "[v0][rs0][pv]" in graph and "[rs1]select='lt(mod(round(t*25),50),2)'[ref1]" in graph
    assert [args[i + 1] for i, a in enumerate(args) if a == "-dec"] == ["0:0", "2:0", "0:2", "3:0", "0:4", "4:0"]
    scoring = [args[i + 1] for i, a in enumerate(args) if a == "-filter_complex"][1:]
    pairs = "select='lt(mod(round(t*25),50),2)'"  # the same two neighbouring frames of every 50 on both sides
    assert [s.split("libvmaf")[0] for s in scoring] == [
        f"[dec:{2 * i}]{pairs}[d{i}];[d{i}][dec:{2 * i + 1}]" for i in range(3)
    ]
    assert args[args.index("-frames:v") - 1] == "[poster]" and args[args.index("-frames:v") + 1] == "1"
    assert args.count("rawvideo") == 3 and args.count("null") == 6, "a null output per reference and per check"
    assert args[-3:] == ["-f", "null", "-"]


def test_retry_preset_overrides_the_profile(tmp_path: Path):
    args = encode_args(Source(inputs=["-i", "in.mp4"]), Profile(), tmp_path, preset="slow")
    assert option(args, "-preset") == "slow"
    assert "-dec" not in args and "[poster]" not in args
