"""Acceptance 1 of issue 2: on the real `vvtv up` with the demo channel, the player page in
headless Chromium plays the live stream in real time for at least 3 minutes across at least
6 programme boundaries: no stall after start-up, no fatal error, currentTime moving with the
wall clock within 2 s, the picture changing at each boundary and the "Now" label naming the
programme on screen.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from livesystem import LiveSystem
from origin_support import chromium_page
from player_probe import PLAYING, PlayerEvent, Sample, player_events, snapshot
from sqlalchemy import func, select

from vvtv.clock import US
from vvtv.config import DEMO_PROFILE, load_settings
from vvtv.storage.db import Database
from vvtv.storage.models import Asset, AssetKind, AssetStatus, Job, ScheduleEntry

DEMO_PROGRAMMES = 6
DEMO_ENV = {
    "VVTV_PROFILES": json.dumps({"demo": DEMO_PROFILE.model_dump(mode="json")}),
    "VVTV_CHANNELS": json.dumps([{"name": "main", "profile": "demo"}]),
    "VVTV_DEMO__PROGRAMMES": str(DEMO_PROGRAMMES),
    "VVTV_DEMO__MIN_SECONDS": "12",
    "VVTV_DEMO__MAX_SECONDS": "24",
}
PLAY_SECONDS = 180
MAX_PLAY_SECONDS = 300
MIN_BOUNDARIES = 6
DRIFT_LIMIT_S = 2.0
SAMPLE_EVERY_S = 0.5
GUIDE_EVERY_SAMPLES = 10
# Samples this close to a boundary are not used to judge either side of it
# (the label refreshes once a second; a frame may straddle).
MARGIN_US = 1_500_000
# Mean absolute difference (0-255) between two 16x9 thumbnails that counts as "another picture".
# Measured: 29-132 across the demo programmes' boundaries; inside one programme 2 (median)
# between samples half a second apart, up to 22 where the picture itself moves fast.
PICTURE_CHANGE = 12.0


@dataclass(frozen=True, kw_only=True)
class Aired:
    ordinal: int
    start_us: int
    end_us: int
    asset_id: int
    title: str


def wait_for_demo_programmes(live: LiveSystem, *, seconds: float) -> None:
    """Until every demo programme is made and on the main timeline; if not, say how the Factory got on."""
    db = Database(load_settings(data_dir=live.data_dir).database_url)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                # On a fresh data dir the only programmes are the demo ones.
                demo = select(Asset.id).where(Asset.kind == AssetKind.PROGRAMME, Asset.status == AssetStatus.READY)
                scheduled = session.scalar(
                    select(func.count(func.distinct(ScheduleEntry.asset_id))).where(
                        ScheduleEntry.channel == "main", ScheduleEntry.asset_id.in_(demo)
                    )
                )
            if scheduled >= DEMO_PROGRAMMES:
                return
            time.sleep(1)
        with db.session() as session:
            jobs = [f"job {j.id}: {j.state.value}, step {j.step!r} at {j.progress:.0%}, attempt {j.attempts} {j.error}"
                    for j in session.scalars(select(Job).order_by(Job.id))]  # fmt: skip
    finally:
        db.dispose()
    summary = f"{scheduled} of the {DEMO_PROGRAMMES} demo programmes on the timeline after {seconds} s"
    raise AssertionError(summary + "".join(f"\n  {job}" for job in jobs))


def read_guide(live: LiveSystem, aired: dict[int, Aired]) -> None:
    """Merge the guide's entries into `aired` (by ordinal; an entry that started never changes)."""
    response = live.get("/api/channels/main/guide")
    if response is None or response.status_code != 200:
        return
    guide = response.json()
    for item in [*guide["recent"], guide["on_air"], *guide["next"]]:
        if item:
            aired[item["ordinal"]] = Aired(
                ordinal=item["ordinal"], start_us=item["start_us"], end_us=item["end_us"],
                asset_id=item["asset_id"], title=item["title"],
            )  # fmt: skip


def boundaries_between_assets(aired: dict[int, Aired], first_us: int, last_us: int) -> list[tuple[Aired, Aired]]:
    """Consecutive entries of different assets whose boundary the player passed with a margin."""
    ordered = sorted(aired.values(), key=lambda a: a.ordinal)
    return [
        (before, after)
        for before, after in zip(ordered, ordered[1:])
        if after.ordinal == before.ordinal + 1 and before.asset_id != after.asset_id
        and first_us + 2 * MARGIN_US < after.start_us < last_us - 2 * MARGIN_US
    ]  # fmt: skip


def explain_drift(samples: list[Sample], aired: dict[int, Aired]) -> str:
    """Where playback lost time against the clock, and whether the stream or the browser fell short.

    Sudden losses next to a boundary point at the stream; a slow, steady loss
    with a full buffer points at a browser short of CPU.
    """
    starts = [a.start_us for a in aired.values()]
    jumps = []
    for before, after in zip(samples, samples[1:]):
        step = (after.time_s - before.time_s) - (after.wall_s - before.wall_s)
        if abs(step) > 0.25 and after.date_us is not None:
            nearest = min(abs(after.date_us - start) for start in starts) / US
            where = f"at +{after.wall_s - samples[0].wall_s:.0f} s, {nearest:.1f} s from a boundary"
            jumps.append((step, f"{step:+.2f} s {where}, {before.buffered_ahead_s:.1f} s buffered"))
    total = (samples[-1].time_s - samples[0].time_s) - (samples[-1].wall_s - samples[0].wall_s)
    return (
        f"currentTime ended {total:+.2f} s from the clock, {sum(step for step, _ in jumps):+.2f} s of it in "
        f"{len(jumps)} jumps over 0.25 s; lowest buffer {min(s.buffered_ahead_s for s in samples):.1f} s; "
        f"{samples[-1].dropped_frames} frames dropped" + "".join(f"\n  {text}" for _, text in jumps)
    )


def picture_change(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


@dataclass(kw_only=True)
class Playback:
    samples: list[Sample]
    aired: dict[int, Aired]  # the entries the guide named, by ordinal
    events: list[PlayerEvent]


def watch(live: LiveSystem) -> Playback:
    """Play the channel's page for PLAY_SECONDS and until MIN_BOUNDARIES are crossed (at most MAX_PLAY_SECONDS)."""
    aired: dict[int, Aired] = {}
    samples: list[Sample] = []
    with chromium_page() as page:
        page.goto(live.url + "/")
        page.wait_for_function(PLAYING, timeout=60_000)
        begun = time.monotonic()
        while True:
            if len(samples) % GUIDE_EVERY_SAMPLES == 0:
                read_guide(live, aired)
            samples.append(snapshot(page))
            played = time.monotonic() - begun
            dated = [s.date_us for s in samples if s.date_us is not None]
            crossed = boundaries_between_assets(aired, dated[0], dated[-1]) if dated else []
            if played >= MAX_PLAY_SECONDS or (played >= PLAY_SECONDS and len(crossed) >= MIN_BOUNDARIES):
                break
            time.sleep(SAMPLE_EVERY_S)
        read_guide(live, aired)
        events = player_events(page)

    return Playback(samples=samples, aired=aired, events=events)


@pytest.mark.timeout(900)
def test_three_minutes_of_live_playback_across_six_boundaries(tmp_path: Path) -> None:
    live = LiveSystem(data_dir=tmp_path / "var", env_overrides=DEMO_ENV)
    live.start()
    try:
        live.wait_for("/live.m3u8", 300)  # on air: set-up (the database among it) is done
        wait_for_demo_programmes(live, seconds=300)
        playback = watch(live)
    finally:
        live.stop()
    samples, aired, events = playback.samples, playback.aired, playback.events
    # Every criterion is judged and reported, so one 3-minute run tells the whole story.
    problems: list[str] = []

    first_playing = next(e.at_ms for e in events if e.type == "playing")
    after_start = [e for e in events if e.at_ms > first_playing]
    stalls = [e for e in after_start if e.type in ("waiting", "stalled") or e.details == "bufferStalledError"]
    fatal = [e for e in events if e.fatal]
    if fatal:
        problems.append(f"fatal player errors: {fatal}")
    if stalls:
        problems.append(f"stalls after start-up: {stalls}")

    played_s = samples[-1].wall_s - samples[0].wall_s
    if played_s < PLAY_SECONDS:
        problems.append(f"played only {played_s:.1f} s")
    drift = [(s.time_s - samples[0].time_s) - (s.wall_s - samples[0].wall_s) for s in samples]
    explanation = explain_drift(samples, aired)
    print(f"played {played_s:.1f} s in {len(samples)} samples; drift between {min(drift):+.2f} and "
          f"{max(drift):+.2f} s; {explanation}")  # fmt: skip
    if max(abs(d) for d in drift) > DRIFT_LIMIT_S:
        problems.append(f"currentTime left the clock by more than {DRIFT_LIMIT_S} s: {explanation}")

    dated = [s for s in samples if s.date_us is not None and s.fingerprint is not None]
    assert dated, "the page never showed a picture with a programme date: " + "\n".join(problems)
    crossed = boundaries_between_assets(aired, dated[0].date_us, dated[-1].date_us)
    if len(crossed) < MIN_BOUNDARIES:
        problems.append(f"only {len(crossed)} boundaries crossed; the guide named entries {sorted(aired)}")
    for before, after in crossed:
        boundary = after.start_us
        last_before = [s for s in dated if boundary - 4 * MARGIN_US <= s.date_us < boundary - MARGIN_US / 3][-1]
        first_after = [s for s in dated if boundary + MARGIN_US / 3 <= s.date_us < boundary + 4 * MARGIN_US][0]
        change = picture_change(last_before.fingerprint, first_after.fingerprint)
        print(f"{before.title!r} -> {after.title!r}: picture change {change:.1f}")
        if change < PICTURE_CHANGE:
            problems.append(f"the picture hardly changed from {before.title!r} to {after.title!r} ({change:.1f})")

    # The page names what is on screen: every sample clear of a boundary carries its entry's title.
    ordered = sorted(aired.values(), key=lambda a: a.start_us)
    inside: list[tuple[Aired, Sample]] = []
    for sample in dated:
        showing = [a for a in ordered if a.start_us + MARGIN_US <= sample.date_us < a.end_us - MARGIN_US]
        if showing:
            inside.append((showing[0], sample))
    mislabelled = [(entry.title, sample.label) for entry, sample in inside if sample.label != entry.title]
    if mislabelled:
        problems.append(f"{len(mislabelled)} samples labelled wrongly (on screen, label): {mislabelled[:5]}")
    # For scale: how much the picture moves between samples inside one programme.
    within = sorted(
        picture_change(a.fingerprint, b.fingerprint) for (ea, a), (eb, b) in zip(inside, inside[1:]) if ea == eb
    )
    if within:
        print(f"picture change between samples inside a programme: median {within[len(within) // 2]:.1f}, "
              f"max {within[-1]:.1f}")  # fmt: skip
    assert not problems, "\n".join(problems)
