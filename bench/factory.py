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

Printed: the medians, the ratio factory / floor in wall time (target at most
1.3) and in CPU time (steadier when other work shares the machine), and the
realtime factors (media seconds per wall second) of the top rendition alone,
of the whole ladder (the floor) and of the Factory.

Run: .venv/bin/python bench/factory.py [--seconds 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vvtv.clock import SystemClock
from vvtv.config import Profile, load_settings
from vvtv.processing.manual import process_now
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.processing.package import Source, package
from vvtv.runtime import Runtime

RESULTS = Path(__file__).parent / "results"
CACHE = RESULTS / "cache"
TARGET_RATIO = 1.3


def make_source(seconds: int) -> Path:
    """A 1080p25 programme as the web serves it (H.264 at 8 Mb/s, AAC): a moving test card, a tone.

    A test card is easy for x264, so the encode (the floor) is quick and the Factory's
    fixed costs (decoding the outputs again, VMAF) weigh more: the ratio errs high.
    """
    path = CACHE / f"factory-1080p-{seconds}s-8M.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    run_ffmpeg([
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
        "-f", "lavfi", "-i", "aevalsrc=0.2*sin(2*PI*440*t)+0.05*sin(2*PI*3000*t):s=48000:c=stereo,"
                             "tremolo=f=0.5:d=0.6",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-maxrate", "10M",
        "-bufsize", "16M", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "192k", str(partial),
    ], timeout=3600)  # fmt: skip
    partial.rename(path)
    return path


@dataclass(kw_only=True)
class Timing:
    wall_s: float
    cpu_s: float  # this process and its children (ffmpeg, ffprobe): steadier than wall time on a busy machine


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def timing() -> Iterator[Timing]:
    result = Timing(wall_s=0.0, cpu_s=0.0)
    wall, cpu = time.monotonic(), cpu_seconds()
    yield result
    result.wall_s, result.cpu_s = time.monotonic() - wall, cpu_seconds() - cpu


def timed_floor(source: Path, profile: Profile, scratch: Path) -> Timing:
    destination = scratch / f"floor-{len(profile.renditions)}"
    shutil.rmtree(destination, ignore_errors=True)
    with timing() as measured:
        package(Source(inputs=["-i", str(source)], video="0:v:0", audio="0:a:0"), profile, destination)
    shutil.rmtree(destination)
    return measured


def timed_factory(source: Path, scratch: Path) -> tuple[Timing, dict]:
    data_dir = scratch / "factory"
    shutil.rmtree(data_dir, ignore_errors=True)
    rt = Runtime.open(load_settings(data_dir=data_dir), SystemClock())
    with timing() as measured:
        made = process_now(rt, str(source), title="Bench")
    rt.db.dispose()
    shutil.rmtree(data_dir)
    return measured, {"vmaf": made.vmaf, "loudness_lufs": made.loudness_lufs, "true_peak_dbtp": made.true_peak_dbtp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    source = make_source(args.seconds)
    ladder = load_settings().profiles["broadcast"]
    top_only = ladder.model_copy(update={"renditions": [ladder.top]})
    floors: list[Timing] = []
    factories: list[Timing] = []
    tops: list[Timing] = []
    loads: list[float] = []
    asset: dict = {}
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-factory-") as folder:
        scratch = Path(folder)
        for round_number in range(1, args.rounds + 1):
            floors.append(timed_floor(source, ladder, scratch))
            measured, asset = timed_factory(source, scratch)
            factories.append(measured)
            tops.append(timed_floor(source, top_only, scratch))
            loads.append(os.getloadavg()[0])
            print(f"round {round_number}: floor {floors[-1].wall_s:.1f} s ({floors[-1].cpu_s:.1f} s CPU), "
                  f"factory {factories[-1].wall_s:.1f} s ({factories[-1].cpu_s:.1f} s CPU), "
                  f"top rendition alone {tops[-1].wall_s:.1f} s, load {loads[-1]:.1f}", flush=True)  # fmt: skip

    def median(values: list[Timing], field: str) -> float:
        return statistics.median(getattr(v, field) for v in values)

    floor, factory, top = median(floors, "wall_s"), median(factories, "wall_s"), median(tops, "wall_s")
    ratio = factory / floor
    cpu_ratio = median(factories, "cpu_s") / median(floors, "cpu_s")
    report = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": [round(v, 1) for v in loads],
        "media_seconds": args.seconds,
        "rounds": args.rounds,
        "ladder": [r.name for r in ladder.renditions],
        "preset": ladder.x264_preset,
        "vmaf_subsample": load_settings().factory.vmaf_subsample,
        "floor_s": round(floor, 2),
        "factory_s": round(factory, 2),
        "ratio": round(ratio, 3),
        "floor_cpu_s": round(median(floors, "cpu_s"), 2),
        "factory_cpu_s": round(median(factories, "cpu_s"), 2),
        "cpu_ratio": round(cpu_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "realtime_top_rendition": round(args.seconds / top, 2),
        "realtime_ladder": round(args.seconds / floor, 2),
        "realtime_factory": round(args.seconds / factory, 2),
        "asset": asset,
    }
    print()
    print(f"1080p {args.seconds} s input, ladder {'/'.join(report['ladder'])}, preset {ladder.x264_preset}, "
          f"{os.cpu_count()} cores, median of {args.rounds}, load average {report['load_average']}")  # fmt: skip
    print(f"  floor (one bare ffmpeg encode + HLS of the ladder): {floor:7.1f} s, {report['floor_cpu_s']:.1f} s CPU")
    print(f"  Factory (analysis, loudness, encode, VMAF, poster): {factory:7.1f} s, "
          f"{report['factory_cpu_s']:.1f} s CPU")
    print(f"  ratio Factory / floor: {ratio:.2f} wall, {cpu_ratio:.2f} CPU (target <= {TARGET_RATIO})")
    print(f"  realtime factor: top rendition alone {report['realtime_top_rendition']:.2f}x, "
          f"whole ladder {report['realtime_ladder']:.2f}x, Factory {report['realtime_factory']:.2f}x")
    print(f"  asset: VMAF {asset['vmaf']}, {asset['loudness_lufs']} LUFS, {asset['true_peak_dbtp']} dBTP")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"factory-{report['when'][:19].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    sys.exit(main())
