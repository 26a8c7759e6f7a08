"""Acceptance 1: `vvtvctl discover` against the demo site in real headless Chromium.

It keeps exactly the good HD videos with the right media URL for every kind of
page (plain, <source>, built by JavaScript after a click, HLS through hls.js,
iframe embed), rejects the SD and the broken one with their measured reasons,
never requests the path robots.txt disallows, and its human-like input shows
in the pages' own event logs: curved mouse paths before each click, uneven
key presses.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from demosite import VVTVCTL, DemoSite, demo_site, settings_overrides  # noqa: F401 - demo_site is a fixture
from sqlalchemy import select

from vvtv.config import load_settings
from vvtv.storage.db import Database
from vvtv.storage.models import Job, JobState, Plan, PlanStatus

QUERY = "creative commons music"
GOOD = {  # page -> the media URL the player really fetched
    "/watch/ocean-waves": "/media/ocean-waves.mp4",
    "/watch/piano-etude": "/media/piano-etude.mp4",
    "/watch/city-lights": "/media/hls/city-lights/master.m3u8",
    "/watch/forest-birds": "/media/forest-birds.mp4",
    "/watch/paint-flow": "/media/paint-flow.mp4",
}


@pytest.fixture(scope="module")
def discovery(demo_site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path, int]]:
    data_dir = tmp_path_factory.mktemp("discover-demo")
    events_before = len(demo_site.events())
    command = [VVTVCTL, *sum((["--set", pair] for pair in settings_overrides(demo_site.url)), []),
               "discover", "--query", QUERY, "--max-plans", "5", "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env={**os.environ, "VVTV_DATA_DIR": str(data_dir)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    yield json.loads(done.stdout), data_dir, events_before


def by_path(report: dict, site: DemoSite, status: str) -> dict[str, dict]:
    return {o["page_url"].removeprefix(site.url.rstrip("/")): o for o in report["outcomes"] if o["status"] == status}


def test_keeps_exactly_the_good_hd_videos_with_their_real_media_urls(discovery, demo_site: DemoSite) -> None:
    report, _, _ = discovery
    kept = by_path(report, demo_site, "kept")
    assert {page: o["media_url"].removeprefix(demo_site.url.rstrip("/")) for page, o in kept.items()} == GOOD
    assert report["counts"] == {"kept": 5, "rejected": 2, "skipped": 1, "failed": 0}
    assert all(o["judge"] == "rules+embeddings" and o["score"] >= 0.5 for o in kept.values())


def test_rejects_sd_and_broken_with_measured_reasons(discovery, demo_site: DemoSite) -> None:
    report, _, _ = discovery
    rejected = by_path(report, demo_site, "rejected")
    assert set(rejected) == {"/watch/garage-rehearsal", "/watch/lost-tape"}
    assert rejected["/watch/garage-rehearsal"]["reason"] == "below HD: played at 640x360, the minimum is 720 lines"
    assert rejected["/watch/lost-tape"]["reason"].startswith("the video did not play (media error 4")


def test_never_requests_what_robots_txt_disallows(discovery, demo_site: DemoSite) -> None:
    report, _, _ = discovery
    skipped = by_path(report, demo_site, "skipped")
    assert list(skipped) == ["/members/watch/backstage-session"]
    assert skipped["/members/watch/backstage-session"]["reason"] == "disallowed by robots.txt"
    requested = demo_site.requests()
    assert "/robots.txt" in requested
    assert f"/search?q={QUERY.replace(' ', '+')}" in requested  # typed exactly, typos corrected
    assert not [path for path in requested if path.startswith("/members/")]


def test_plans_carry_the_measurements_and_approved_ones_are_factory_jobs(discovery) -> None:
    _, data_dir, _ = discovery
    db = Database(load_settings(data_dir=data_dir).database_url)
    with db.session() as session:
        plans = {p.page_url.rsplit("/", 1)[1]: p for p in session.scalars(select(Plan))}
        jobs = list(session.scalars(select(Job)))
    db.dispose()
    approved = {slug for slug, p in plans.items() if p.status is PlanStatus.APPROVED}
    assert approved == {"ocean-waves", "piano-etude", "city-lights", "forest-birds", "paint-flow"}
    for slug in approved:
        plan = plans[slug]
        measured = plan.playback["playback"]
        assert (plan.width, plan.height) == (1280, 720)
        assert measured["advanced_s"] >= 0.75 * measured["watched_s"] > 1.0
        assert plan.duration_s == pytest.approx(12, abs=0.2)
        assert plan.licence in ("CC BY 4.0", "CC BY-SA 4.0") and plan.title and plan.thumbnail_url
        assert plan.judge == "rules+embeddings" and "no LLM configured" in plan.playback["judgement"]["why_this_judge"]
    assert plans["piano-etude"].playback["playback"]["started_by"] == "click"  # its <video> exists only after a click
    assert plans["city-lights"].playback["playback"]["media_kind"] == "hls"
    assert plans["garage-rehearsal"].height == 360
    assert sorted(j.plan_id for j in jobs) == sorted(plans[s].id for s in approved)
    assert all(j.state is JobState.QUEUED for j in jobs)


def _deviation(points: list[tuple[float, float]]) -> float:
    """The largest distance of a path's points from the straight line between its ends."""
    (x0, y0), (x1, y1) = points[0], points[-1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    return max(abs((x1 - x0) * (y0 - y) - (x0 - x) * (y1 - y0)) / length for x, y in points)


def _overshoot(points: list[tuple[float, float]], target: tuple[float, float]) -> float:
    """How far the path went past the target, along the direction it came from."""
    (x0, y0) = points[0]
    length = math.hypot(target[0] - x0, target[1] - y0) or 1.0
    ux, uy = (target[0] - x0) / length, (target[1] - y0) / length
    return max((x - x0) * ux + (y - y0) * uy for x, y in points) - length


def test_the_pages_event_logs_show_curved_mouse_paths_and_uneven_typing(discovery, demo_site: DemoSite) -> None:
    _, _, events_before = discovery
    batches = demo_site.events()[events_before:]
    pages: dict[str, list[dict]] = {}
    for batch in batches:
        pages.setdefault(batch["page"], []).extend(batch["events"])
    clicks = 0
    for page, events in pages.items():
        moves: list[tuple[float, float]] = []
        for event in events:
            if event["type"] == "mousemove":
                moves.append((event["x"], event["y"]))
            elif event["type"] == "click":
                clicks += 1
                assert len(moves) >= 5, f"{page}: a click after only {len(moves)} mouse moves"
                assert _deviation(moves) >= 5.0, f"{page}: a straight path to a click"
                assert _overshoot(moves, (event["x"], event["y"])) >= 1.0, f"{page}: no overshoot before a click"
                moves = []
    assert clicks >= 6  # the search box, a play button, videos, next links

    typing = [e for e in pages["/"] if e["type"] == "keydown"]
    assert typing[-1]["key"] == "Enter" or any(e["type"] == "click" for e in pages["/"][-3:])
    gaps = [b["t"] - a["t"] for a, b in zip(typing, typing[1:])]
    assert len(gaps) >= len(QUERY) - 1
    assert statistics.pstdev(gaps) / statistics.mean(gaps) > 0.3  # a person's rhythm, not a metronome
