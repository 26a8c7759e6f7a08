"""Source files for the Factory's tests, made on the fly with ffmpeg's lavfi sources.

Each maker writes one small file in a shape the web really serves: 4:3 SD, a
phone's vertical video, 1080p60, 5.1 sound, 10-bit HEVC, VP9 in WebM, ...
"""

from __future__ import annotations

from pathlib import Path

from vvtv.processing.ffmpeg import run_ffmpeg

SECONDS = 6.5  # keyframes at 0, 2, 4, 6 s; segments of 4 s and 2.5 s
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "128k"]


def picture(size: str = "320x240", rate: int = 25, pattern: str = "testsrc2") -> list[str]:
    return ["-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}"]


def tone(peak_dbfs: float = -12.0, channels: int = 2, frequency: int = 440) -> list[str]:
    """A tone peaking at `peak_dbfs`, with a slow tremolo so its loudness is music-like rather than constant."""
    amplitude = 10 ** (peak_dbfs / 20)
    source = f"aevalsrc={amplitude:.6f}*sin(2*PI*{frequency}*t):s=48000,tremolo=f=1:d=0.5"
    return ["-f", "lavfi", "-i", source, "-ac", str(channels)]


def encode(path: Path, *inputs: list[str], args: list[str], seconds: float = SECONDS) -> Path:
    flat = [arg for group in inputs for arg in group]
    run_ffmpeg([*flat, "-t", f"{seconds}", *args, str(path)], timeout=120)
    return path


def sd_4x3(path: Path) -> Path:
    return encode(path, picture("640x480"), tone(), args=[*X264, *AAC])


def vertical_phone(path: Path) -> Path:
    """Stored landscape with a display matrix turning it upright, as phones record."""
    plain = encode(path.with_name("unrotated.mp4"), picture("640x360", 30), tone(), args=[*X264, *AAC])
    run_ffmpeg(["-display_rotation:v:0", "90", "-i", str(plain), "-c", "copy", str(path)], timeout=60)
    plain.unlink()
    return path


def full_hd_60(path: Path) -> Path:
    return encode(path, picture("1920x1080", 60), tone(), args=[*X264, *AAC], seconds=4.5)


def pal_25(path: Path) -> Path:
    return encode(path, picture("480x270", 25), tone(), args=[*X264, *AAC])


def mono(path: Path) -> Path:
    return encode(path, picture(), tone(channels=1), args=[*X264, *AAC])


def surround_51(path: Path) -> Path:
    voices = "|".join(f"0.1*sin(2*PI*{220 * (i + 1)}*t)" for i in range(6))
    sound = ["-f", "lavfi", "-i", f"aevalsrc={voices}:c=5.1:s=48000"]
    return encode(path, picture(), sound, args=[*X264, "-c:a", "aac", "-b:a", "256k"])


def no_audio(path: Path) -> Path:
    return encode(path, picture(), args=[*X264, "-an"])


def very_quiet(path: Path) -> Path:
    return encode(path, picture(), tone(peak_dbfs=-50), args=[*X264, *AAC])


def very_loud(path: Path) -> Path:
    sound = ["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=1:sample_rate=48000,volume=8dB,alimiter=limit=1"]
    return encode(path, picture(), sound, args=[*X264, *AAC, "-ac", "2"])


def variable_frame_rate(path: Path) -> Path:
    """Frames dropped irregularly, timestamps kept: a screen recording's or a phone's VFR."""
    return encode(
        path, picture(rate=30), tone(),
        args=["-vf", "select='lt(mod(n\\,10)\\,6)+eq(mod(n\\,7)\\,0)'", "-fps_mode", "vfr", *X264, *AAC],
    )  # fmt: skip


def hevc_10bit(path: Path) -> Path:
    return encode(
        path, picture(), tone(),
        args=["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error",
              "-tag:v", "hvc1", *AAC],
    )  # fmt: skip


def vp9_webm(path: Path) -> Path:
    return encode(
        path, picture(), tone(),
        args=["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k",
              "-c:a", "libopus", "-b:a", "96k"],
    )  # fmt: skip


def interlaced(path: Path) -> Path:
    """50 fields a second woven into 25 top-field-first frames, coded interlaced."""
    return encode(
        path, picture("352x288", 50), tone(),
        args=["-vf", "tinterlace=mode=interleave_top", "-flags", "+ildct+ilme",
              *X264, "-x264-params", "tff=1", *AAC],
    )  # fmt: skip


def audio_only(path: Path) -> Path:
    return encode(path, tone(), args=AAC)


def short_clip(path: Path) -> Path:
    return encode(path, picture(), tone(), args=[*X264, *AAC], seconds=1.5)
