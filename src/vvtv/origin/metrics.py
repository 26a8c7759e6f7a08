"""/metrics: the whole channel in Prometheus text format, read at scrape time.

The roles are separate processes (later on separate machines), so the origin
does not ask them: its collector reads what they leave behind, in the database
(heartbeats with what only a role knows, jobs, plans, assets, events, the
timeline) and on disk (the live playlists), each time Prometheus scrapes. What
the origin itself sees, its requests, it counts in memory.

Counters read from the database (role restarts, factory steps) come from
events, which housekeeping prunes after `housekeeping.event_retention_days`:
Prometheus takes such a drop as a counter reset, as it does for a role's own
counters when the role restarts.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from vvtv.broadcast import schedule
from vvtv.broadcast.buffer import buffer_ahead
from vvtv.broadcast.playlists import read_published
from vvtv.clock import US
from vvtv.control.revenue import revenue_families
from vvtv.discovery.status import CuratorStatus
from vvtv.errors import VVTVError
from vvtv.healing.quality import PRESET_EVENT, current_preset
from vvtv.runtime import Runtime
from vvtv.storage.models import (
    Asset, AssetKind, EntryKind, Event, Heartbeat, Job, Plan, PlanStatus, ScheduleEntry, Viewing,
)

# A role whose last heartbeat is older than this counts as down (as in `vvtvctl status`).
ROLE_ALIVE_SECONDS = 30
# Viewers "now": those whose last segment request is this recent (a player fetches one every few seconds;
# the origin adds requests up every few seconds too).
VIEWERS_NOW_SECONDS = 30
STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
VMAF_BUCKETS = (60, 70, 80, 85, 90, 93, 95, 97, 99, 100)
LOUDNESS_BUCKETS = (-20, -16, -15, -14.5, -14, -13.5, -13, -12, -8)

# Events that record a repair (healing/, the supervisor, the restreamer, the programmer's emergency loop).
HEALING_EVENTS = (
    "urgent-discovery", "buffer-recovered", "curator-paused", "curator-resumed", PRESET_EVENT, "housekeeping",
    "restream-restart", "role-restart", "role-hung", "buffer-low", "emergency-replaced", "timeline-resumed",
)  # fmt: skip

# A rejected plan's reason, as the Curator words it, sorted into a few kinds for a bounded label.
REJECTION_KINDS = (
    ("not-playing", re.compile(r"did not play")),
    ("below-hd", re.compile(r"^below HD")),
    ("not-smooth", re.compile(r"^not smooth")),
    ("no-media-url", re.compile(r"media URL could not be captured")),
    ("duration", re.compile(r"^too (short|long)")),
    ("live", re.compile(r"^a live stream|^unknown length")),
    ("age-gate", re.compile(r"^an age confirmation is asked")),
    ("licence", re.compile(r"open licence")),
    ("duplicate", re.compile(r"^same media as plan")),
    ("judge", re.compile(r"^score ")),
    ("page-failed", re.compile(r"no video found|video was removed|did not respond|failed:|broke the curator's visit")),
)


def rejection_kind(reason: str) -> str:
    return next((kind for kind, pattern in REJECTION_KINDS if pattern.search(reason)), "other")


def _histogram(
    session: Session, name: str, documentation: str, value: ColumnElement[Any], where: list[ColumnElement[bool]],
    buckets: tuple[float, ...], labels: dict[str, ColumnElement[Any]] | None = None,
) -> HistogramMetricFamily:  # fmt: skip
    """A histogram counted by the database: one row per label set, with a count per bucket."""
    labels = labels or {}
    columns = [
        *labels.values(),
        *(func.sum(case((value <= bound, 1), else_=0)) for bound in buckets),
        func.count(value),
        func.coalesce(func.sum(value), 0.0),
    ]
    query = select(*columns).where(*where, value.is_not(None))
    if labels:
        query = query.group_by(*labels.values())
    family = HistogramMetricFamily(name, documentation, labels=list(labels))
    for row in session.execute(query):
        label_values = [str(v) for v in row[: len(labels)]]
        counts = row[len(labels) :]
        total = int(counts[len(buckets)] or 0)
        if not total:
            continue
        pairs = [(floatToGoString(b), int(c or 0)) for b, c in zip(buckets, counts)] + [("+Inf", total)]
        family.add_metric(label_values, pairs, float(counts[len(buckets) + 1] or 0))
    return family


def _beats(session: Session) -> dict[str, Heartbeat]:
    return {beat.role: beat for beat in session.scalars(select(Heartbeat))}


class ChannelCollector(Collector):
    """Everything but the origin's own requests, read from the database and the disk at each scrape."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("vvtv_database_up", "1 when the database answered this scrape")
        families: list[Metric] = []
        try:
            with self.rt.db.session() as session:
                now = self.rt.clock.now_us()
                beats = _beats(session)
                families += self._channels(session, now, beats)
                families += self._roles(session, now, beats)
                families += self._factory(session)
                families += self._curator(session, beats)
                families += self._restream(beats)
                families += self._healing(session)
                families += self._audience(session, now)
                families += revenue_families(session, self.rt.settings)
            up.add_metric([], 1)
        except (SQLAlchemyError, VVTVError):
            up.add_metric([], 0)
        yield up
        yield from families

    def _channels(self, session: Session, now: int, beats: dict[str, Heartbeat]) -> Iterable[Metric]:
        settings = self.rt.settings
        fresh = GaugeMetricFamily("vvtv_channel_buffer_fresh_minutes",
                                  "Fresh programme minutes ahead: scheduled and not aired, or ready",
                                  labels=["channel"])
        scheduled = GaugeMetricFamily("vvtv_channel_buffer_scheduled_minutes",
                                      "Minutes scheduled ahead of now, reruns and slate included", labels=["channel"])
        target = GaugeMetricFamily("vvtv_channel_buffer_target_minutes", "broadcaster.buffer_target_minutes",
                                   labels=["channel"])
        on_air = GaugeMetricFamily("vvtv_channel_on_air", "1 for the asset on air now",
                                   labels=["channel", "asset_id", "title", "kind"])
        published = CounterMetricFamily("vvtv_channel_segments_published",
                                        "Segments of the channel published so far (its newest media sequence + 1)",
                                        labels=["channel"])
        age = GaugeMetricFamily("vvtv_channel_playlist_age_seconds", "Seconds since the top media playlist was written",
                                labels=["channel"])
        lateness = GaugeMetricFamily("vvtv_channel_publish_lateness_p99_seconds",
                                     "99th percentile of how late after its boundary a playlist was written",
                                     labels=["channel"])
        emergency = GaugeMetricFamily("vvtv_channel_emergency_entries",
                                      "Emergency-loop and injected entries on air or ahead", labels=["channel"])
        emergency_total = CounterMetricFamily("vvtv_channel_emergency_entries_scheduled",
                                              "Emergency-loop and injected entries ever scheduled", labels=["channel"])
        broadcast = beats.get("broadcaster")
        for channel in settings.channels:
            name = channel.name
            buffer = buffer_ahead(session, name, channel.profile, now)
            fresh.add_metric([name], buffer.fresh_minutes)
            scheduled.add_metric([name], buffer.scheduled_minutes)
            target.add_metric([name], settings.broadcaster.buffer_target_minutes)
            entry = schedule.load_timeline(session, name, ending_after_us=now).on_air(now)
            if entry is not None:
                on_air.add_metric([name, str(entry.asset_id), entry.title, entry.kind], 1)
            playlist = settings.media_dir / "channels" / name / f"{settings.profile_for(name).top.name}.m3u8"
            state = read_published(playlist)
            published.add_metric([name], state.newest_seq + 1 if state else 0)
            if state:
                try:
                    age.add_metric([name], max(now / US - playlist.stat().st_mtime, 0.0))
                except OSError:
                    pass  # replaced between the read and the stat: the next scrape has it
            p99 = (broadcast.data.get("channels", {}).get(name, {}) if broadcast else {}).get("lateness_p99_ms")
            if p99 is not None:
                lateness.add_metric([name], p99 / 1000)
            stand_ins = ScheduleEntry.kind.in_([EntryKind.EMERGENCY, EntryKind.INJECTED])
            in_channel = [ScheduleEntry.channel == name, stand_ins]
            ahead = ScheduleEntry.start_us + ScheduleEntry.duration_us > now
            emergency.add_metric([name], session.scalar(select(func.count()).where(*in_channel, ahead)) or 0)
            emergency_total.add_metric([name], session.scalar(select(func.count()).where(*in_channel)) or 0)
        return [fresh, scheduled, target, on_air, published, age, lateness, emergency, emergency_total]

    def _roles(self, session: Session, now: int, beats: dict[str, Heartbeat]) -> Iterable[Metric]:
        up = GaugeMetricFamily("vvtv_role_up", f"1 while the role heartbeats (within {ROLE_ALIVE_SECONDS} s)",
                               labels=["role"])
        last = GaugeMetricFamily("vvtv_role_last_heartbeat_timestamp_seconds", "When the role last heartbeat",
                                 labels=["role"])
        started = GaugeMetricFamily("vvtv_role_start_timestamp_seconds", "When the running role started",
                                    labels=["role"])
        restarts = CounterMetricFamily("vvtv_role_restarts", "Restarts by the supervisor (exited or hung)",
                                       labels=["role"])
        for role, beat in sorted(beats.items()):
            up.add_metric([role], 1 if now - beat.at_us < ROLE_ALIVE_SECONDS * US else 0)
            last.add_metric([role], beat.at_us / US)
            started.add_metric([role], beat.started_at_us / US)
        role = Event.data["role"].as_string()
        counted = session.execute(
            select(role, func.count()).where(Event.kind.in_(["role-restart", "role-hung"])).group_by(role)
        ).all()
        hung_and_restarted = dict(counted)
        for name in sorted(set(beats) | {r for r in hung_and_restarted if r}):
            restarts.add_metric([name], hung_and_restarted.get(name, 0))
        return [up, last, started, restarts]

    def _factory(self, session: Session) -> Iterable[Metric]:
        jobs = GaugeMetricFamily("vvtv_factory_jobs", "Factory jobs by state", labels=["state"])
        for state, count in session.execute(select(Job.state, func.count()).group_by(Job.state)):
            jobs.add_metric([state.value], count)
        is_step = [Event.kind == "factory.step"]
        steps = _histogram(
            session, "vvtv_factory_step_seconds", "How long each Factory step took", Event.data["seconds"].as_float(),
            is_step, STEP_BUCKETS,
            {"step": Event.data["step"].as_string(), "outcome": Event.data["outcome"].as_string()},
        )  # fmt: skip
        programmes = [Asset.kind == AssetKind.PROGRAMME]
        vmaf = _histogram(session, "vvtv_asset_vmaf", "VMAF of each programme's top rendition", Asset.vmaf,
                          programmes, VMAF_BUCKETS)  # fmt: skip
        loudness = _histogram(session, "vvtv_asset_loudness_lufs", "Integrated loudness of each programme as encoded",
                              Asset.loudness_lufs, programmes, LOUDNESS_BUCKETS)  # fmt: skip
        ready = GaugeMetricFamily("vvtv_assets", "Assets by kind and status", labels=["kind", "status"])
        for kind, status, count in session.execute(
            select(Asset.kind, Asset.status, func.count()).group_by(Asset.kind, Asset.status)
        ):
            ready.add_metric([kind.value, status.value], count)
        presets = GaugeMetricFamily("vvtv_factory_preset_info", "1 for the x264 preset each profile is encoded with",
                                    labels=["profile", "preset"])
        for name in sorted(self.rt.settings.profiles):
            presets.add_metric([name, current_preset(self.rt, name)], 1)
        return [jobs, steps, vmaf, loudness, ready, presets]

    def _audience(self, session: Session, now: int) -> Iterable[Metric]:
        """From the viewings every origin adds up (origin/audience.py), so several origins count as one."""
        viewers = GaugeMetricFamily("vvtv_channel_viewers",
                                    f"Viewers who fetched a segment in the last {VIEWERS_NOW_SECONDS} s",
                                    labels=["channel"])  # fmt: skip
        starts = CounterMetricFamily("vvtv_channel_viewings", "Viewings: one per viewer per programme watched",
                                     labels=["channel"])
        hours = CounterMetricFamily("vvtv_channel_viewer_hours", "Hours watched, from the distinct segments fetched",
                                    labels=["channel"])
        watching = dict(session.execute(
            select(Viewing.channel, func.count(func.distinct(Viewing.viewer)))
            .where(Viewing.last_us > now - VIEWERS_NOW_SECONDS * US).group_by(Viewing.channel)
        ).all())  # fmt: skip
        totals = {channel: (count, watched) for channel, count, watched in session.execute(
            select(Viewing.channel, func.count(), func.coalesce(func.sum(Viewing.watched_us), 0))
            .group_by(Viewing.channel)
        )}  # fmt: skip
        for channel in self.rt.settings.channels:
            count, watched = totals.get(channel.name, (0, 0))
            viewers.add_metric([channel.name], watching.get(channel.name, 0))
            starts.add_metric([channel.name], count)
            hours.add_metric([channel.name], watched / US / 3600)
        return [viewers, starts, hours]

    def _healing(self, session: Session) -> Iterable[Metric]:
        actions = CounterMetricFamily("vvtv_healing_actions", "What the channel did to repair itself, by event kind",
                                      labels=["action"])
        counted = dict(session.execute(
            select(Event.kind, func.count()).where(Event.kind.in_(HEALING_EVENTS)).group_by(Event.kind)
        ).all())  # fmt: skip
        for kind in HEALING_EVENTS:
            actions.add_metric([kind], counted.get(kind, 0))
        return [actions]

    def _curator(self, session: Session, beats: dict[str, Heartbeat]) -> Iterable[Metric]:
        pages = CounterMetricFamily("vvtv_curator_pages", "Video pages visited and judged (each became a plan)",
                                    labels=["channel"])
        approved = CounterMetricFamily("vvtv_plans_approved", "Plans the Curator approved", labels=["channel"])
        rejected = CounterMetricFamily("vvtv_plans_rejected", "Plans the Curator rejected, by kind of reason",
                                       labels=["channel", "reason"])
        plans = GaugeMetricFamily("vvtv_plans", "Plans by status", labels=["channel", "status"])
        rejected_counts: dict[tuple[str, str], int] = {}
        totals: dict[str, int] = {}
        approved_counts: dict[str, int] = {}
        for channel, status, reason, count in session.execute(
            select(Plan.channel, Plan.status, Plan.reason, func.count())
            .group_by(Plan.channel, Plan.status, Plan.reason)
        ):
            totals[channel] = totals.get(channel, 0) + count
            if status is PlanStatus.REJECTED:
                key = (channel, rejection_kind(reason))
                rejected_counts[key] = rejected_counts.get(key, 0) + count
            else:  # approved, then processed: done or failed in the Factory
                approved_counts[channel] = approved_counts.get(channel, 0) + count
        for channel, status, count in session.execute(
            select(Plan.channel, Plan.status, func.count()).group_by(Plan.channel, Plan.status)
        ):
            plans.add_metric([channel, status.value], count)
        for channel in sorted(totals):
            pages.add_metric([channel], totals[channel])
            approved.add_metric([channel], approved_counts.get(channel, 0))
        for (channel, kind), count in sorted(rejected_counts.items()):
            rejected.add_metric([channel, kind], count)
        families: list[Metric] = [pages, approved, rejected, plans]
        beat = beats.get("curator")
        report = CuratorStatus.from_heartbeat(beat.data if beat else {})
        memory = GaugeMetricFamily("vvtv_curator_browser_memory_bytes",
                                   "PSS of the Curator's Chromium and its children")
        if report.browser_memory_bytes is not None:
            memory.add_metric([], report.browser_memory_bytes)
        paused = GaugeMetricFamily("vvtv_curator_paused", "1 while the Curator waits for the machine's load to fall")
        paused.add_metric([], 1 if report.paused else 0)
        requests = CounterMetricFamily("vvtv_llm_requests", "Requests to the LLM judge (since the Curator started)")
        failures = CounterMetricFamily("vvtv_llm_failures",
                                       "Failed requests to the LLM judge (since the Curator started)")
        breaker = GaugeMetricFamily("vvtv_llm_breaker_state", "1 for the LLM circuit breaker's current state",
                                    labels=["state"])
        requests.add_metric([], report.llm_requests)
        failures.add_metric([], report.llm_failures)
        for state in ("closed", "open", "half-open"):
            breaker.add_metric([state], 1 if report.breaker == state else 0)
        return [*families, memory, paused, requests, failures, breaker]

    def _restream(self, beats: dict[str, Heartbeat]) -> Iterable[Metric]:
        sent = CounterMetricFamily("vvtv_restream_segments_sent", "Segments fed to the RTMP output", labels=["channel"])
        restarts = CounterMetricFamily("vvtv_restream_restarts", "Restarts of the RTMP output's ffmpeg",
                                       labels=["channel", "cause"])
        beat = beats.get("restream")
        for channel, info in sorted((beat.data.get("channels", {}) if beat else {}).items()):
            sent.add_metric([channel], info.get("segments_sent", 0))
            restarts.add_metric([channel, "exited"], info.get("restarts", 0) - info.get("stalls", 0))
            restarts.add_metric([channel, "stalled"], info.get("stalls", 0))
        return [sent, restarts]


# ----------------------------------------------------------------------------- the origin's own requests


def request_kind(path: str) -> str:
    """A bounded label for a request path."""
    if path.endswith(".m3u8"):
        return "playlist"
    if path.endswith(".ts"):
        return "segment"
    if path.startswith("/assets/"):
        return "asset"
    if path.startswith("/static/"):
        return "static"
    if path.startswith("/api/"):
        return "api"
    if path in ("/channels.m3u", "/epg.xml"):
        return "iptv"
    if path in ("/healthz", "/metrics"):
        return path.removeprefix("/")
    if path == "/" or path.startswith("/channels/"):
        return "page"
    return "other"


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class RequestCounter:
    """ASGI middleware counting every HTTP request by kind and status (pure ASGI: streamed files stay streamed)."""

    def __init__(self, app: ASGIApp, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:  # fmt: skip
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app fails before answering

        async def answering(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answering)
        finally:
            self.counter.labels(kind=request_kind(scope["path"]), status=str(status)).inc()


def origin_registry(rt: Runtime) -> tuple[CollectorRegistry, Counter]:
    """A registry of the channel's collector and the origin's request counter (one per app, not global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChannelCollector(rt))
    requests = Counter("vvtv_origin_requests", "HTTP requests the origin answered", ["kind", "status"],
                       registry=registry)  # fmt: skip
    return registry, requests
