"""Factory benchmark: wall time per asset against the floor of one bare encode of the same input.

The input is a 1080p source of --seconds (default 60) with stereo sound, made
once and kept under bench/results/cache. Measured in the same run, in
alternating rounds so that a busy machine weighs on both alike:

- floor: one bare ffmpeg run with the Factory's encode settings for the whole
  default ladder (1080p/720p/480p, the profile's preset, capped VBV, forced
  keyframes, AAC, HLS packaging), without analysis, loudness, VMAF or poster;
- factory: the whole Factory on the same file (`vvtv process`'s path): probe,
  first pass (loudness and decode trial), the fused encode with VMAF of every
  rendition and the loudness meter on the output, poster, publish;
- top rendition alone: the floor's encode for the 1080p rung only.

Printed: the medians, the ratio factory / floor (target at most 1.3), and the
realtime factors (media seconds per wall second) of the top rendition alone,
of the whole ladder (the floor) and of the Factory.

Run: .venv/bin/python bench/factory.py [--seconds 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vvtv.clock import SystemClock
from vvtv.config import Profile, load_settings
from vvtv.processing.factory import process_now
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.processing.package import Source, package
from vvtv.runtime import Runtime

RESULTS = Path(__file__).parent / "results"
CACHE = RESULTS / "cache"
TARGET_RATIO = 1.3


def make_source(seconds: int) -> Path:
    """A 1080p25 programme: moving test card with film grain, a tone with a tremolo."""
    path = CACHE / f"factory-1080p-{seconds}s.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    run_ffmpeg([
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25,noise=alls=6:allf=t",
        "-f", "lavfi", "-i", "aevalsrc=0.2*sin(2*PI*440*t)+0.05*sin(2*PI*3000*t):s=48000:c=stereo,"
                             "tremolo=f=0.5:d=0.6",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "192k", str(partial),
    ], timeout=3600)  # fmt: skip
    partial.rename(path)
    return path


def timed_floor(source: Path, profile: Profile, scratch: Path) -> float:
    destination = scratch / f"floor-{len(profile.renditions)}"
    shutil.rmtree(destination, ignore_errors=True)
    started = time.monotonic()
    package(Source(inputs=["-i", str(source)], video="0:v:0", audio="0:a:0"), profile, destination)
    elapsed = time.monotonic() - started
    shutil.rmtree(destination)
    return elapsed


def timed_factory(source: Path, scratch: Path) -> tuple[float, dict]:
    data_dir = scratch / "factory"
    shutil.rmtree(data_dir, ignore_errors=True)
    rt = Runtime.open(load_settings(data_dir=data_dir), SystemClock())
    started = time.monotonic()
    made = process_now(rt, str(source), title="Bench")
    elapsed = time.monotonic() - started
    rt.db.dispose()
    shutil.rmtree(data_dir)
    return elapsed, {"vmaf": made.vmaf, "loudness_lufs": made.loudness_lufs, "true_peak_dbtp": made.true_peak_dbtp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    source = make_source(args.seconds)
    ladder = load_settings().profiles["broadcast"]
    top_only = ladder.model_copy(update={"renditions": [ladder.top]})
    floors, factories, tops, asset = [], [], [], {}
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-factory-") as folder:
        scratch = Path(folder)
        for round_number in range(1, args.rounds + 1):
            floors.append(timed_floor(source, ladder, scratch))
            elapsed, asset = timed_factory(source, scratch)
            factories.append(elapsed)
            tops.append(timed_floor(source, top_only, scratch))
            print(f"round {round_number}: floor {floors[-1]:.1f} s, factory {factories[-1]:.1f} s, "
                  f"top rendition alone {tops[-1]:.1f} s", flush=True)  # fmt: skip

    floor, factory, top = statistics.median(floors), statistics.median(factories), statistics.median(tops)
    ratio = factory / floor
    report = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "media_seconds": args.seconds,
        "rounds": args.rounds,
        "ladder": [r.name for r in ladder.renditions],
        "preset": ladder.x264_preset,
        "floor_s": round(floor, 2),
        "factory_s": round(factory, 2),
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "realtime_top_rendition": round(args.seconds / top, 2),
        "realtime_ladder": round(args.seconds / floor, 2),
        "realtime_factory": round(args.seconds / factory, 2),
        "asset": asset,
    }
    print()
    print(f"1080p {args.seconds} s input, ladder {'/'.join(report['ladder'])}, preset {ladder.x264_preset}, "
          f"{os.cpu_count()} cores, median of {args.rounds}")  # fmt: skip
    print(f"  floor (one bare ffmpeg encode + HLS of the ladder): {floor:7.1f} s")
    print(f"  Factory (analysis, loudness, encode, VMAF, poster): {factory:7.1f} s")
    print(f"  ratio Factory / floor: {ratio:.2f} (target <= {TARGET_RATIO}){'' if ratio <= TARGET_RATIO else '  MISSED'}")
    print(f"  realtime factor: top rendition alone {report['realtime_top_rendition']:.2f}x, "
          f"whole ladder {report['realtime_ladder']:.2f}x, Factory {report['realtime_factory']:.2f}x")
    print(f"  asset: VMAF {asset['vmaf']}, {asset['loudness_lufs']} LUFS, {asset['true_peak_dbtp']} dBTP")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"factory-{report['when'][:19].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    sys.exit(main())
