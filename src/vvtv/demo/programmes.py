"""Synthetic programmes and the slate, made with ffmpeg's lavfi sources.

A fresh machine has no internet, so `make up` needs content it can make
itself: each demo programme has its own picture, tone and title.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from vvtv.processing.package import Source

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# (picture source, tone in Hz): each programme looks and sounds different.
LOOKS = [
    ("testsrc2=size={w}x{h}:rate={fps}", 440),
    ("smptehdbars=size={w}x{h}:rate={fps}", 523),
    ("mandelbrot=size={w}x{h}:rate={fps}", 330),
    # Cells of 4x4 pixels: one-pixel cells are noise no encoder can keep, and the Factory's VMAF gate says so.
    ("life=size={qw}x{qh}:rate={fps}:mold=10:ratio=0.1:death_color=#1d3557:life_color=#f1faee,"
     "scale={w}:{h}:flags=neighbor", 392),
    ("cellauto=size={w}x{h}:rate={fps}:rule=110", 294),
    ("gradients=size={w}x{h}:rate={fps}:speed=0.02", 659),
    ("rgbtestsrc=size={w}x{h}:rate={fps}", 587),
    ("yuvtestsrc=size={w}x{h}:rate={fps}", 349),
]


@dataclass(kw_only=True)
class DemoProgramme:
    title: str
    source: Source


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def _title_filters(title: str, height: int) -> list[str]:
    size = max(height // 12, 12)
    return [
        f"drawtext=fontfile={FONT}:text='{_escape(title)}':fontsize={size}:fontcolor=white"
        f":box=1:boxcolor=black@0.6:boxborderw={size // 3}:x=(w-text_w)/2:y=h-{size * 2}",
        f"drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':fontsize={size // 2}:fontcolor=yellow"
        f":box=1:boxcolor=black@0.5:x={size // 2}:y={size // 2}",
    ]


def demo_programme(index: int, seconds: float, *, width: int, height: int, fps: int) -> DemoProgramme:
    picture, tone = LOOKS[index % len(LOOKS)]
    title = f"VVTV demo {index + 1}"
    # A tone with a slow tremolo, quiet enough that the normalizer has headroom.
    audio = f"sine=frequency={tone}:sample_rate=48000,volume=0.25,tremolo=f=0.5:d=0.6"
    return DemoProgramme(
        title=title,
        source=Source(
            inputs=["-f", "lavfi", "-i", picture.format(w=width, h=height, qw=width // 4, qh=height // 4, fps=fps), "-f", "lavfi", "-i", audio],
            video="0:v",
            audio="1:a",
            video_filters=_title_filters(title, height),
            duration_s=seconds,
        ),
    )


def demo_durations(count: int, low: int, high: int, seed: int = 7) -> list[int]:
    generator = random.Random(seed)
    return [generator.randint(low, high) for _ in range(count)]


def slate_source(
    seconds: float, *, width: int, height: int, fps: int, caption: str = "We’ll be right back"
) -> Source:
    """The "we'll be right back" card (or another caption, such as an ad break's): calm colours, a soft chord."""
    size = max(height // 10, 12)
    text = [
        f"drawtext=fontfile={FONT}:text='{caption}':fontsize={size}:fontcolor=white"
        f":x=(w-text_w)/2:y=(h-text_h)/2",
        f"drawtext=fontfile={FONT}:text='VVTV':fontsize={size // 2}:fontcolor=white@0.7"
        f":x=(w-text_w)/2:y=(h/2)+{size * 2}",
    ]
    audio = (
        "aevalsrc=0.08*sin(2*PI*220*t)+0.06*sin(2*PI*277*t)+0.05*sin(2*PI*330*t):s=48000:c=stereo"
    )
    return Source(
        inputs=[
            "-f", "lavfi", "-i", f"gradients=size={width}x{height}:rate={fps}:c0=#0b132b:c1=#3a506b:speed=0.01",
            "-f", "lavfi", "-i", audio,
        ],  # fmt: skip
        video="0:v",
        audio="1:a",
        video_filters=text,
        duration_s=seconds,
    )
