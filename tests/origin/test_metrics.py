"""/metrics: parsed with Prometheus's own parser from the real `vvtv up`, and the Grafana dashboard's
queries checked against what it exports; the database-made histograms counted exactly."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from livesystem import LiveSystem
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from vvtv.origin.metrics import origin_registry, rejection_kind
from vvtv.runtime import Runtime

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "vvtv.json"
# PromQL functions and aggregations the dashboard uses: words that are not metric names.
PROMQL_WORDS = {"rate", "increase", "sum", "histogram_quantile", "time", "avg", "max", "min"}


def _samples(text: str) -> dict[str, list]:
    """Family name -> its samples, as Prometheus's parser reads them."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _value(samples: list, name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples in {samples}"
    return found[0]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The /metrics text of a real `vvtv up` on air for a while, and how many playlists were served before it."""
    system = LiveSystem(data_dir=tmp_path_factory.mktemp("metrics") / "var")
    system.start()
    try:
        system.wait_for("/live.m3u8", 180)
        fetched = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until a few segments are out and the demo programmes are made
            response = system.get("/channels/main/90p.m3u8")
            fetched += response is not None and response.status_code == 200
            if response is not None and response.status_code == 200:  # and watch: the newest segment, as a player
                newest = [line for line in response.text.splitlines() if line and not line.startswith("#")][-1]
                httpx.get(system.url + "/" + newest.removeprefix("../../"), timeout=5)
            text = system.get("/metrics")
            if response is not None and text is not None and "vvtv_asset_vmaf_count" in text.text:
                seq = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", response.text)
                if seq and int(seq.group(1)) >= 2:
                    break
            time.sleep(1)
        else:
            raise AssertionError("the channel did not publish segments and programmes within 60 s")
        deadline = time.monotonic() + 30  # the origin adds up viewings every few seconds
        while True:
            metrics = httpx.get(system.url + "/metrics", timeout=10)
            assert metrics.status_code == 200
            if 'vvtv_channel_viewers{channel="main"} 1.0' in metrics.text or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert metrics.headers["content-type"].startswith("text/plain")
        yield metrics.text, fetched
    finally:
        system.stop()


def test_metrics_of_a_real_channel_parse_and_tell_the_truth(scraped: tuple[str, int]) -> None:
    text, fetched = scraped
    families = _samples(text)
    assert _value(families["vvtv_database_up"], "vvtv_database_up") == 1
    published = _value(families["vvtv_channel_segments_published"], "vvtv_channel_segments_published_total",
                       channel="main")  # fmt: skip
    assert published >= 3
    assert 0 <= _value(families["vvtv_channel_playlist_age_seconds"], "vvtv_channel_playlist_age_seconds",
                       channel="main") < 30  # fmt: skip
    assert _value(families["vvtv_channel_buffer_scheduled_minutes"], "vvtv_channel_buffer_scheduled_minutes",
                  channel="main") > 0  # fmt: skip
    on_air = [s for s in families["vvtv_channel_on_air"] if s.labels["channel"] == "main"]
    assert len(on_air) == 1 and on_air[0].value == 1 and on_air[0].labels["kind"] in ("programme", "emergency")
    for role in ("programmer", "broadcaster", "origin"):
        assert _value(families["vvtv_role_up"], "vvtv_role_up", role=role) == 1
    # The demo programmes went through the Factory: their steps and checks are counted.
    programmes = _value(families["vvtv_assets"], "vvtv_assets", kind="programme", status="ready")
    assert programmes >= 1
    assert _value(families["vvtv_asset_vmaf"], "vvtv_asset_vmaf_count") == programmes
    # Buckets below zero: OpenMetrics has no _count and _sum then, the +Inf bucket is the count.
    assert _value(families["vvtv_asset_loudness_lufs"], "vvtv_asset_loudness_lufs_bucket", le="+Inf") == programmes
    encodes = _value(families["vvtv_factory_step_seconds"], "vvtv_factory_step_seconds_count", step="encode",
                     outcome="ok")  # fmt: skip
    assert encodes >= programmes
    # The origin counted the playlist requests made before the scrape (and perhaps the player's of nobody else).
    playlist_200 = _value(families["vvtv_origin_requests"], "vvtv_origin_requests_total", kind="playlist", status="200")
    assert playlist_200 >= fetched
    assert _value(families["vvtv_origin_requests"], "vvtv_origin_requests_total", kind="segment", status="200") >= 1
    # The test watched as one viewer (its address and user agent), segment after segment.
    assert _value(families["vvtv_channel_viewers"], "vvtv_channel_viewers", channel="main") == 1
    assert _value(families["vvtv_channel_viewings"], "vvtv_channel_viewings_total", channel="main") >= 1
    assert _value(families["vvtv_channel_viewer_hours"], "vvtv_channel_viewer_hours_total", channel="main") > 0


def test_every_dashboard_query_names_an_exported_metric(scraped: tuple[str, int]) -> None:
    text, _ = scraped
    exported = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    exported |= {family.name for family in text_string_to_metric_families(text)}  # families without samples yet
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 15
    for query in queries:
        # Label matchers, ranges and grouping (`by (le, step)`) name labels: only the other bare words name metrics.
        bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)', "", query)
        names = [w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if w not in PROMQL_WORDS]
        assert names, f"no metric in {query!r}"
        for name in names:
            base = re.sub(r"_(bucket|count|sum|total)$", "", name)
            assert name in exported or base in exported, f"{query!r}: {name} is not exported"


def test_histograms_and_counters_are_counted_from_the_database(runtime: Runtime) -> None:
    for seconds, outcome in ((3.0, "ok"), (100.0, "ok"), (7.0, "failed")):
        runtime.record_event("factory.step", "step", step="encode", outcome=outcome, seconds=seconds)
    runtime.record_event("role-restart", "programmer exited", role="programmer", exit_code=1)
    runtime.record_event("role-hung", "programmer hung", role="programmer")
    registry, requests = origin_registry(runtime)
    requests.labels(kind="segment", status="200").inc(5)
    families = _samples(generate_latest(registry).decode())
    steps = families["vvtv_factory_step_seconds"]
    assert _value(steps, "vvtv_factory_step_seconds_bucket", step="encode", outcome="ok", le="5.0") == 1
    assert _value(steps, "vvtv_factory_step_seconds_bucket", step="encode", outcome="ok", le="120.0") == 2
    assert _value(steps, "vvtv_factory_step_seconds_bucket", step="encode", outcome="ok", le="+Inf") == 2
    assert _value(steps, "vvtv_factory_step_seconds_sum", step="encode", outcome="ok") == 103
    assert _value(steps, "vvtv_factory_step_seconds_count", step="encode", outcome="failed") == 1
    assert _value(families["vvtv_role_restarts"], "vvtv_role_restarts_total", role="programmer") == 2
    assert _value(families["vvtv_origin_requests"], "vvtv_origin_requests_total", kind="segment", status="200") == 5
    assert _value(families["vvtv_llm_breaker_state"], "vvtv_llm_breaker_state", state="closed") == 1


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("below HD: played at 640x360, the minimum is 720 lines", "below-hd"),
        ("not smooth: 3 stalls in 5.0 s (at most 1)", "not-smooth"),
        ("no open licence found on the page (found: nothing)", "licence"),
        ("score 0.31 < 0.50 by embeddings (no LLM configured): off topic", "judge"),
        ("same media as plan #4 (http://x/)", "duplicate"),
        ("too short: 3 s (the minimum is 5 s)", "duration"),
        ("a live stream (its HLS playlist has no EXT-X-ENDLIST): only recordings of a known length can be broadcast",
         "live"),
        ("an age confirmation is asked ('Are you 18?'); the curator never confirms an age ...", "age-gate"),
        ("the page broke the curator's visit (ValidationError: ...)", "page-failed"),
        ("something nobody foresaw", "other"),
    ],
)
def test_rejection_reasons_fall_into_bounded_kinds(reason: str, kind: str) -> None:
    assert rejection_kind(reason) == kind
