"""Revenue from the real origin's viewer statistics: viewers fetch segments, some of an ad break,
and `vvtvctl revenue` and /metrics count the impressions, the estimated revenue and the viewer-hours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
from origin_support import PROFILE, make_programmes, origin_settings, settings_env, start_origin
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from vvtv.broadcast import adbreaks, schedule
from vvtv.clock import US
from vvtv.config import ChannelSettings
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, EntryKind, Viewing

VVTVCTL = str(Path(sys.executable).parent / "vvtvctl")
CPM = 20.0
ADS = {"every_minutes": 1, "break_seconds": 4, "cpm": CPM, "currency": "EUR"}


def vvtvctl(settings, *args: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run([VVTVCTL, *args], env=settings_env(settings), capture_output=True, text=True, timeout=60)


def test_impressions_revenue_and_viewer_hours(tmp_path: Path) -> None:
    settings = origin_settings(tmp_path / "var", origin={"port": 0},
                               channels=[ChannelSettings(name="main", profile="tiny", ads=ADS)])  # fmt: skip
    rt = Runtime.open(settings)
    alpha, bravo = make_programmes(rt, ["Alpha", "Bravo"], seconds=4)
    break_id = adbreaks.ensure_break_asset(rt, "main")
    start = rt.clock.now_us() - 12 * US
    with rt.db.session() as session:
        schedule.ensure_channels(session, settings, start)
        session.flush()
        for position, (asset_id, kind) in enumerate(
            [(alpha.id, EntryKind.PROGRAMME), (break_id, EntryKind.BREAK), (bravo.id, EntryKind.PROGRAMME)]
        ):
            schedule.append_entry(session, "main", session.get(Asset, asset_id), kind=kind, reason="test",
                                  now_us=start, start_us=start if position == 0 else None)  # fmt: skip
        break_path = session.get(Asset, break_id).path
    rendition = PROFILE.renditions[0].name
    origin = start_origin(settings)
    try:
        watched = {}
        # One viewer watches everything, one only the break, one only Alpha.
        for viewer, wanted in {"viewer-one-aaaaaaaa": "", "viewer-two-bbbbbbbb": break_path,
                               "viewer-three-cccccc": alpha.path}.items():  # fmt: skip
            with httpx.Client(base_url=origin.url, cookies={"vvtv_viewer": viewer}, timeout=10) as client:
                playlist = client.get(f"/channels/main/{rendition}.m3u8")
                assert playlist.status_code == 200
                uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
                chosen = [uri for uri in uris if f"/{wanted}/" in f"/{uri}" or not wanted]
                assert chosen
                for uri in chosen:
                    assert client.get(f"/channels/main/{uri}").status_code == 200
                watched[viewer] = len(chosen) * PROFILE.segment_seconds
        # The origin adds up what it served every few seconds.
        deadline = time.monotonic() + 30
        while True:
            with rt.db.session() as session:
                rows = session.scalar(select(func.sum(Viewing.segments)))
            if rows == sum(watched.values()) // PROFILE.segment_seconds or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        metrics = httpx.get(origin.url + "/metrics", timeout=10).text
    finally:
        assert origin.stop() == 0
        rt.db.dispose()

    hours = sum(watched.values()) / 3600
    today = datetime.now(timezone.utc).date().isoformat()
    report = vvtvctl(settings, "revenue", "--json")
    assert report.returncode == 0, report.stderr
    (day,) = json.loads(report.stdout)["days"]
    assert day == {"channel": "main", "day": today, "impressions": 2, "revenue": 2 * CPM / 1000, "currency": "EUR",
                   "viewer_hours": round(hours, 6)}  # fmt: skip

    text = vvtvctl(settings, "revenue", "--since", "2000-01-01")
    assert text.returncode == 0 and f"{today}  main" in text.stdout and "0.04 EUR" in text.stdout, text.stdout
    later = vvtvctl(settings, "revenue", "--since", "2999-01-01", "--json")
    assert json.loads(later.stdout)["days"] == []
    bad = vvtvctl(settings, "revenue", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr

    samples = {(s.name, s.labels.get("channel")): s.value
               for family in text_string_to_metric_families(metrics) for s in family.samples}  # fmt: skip
    assert samples[("vvtv_ad_impressions_total", "main")] == 2
    assert samples[("vvtv_ad_revenue_estimated_total", "main")] == 2 * CPM / 1000
    assert abs(samples[("vvtv_channel_viewer_hours_total", "main")] - hours) < 1e-6  # the audience's own figure
