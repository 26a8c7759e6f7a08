"""Programming benchmark: how fast the selection is, and whether the channel learns its audience.

1. Selection time: `gumbel_top_k` picking k=50 of 100,000 scored candidates, against the
   textbook way to draw the same Plackett-Luce sample (k successive softmax draws, each
   renormalised over what is left), measured in the same run; the ratio is baseline / ours.
2. A simulated week on a fake clock: the real Programmer fills a channel from a catalogue
   (120 programmes, 12 new ones a day) and a simulated audience watches it. Viewers have
   hidden tastes (a liking per category) and every programme a hidden appeal; the audience
   at each hour prefers some categories. A viewer fetches segment after segment and leaves
   when the programme does not suit them (a per-segment chance to leave that grows as the
   fit falls); one who stays to the end may stay for the next programme. Every segment a
   viewer fetches goes through the origin's real viewer statistics (AudienceRecorder:
   playlist and segment requests, flushed into the database), which is all the feedback
   the Programmer gets. Retention (share of the programme watched, from joining) is
   counted by the simulation itself, per day, for three policies in one run:
     fifo             ready order, then the emergency loop (the plain playout of before)
     scores           dayparts, diversity, quality, freshness; no viewer feedback
     scores+feedback  the same plus viewer behaviour (the default)

Run: .venv/bin/python bench/programming.py [--days 7] [--viewers 600] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from vvtv.clock import US, FakeClock
from vvtv.config import ChannelSettings, Profile, Rendition, load_settings
from vvtv.origin.audience import AudienceRecorder
from vvtv.processing.package import SEGMENT_PATTERN
from vvtv.programming.programmer import Programmer
from vvtv.programming.selection import gumbel_top_k
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, ScheduleEntry

DAY_US = 86_400 * US
START_US = 1_767_225_600 * US  # 2026-01-01T00:00:00Z, a Thursday
SEGMENT_US = 4 * US
CATEGORIES = ["music", "nature", "science", "art", "comedy", "sport"]
# What the audience at each part of the day likes more (hidden from the programmer, which has only
# the operator's dayparts, set below to the same idea).
AUDIENCE_DAYPARTS = [(6, 10, {"nature", "science"}), (10, 19, {"science", "art"}), (19, 23, {"music", "comedy"}),
                     (23, 30, {"nature", "music"})]  # fmt: skip
DAYPARTS = [
    {"name": "morning", "start_hour": 6, "end_hour": 10, "tags": ["nature", "science"]},
    {"name": "daytime", "start_hour": 10, "end_hour": 19, "tags": ["science", "art"]},
    {"name": "prime", "start_hour": 19, "end_hour": 23, "tags": ["music", "comedy"]},
    {"name": "late-night", "start_hour": 23, "end_hour": 6, "tags": ["nature", "music"]},
]
# Programming reads no media; a thumbnail-sized profile keeps the one real encode (the slate) short.
PROFILE = Profile(x264_preset="ultrafast", renditions=[Rendition(name="sim", width=160, height=90, video_kbps=150)])
POLICIES = {
    "fifo": {"strategy": "fifo"},
    "scores": {"weights": {"audience": 0}},
    "scores+feedback": {},
}


# --- 1. selection time -------------------------------------------------------------


def sequential_plackett_luce(scores: np.ndarray, k: int, temperature: float, rng: np.random.Generator) -> list[int]:
    """The same distribution drawn the textbook way: one softmax draw at a time, renormalising."""
    weights = np.exp((scores - scores.max()) / temperature)
    picks: list[int] = []
    for _ in range(k):
        i = int(rng.choice(len(weights), p=weights / weights.sum()))
        picks.append(i)
        weights[i] = 0.0
    return picks


def _timed(work, repeats: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Wall and CPU milliseconds of each run (CPU time is what a busy machine does not inflate)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.thread_time()
        work()
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return wall, cpu


def time_selection(n: int = 100_000, k: int = 50, repeats: int = 200) -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=n)
    ours = _timed(lambda: gumbel_top_k(scores, k, 0.5, rng), repeats)
    baseline = _timed(lambda: sequential_plackett_luce(scores, k, 0.5, rng), max(repeats // 20, 5))
    print(f"selection, k={k} of {n:,} candidates (median over runs; load average {os.getloadavg()[0]:.1f}):")
    for name, (wall, cpu) in (("gumbel_top_k", ours), ("sequential softmax draws (baseline)", baseline)):
        p99 = sorted(wall)[max(int(len(wall) * 0.99) - 1, 0)]
        print(f"  {name:<36} CPU {statistics.median(cpu):7.2f} ms   wall {statistics.median(wall):7.2f} ms   "
              f"wall p99 {p99:7.2f} ms   ({len(wall)} runs)")
    print(f"  ratio baseline / gumbel_top_k (CPU): {statistics.median(baseline[1]) / statistics.median(ours[1]):.1f}x")


# --- 2. the simulated week ------------------------------------------------------


@dataclass(kw_only=True)
class Programme:
    asset_id: int
    path: str
    category: str
    appeal: float  # hidden
    segments: list[int]


class World:
    """The catalogue and the audience, the same for every policy (one seed)."""

    def __init__(self, seed: int, viewers: int, days: int) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.tastes = rng.dirichlet([0.7] * len(CATEGORIES), size=viewers) * len(CATEGORIES)
        self.catalogue = [self._programme(rng, i, day=0) for i in range(120)]
        self.arrivals = [[self._programme(rng, 1000 * day + i, day=day) for i in range(12)] for day in range(1, days)]

    @staticmethod
    def _programme(rng: np.random.Generator, number: int, *, day: int) -> dict:
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        other = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        return {"title": f"{category.title()} clip {number}", "tags": [category, other],
                "seconds": float(rng.uniform(120, 480)), "appeal": float(rng.normal(0, 1)),
                "vmaf": float(rng.uniform(86, 98)), "day": day}  # fmt: skip


def arrivals_per_programme(hour: float) -> float:
    """How many viewers tune in during a programme, by hour: few at night, most in prime time."""
    return 3 + 14 * math.exp(-(((hour - 20.5) % 24) ** 2) / 18) + 5 * math.exp(-((hour - 8) ** 2) / 4)


def audience_likes(hour: float) -> set[str]:
    for start, end, liked in AUDIENCE_DAYPARTS:
        if start <= hour < end or start <= hour + 24 < end:
            return liked
    return set()


class Simulation:
    def __init__(self, world: World, policy: str, folder: Path) -> None:
        self.world = world
        self.rng = np.random.default_rng(world.seed + 7)
        self.clock = FakeClock(START_US)
        settings = load_settings(
            data_dir=folder, profiles={"sim": PROFILE}, channels=[ChannelSettings(name="main", profile="sim")],
            broadcaster={"horizon_minutes": 60, "buffer_target_minutes": 30, "slate_seconds": 8},
            programming={"dayparts": DAYPARTS, **POLICIES[policy]},
        )  # fmt: skip
        self.rt = Runtime.open(settings, self.clock)
        self.programmer = Programmer(self.rt)
        self.recorder = AudienceRecorder(self.rt)
        self.programmes: dict[int, Programme] = {}
        self.present: set[int] = set()
        self.day_watch: dict[int, list[float]] = {}
        self.requests = 0

    def add(self, specs: list[dict]) -> None:
        with self.rt.db.session() as session:
            for spec in specs:
                total = round(spec["seconds"] * US)
                segments = [SEGMENT_US] * (total // SEGMENT_US) + ([total % SEGMENT_US] if total % SEGMENT_US else [])
                asset = Asset(
                    kind=AssetKind.PROGRAMME, status=AssetStatus.READY, profile="sim", title=spec["title"],
                    tags=spec["tags"], source=f"https://clips.example/{spec['title']}", vmaf=spec["vmaf"],
                    path=f"assets/sim-{spec['title'].lower().replace(' ', '-')}", renditions=[],
                    segment_durations_us=segments, duration_us=sum(segments), created_at_us=self.clock.now_us(),
                    ready_at_us=self.clock.now_us(),
                )  # fmt: skip
                session.add(asset)
                session.flush()
                self.programmes[asset.id] = Programme(asset_id=asset.id, path=asset.path, category=spec["tags"][0],
                                                      appeal=spec["appeal"], segments=segments)  # fmt: skip

    def run(self, days: int) -> dict[int, float]:
        self.add(self.world.catalogue)
        next_ordinal = 0
        for day in range(days):
            if day:
                self.add(self.world.arrivals[day - 1])
            day_end = START_US + (day + 1) * DAY_US
            while self.clock.now_us() < day_end:
                self.programmer.fill("main")
                with self.rt.db.session() as session:
                    entry = session.scalars(select(ScheduleEntry).where(
                        ScheduleEntry.channel == "main", ScheduleEntry.ordinal == next_ordinal)).one()  # fmt: skip
                    start, end, asset_id = entry.start_us, entry.end_us, entry.asset_id
                next_ordinal += 1
                self.watch(day, start, self.programmes.get(asset_id))
                self.clock.advance((end - self.clock.now_us()) / US)
                self.recorder.flush()
        self.programmer.close()
        self.rt.db.dispose()
        return {day: statistics.mean(values) for day, values in sorted(self.day_watch.items())}

    def watch(self, day: int, start_us: int, programme: Programme | None) -> None:
        """One programme on air: who tunes in, how long each stays, every segment they fetch."""
        if programme is None:  # the slate: everyone leaves
            self.present.clear()
            return
        hour = (start_us - START_US) % DAY_US / US / 3600
        arrivals = self.rng.poisson(arrivals_per_programme(hour))
        away = [v for v in range(len(self.world.tastes)) if v not in self.present]
        joining = {int(v): 0 for v in self.rng.choice(away, size=min(arrivals, len(away)), replace=False)}
        for v in joining:  # tune in somewhere in the first half
            joining[v] = int(self.rng.integers(0, max(len(programme.segments) // 2, 1)))
        watchers = {v: 0 for v in self.present} | joining
        liked = 1.0 if programme.category in audience_likes(hour) else -0.5
        self.present = set()
        ends = np.cumsum(programme.segments)
        for viewer, first in watchers.items():
            fit = 1.2 * self.world.tastes[viewer][CATEGORIES.index(programme.category)] + programme.appeal + liked
            leave_chance = 0.12 / (1 + math.exp(2 * fit))
            possible = len(programme.segments) - first
            stays = min(int(self.rng.geometric(leave_chance)) if leave_chance > 0 else possible, possible)
            key = f"sim-{viewer}"
            self.recorder.request("/channels/main/master.m3u8", key, start_us + (ends[first - 1] if first else 0))
            for index in range(first, first + stays):
                self.recorder.request(f"/{programme.path}/sim/{SEGMENT_PATTERN % index}", key,
                                      start_us + int(ends[index]))  # fmt: skip
            self.requests += stays
            watched = sum(programme.segments[first : first + stays])
            self.day_watch.setdefault(day + 1, []).append(watched / sum(programme.segments[first:]))
            if stays == possible and self.rng.random() < 0.85:
                self.present.add(viewer)


def simulate_week(days: int, viewers: int, seed: int, policies: list[str] | None = None) -> dict[str, dict[int, float]]:
    world = World(seed, viewers, days)
    results = {}
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-programming-") as folder:
        for policy in policies or list(POLICIES):
            started = time.perf_counter()
            simulation = Simulation(world, policy, Path(folder) / policy)
            results[policy] = simulation.run(days)
            print(f"  {policy:<16} simulated in {time.perf_counter() - started:5.1f} s "
                  f"({simulation.requests:,} segment requests through the origin's viewer statistics)", flush=True)
    return results


def print_week(results: dict[str, dict[int, float]]) -> None:
    days = sorted(next(iter(results.values())))
    print("retention (share of a programme watched, from joining), per simulated day:")
    print("  policy           " + " ".join(f"day {d:<3}" for d in days))
    for policy, by_day in results.items():
        print(f"  {policy:<16} " + " ".join(f"{by_day[d]:7.1%}" for d in days))
    last = days[-1]
    learned = results["scores+feedback"]
    print(f"  scores+feedback day {last} vs day 1: {learned[last] / learned[1]:.2f}x; "
          f"vs fifo on day {last}: {learned[last] / results['fifo'][last]:.2f}x; "
          f"vs scores only: {learned[last] / results['scores'][last]:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--viewers", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-selection", action="store_true", help="only the simulated week")
    args = parser.parse_args(argv)
    if not args.skip_selection:
        time_selection()
    print(f"simulated week: {args.days} days, {args.viewers} viewers, seed {args.seed}", flush=True)
    print_week(simulate_week(args.days, args.viewers, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
