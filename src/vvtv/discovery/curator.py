"""The Curator: search sites in a real browser, watch what they offer, keep what is good.

For each site: open it, search for the query like a person, read the result
pages (following "next" up to a limit) and visit each result in a fresh
browser context: read its metadata, play its video and measure the playback,
check the channel's standards, then let the judge (LLM or deterministic)
score its fit to the channel's brief. Every page visited becomes a Plan,
APPROVED or REJECTED with its reason; approved ones are queued for the
Factory at once. Links refused for safety or politeness are reported and
logged as events, never fetched.

`discover_now()` is the operator's "now" (`vvtvctl discover`); `run()` is
the curator role: discovery on a schedule, and at once when the buffer of
content ahead runs low.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from vvtv.broadcast.buffer import BufferAhead, buffer_ahead
from vvtv.clock import US, iso
from vvtv.discovery import sites
from vvtv.discovery.playback import PlaybackReport, shortfall, watch
from vvtv.discovery.browser import BrowserCrashed, BrowserOptions, BrowserPage, BrowserSession, PageFailed
from vvtv.discovery.human import Human
from vvtv.discovery.metadata import COLLECT_SCRIPT, PageMetadata, parse_metadata, read_page
from vvtv.discovery.politeness import Politeness
from vvtv.discovery.schedule import DiscoverySchedule
from vvtv.discovery.status import CuratorStatus
from vvtv.errors import ConfigError, VVTVError
from vvtv.healing.load import LoadPause, LoadReading, load_per_core
from vvtv.healing.urgent import UrgentDiscovery
from vvtv.llm.breaker import BreakerState
from vvtv.llm.fallback import OPEN_LICENCE, DeterministicJudge, best_similarity
from vvtv.llm.judge import Judge
from vvtv.llm.records import Judgement, VideoFacts
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

KEPT, REJECTED, SKIPPED, FAILED = "kept", "rejected", "skipped", "failed"

log = logging.getLogger(__name__)


class PlanEvidence(BaseModel):
    """Everything measured and decided about a plan, stored in Plan.playback."""

    playback: PlaybackReport | None = None
    judgement: Judgement | None = None
    metadata_sources: dict[str, str] = Field(default_factory=dict)
    licence_url: str | None = None
    found_on: str = ""  # the results page that linked to it
    refused_requests: list[str] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list)  # what was done on the page, in order (consent, clicks, scrolls)


@dataclass(kw_only=True)
class Outcome:
    """What became of one link."""

    page_url: str
    status: str  # kept, rejected, skipped (not visited) or failed (the browser died; tried again next time)
    reason: str
    plan_id: int | None = None
    title: str = ""
    media_url: str | None = None
    judge: str | None = None
    score: float | None = None
    seconds: float = 0.0  # how long the visit and judgement took
    tried: list[str] = field(default_factory=list)  # what was done on the page (dialogs answered, clicks, scrolls)


@dataclass(kw_only=True)
class DiscoveryReport:
    query: str
    max_plans: int
    sites: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result_pages: int = 0
    browser_restarts: list[str] = field(default_factory=list)
    started_at_us: int = 0
    finished_at_us: int = 0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = {s: self.count(s) for s in (KEPT, REJECTED, SKIPPED, FAILED)}
        return data

    def render(self) -> str:
        seconds = (self.finished_at_us - self.started_at_us) / US
        lines = [f"Discovery {self.query!r} on {', '.join(self.sites)}: {self.result_pages} result pages, "
                 f"{len(self.outcomes)} links in {seconds:.0f} s"]  # fmt: skip
        lines += [f"  note: {note}" for note in self.notes]
        for status in (KEPT, REJECTED, SKIPPED, FAILED):
            chosen = [o for o in self.outcomes if o.status == status]
            lines.append(f"{status.capitalize()} ({len(chosen)}):")
            for o in chosen:
                plan = f"#{o.plan_id} " if o.plan_id else ""
                lines.append(f"  {plan}{o.title or o.page_url}")
                if o.title:
                    lines.append(f"      page {o.page_url}")
                if o.media_url:
                    lines.append(f"      media {o.media_url}")
                lines.append(f"      {o.reason}" + (f" ({o.seconds:.1f} s)" if o.seconds else ""))
                if o.tried and o.status == REJECTED:
                    lines.append(f"      tried: {'; '.join(o.tried)}")
        lines += [f"Browser restarted: {why}" for why in self.browser_restarts]
        return "\n".join(lines)


@dataclass(kw_only=True)
class Visit:
    """What a visit to a video page brought back, so far: a failed visit keeps what it had read."""

    found_on: str
    refused_requests: list[str]
    metadata: PageMetadata | None = None
    playback: PlaybackReport | None = None
    tried: list[str] = field(default_factory=list)

    def evidence(self) -> PlanEvidence:
        meta = self.metadata
        return PlanEvidence(
            playback=self.playback, metadata_sources=meta.sources if meta else {},
            licence_url=meta.licence_url if meta else None, found_on=self.found_on,
            refused_requests=self.refused_requests, tried=self.tried,
        )  # fmt: skip


class Curator:
    """One discovery at a time; the judge (and its breaker) lives as long as the Curator."""

    def __init__(self, rt: Runtime, *, judge: Judge | None = None, channel: str | None = None) -> None:
        self.rt = rt
        self.settings = rt.settings.discovery
        self.channel = rt.settings.channel(channel or rt.settings.origin.default_channel)
        self.sites = rt.settings.sites_for(self.channel.name)
        self.queries = rt.settings.queries_for(self.channel.name)
        self._owns_judge = judge is None  # a judge lent by the caller is closed by the caller
        self.judge = judge or Judge(
            rt.settings.llm, clock=rt.clock, on_breaker_change=self._breaker_changed,
            fallback=DeterministicJudge(*best_similarity(embeddings=rt.settings.llm.embeddings)),
        )  # fmt: skip
        self.profiles = sites.all_profiles(self.settings.site_profiles_dir)
        self._rng = random.Random(self.settings.seed)
        self._politeness = self._new_politeness()
        self.on_progress: Callable[[], None] = lambda: None  # called after every link (the role heartbeats)
        self._session: BrowserSession | None = None  # the browser of the discovery under way
        self.paused = False
        self.overloaded: Callable[[], bool] = lambda: False  # checked between links (the role's LoadPause)

    def _new_politeness(self) -> Politeness:
        return Politeness(
            clock=self.rt.clock, allowed_hosts=self.settings.allowed_hosts,
            min_interval_seconds=self.settings.min_interval_seconds, page_budget=self.settings.page_budget,
        )  # fmt: skip

    def status(self) -> CuratorStatus:
        session = self._session
        return CuratorStatus(
            browser_memory_bytes=session.memory_bytes() if session is not None and session.alive() else None,
            llm_requests=self.judge.llm_requests, llm_failures=self.judge.llm_failures,
            breaker=self.judge.breaker.state.value, paused=self.paused,
        )  # fmt: skip

    def _breaker_changed(self, state: BreakerState, why: str) -> None:
        self.rt.record_event("llm-breaker", f"LLM circuit breaker {state.value}: {why}", state=state.value)

    def browser(self) -> BrowserSession:
        """A browser session with the Curator's manners, not started yet."""
        options = BrowserOptions(
            executable=self.settings.chromium_executable(),
            headless=self.settings.headless,
            timeout_seconds=self.settings.page_timeout_seconds,
            max_page_bytes=self.settings.max_page_bytes,
            restart_after_pages=self.settings.restart_after_pages,
            max_memory_bytes=self.settings.browser_max_memory_mb * 1024 * 1024,
            user=self.settings.browser_user,
            allowed_hosts=list(self.settings.allowed_hosts),
        )
        return BrowserSession(options, policy=self._refusal)

    def _refusal(self, url: str) -> str | None:
        return self._politeness.refusal(url)  # the current discovery's manners

    async def discover(
        self, query: str, *, max_plans: int, site: str | None = None, browser: BrowserSession | None = None
    ) -> DiscoveryReport:
        targets = [site] if site else self.sites
        if not targets:
            raise ConfigError(f"channel {self.channel.name}: no site configured (discovery.start_sites and "
                              f"channels.{self.channel.name}.sites are empty) and no --site was given")  # fmt: skip
        profiles = [sites.resolve_site(t, self.profiles) for t in targets]
        report = DiscoveryReport(query=query, max_plans=max_plans, sites=[p.start_url for p in profiles],
                                 started_at_us=self.rt.clock.now_us())  # fmt: skip
        self._politeness = self._new_politeness()  # budgets and robots.txt are read afresh each time
        session = browser or self.browser()
        session.policy = self._refusal  # a session lent by the caller follows this Curator's manners too
        self._session = session
        if browser is None:
            await session.start()
        self._politeness.proxy = session.egress.url if session.egress else None  # robots.txt goes that way too
        try:
            for profile in profiles:
                if report.count(KEPT) >= max_plans:
                    break
                await self._site(session, profile, query, report)
        finally:
            report.browser_restarts = list(session.restarts)
            self._session = None
            if browser is None:
                await session.close()
        report.finished_at_us = self.rt.clock.now_us()
        self._enqueue_for_factory()
        summary = (f"discovery {query!r}: {report.count(KEPT)} kept, {report.count(REJECTED)} rejected, "
                   f"{report.count(SKIPPED)} skipped, {report.count(FAILED)} failed")  # fmt: skip
        if not report.result_pages:
            summary += "; " + "; ".join(report.notes)  # why no site was searched
        self.rt.record_event("discovery", summary, channel=self.channel.name, query=query, sites=report.sites,
                             notes=report.notes)  # fmt: skip
        return report

    def _human(self, page: BrowserPage) -> Human:
        # One seeded stream per discovery, split per page: the same run replays the same gestures.
        return Human(page, random.Random(self._rng.getrandbits(64)), pacing=self.settings.pacing)

    async def _site(self, session: BrowserSession, profile: sites.SiteProfile, query: str, report: DiscoveryReport) -> None:
        why = await self._politeness.before_page(profile.start_url)
        if why:
            report.notes.append(f"{profile.start_url}: not searched: {why}")
            return
        for _ in range(2):  # a browser that dies on the results pages gets one more chance
            try:
                await self._search_and_visit(session, profile, query, report)
                return
            except BrowserCrashed as exc:
                report.notes.append(f"{profile.start_url}: {exc}; searching again")
                await session.ensure_running()
            except PageFailed as exc:
                report.notes.append(f"{profile.start_url}: {exc}")
                return

    async def _search_and_visit(
        self, session: BrowserSession, profile: sites.SiteProfile, query: str, report: DiscoveryReport
    ) -> None:
        results = await session.new_page()
        try:
            await results.goto(profile.start_url)
            human = self._human(results)
            await human.glance()
            how = await sites.search(results, human, profile, query)
            if how is None:
                report.notes.append(f"{profile.start_url}: no search box found; links taken from the page itself")
            else:
                report.notes.append(f"{profile.start_url}: searched through {how}")
            for number in range(1, self.settings.max_result_pages + 1):
                report.result_pages += 1
                await human.scroll(results.viewport[1] * human.rng.uniform(0.3, 0.8))  # skim the results
                for link in await sites.result_links(results, profile):
                    if report.count(KEPT) >= report.max_plans:
                        return
                    if self.rt.stop.is_set():
                        report.notes.append("stopped early: the curator was asked to stop")
                        return
                    if self.overloaded():
                        report.notes.append("stopped early: the machine is overloaded")
                        return
                    if any(o.page_url == link for o in report.outcomes):
                        continue  # on an earlier results page, or seen before the browser died
                    began = time.monotonic()
                    outcome = await self._visit_link(session, link, results.url, profile)
                    outcome.seconds = round(time.monotonic() - began, 2)
                    report.outcomes.append(outcome)
                    self.on_progress()
                if number == self.settings.max_result_pages or report.count(KEPT) >= report.max_plans:
                    return
                next_url = await sites.find_next(results, profile)
                if next_url is None:
                    return
                why = await self._politeness.before_page(next_url)
                if why:
                    report.notes.append(f"{next_url}: next results page not opened: {why}")
                    return
                if not await sites.follow_next(results, human):
                    await results.goto(next_url, referer=results.url)
        finally:
            await results.close()

    async def _visit_link(
        self, session: BrowserSession, url: str, found_on: str, profile: sites.SiteProfile | None = None
    ) -> Outcome:
        known = self._known_plan(Plan.page_url == url)
        if known:
            return Outcome(page_url=url, status=SKIPPED, reason=f"already planned as #{known.id} ({known.status.value})",
                           plan_id=known.id)  # fmt: skip
        why = await self._politeness.before_page(url)
        if why:
            self.rt.record_event("discovery-refused", f"{url}: {why}", channel=self.channel.name, url=url)
            return Outcome(page_url=url, status=SKIPPED, reason=why)
        page = await session.new_page()
        visit = Visit(found_on=found_on, refused_requests=page.refused)
        try:
            await self._visit(page, url, visit, profile.play_control if profile else None)
        except PageFailed as exc:
            if not await session.healthy():
                # Not the page's fault: the whole browser stopped answering.
                return await self._browser_failed(session, url, f"the browser stopped answering on {url}")
            return self._reject(url, visit, str(exc))
        except BrowserCrashed as exc:
            return await self._browser_failed(session, url, str(exc))
        except SQLAlchemyError:
            raise  # the database's trouble, not the page's: the link stays unvisited
        except Exception as exc:  # noqa: BLE001 - whatever a page's scripts broke, the link is settled, not retried forever
            return self._broken_by_page(url, visit, exc)
        finally:
            await page.close()
        try:
            return await self._decide(url, visit)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # noqa: BLE001 - values read from the page may still trip the standards or the judge
            return self._broken_by_page(url, visit, exc)

    def _reject(self, url: str, visit: Visit, reason: str) -> Outcome:
        try:
            return self._save(url, visit.metadata, visit.playback, visit.evidence(), PlanStatus.REJECTED, reason)
        except SQLAlchemyError:
            if visit.metadata is None and visit.playback is None:
                raise  # nothing from the page in it: the database itself is in trouble
            # Something the page said cannot be stored (the database refused it): the rejection stands without it.
            bare = Visit(found_on=visit.found_on, refused_requests=visit.refused_requests, tried=visit.tried)
            return self._save(url, None, None, bare.evidence(), PlanStatus.REJECTED,
                              f"{reason} (what the page said could not be stored)")  # fmt: skip

    def _broken_by_page(self, url: str, visit: Visit, exc: Exception) -> Outcome:
        log.warning("curator: %s broke the visit", url, exc_info=exc)
        what = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        self.rt.record_event("discovery-page-error", f"{url}: {what}", channel=self.channel.name, url=url)
        return self._reject(url, visit, f"the page broke the curator's visit ({what})")

    async def _browser_failed(self, session: BrowserSession, url: str, why: str) -> Outcome:
        """The browser died or hung on this page: restart it; the page is tried again next time."""
        await session.ensure_running()
        self.rt.record_event("browser-restarted", f"{url}: {why}", channel=self.channel.name, url=url)
        return Outcome(page_url=url, status=FAILED, reason=f"{why}; the browser was restarted")

    async def _visit(self, page: BrowserPage, url: str, visit: Visit, play_control: str | None) -> None:
        """Fill `visit` as the visit goes, so that a failure part-way keeps what was read."""
        await page.goto(url, referer=visit.found_on)
        human = self._human(page)
        await human.glance()
        raw = read_page(await page.main.evaluate(COLLECT_SCRIPT))
        visit.metadata = parse_metadata(raw)
        visit.playback = await watch(page, human, self.settings, visit.tried, play_control=play_control)

    def _standards(self, playback: PlaybackReport, meta: PageMetadata) -> str | None:
        """Why the video falls short of the channel's standards before any judge is asked, or None."""
        short = shortfall(playback, self.settings)
        if short:
            return short
        if playback.live:
            return f"a live stream ({playback.live}): only recordings of a known length can be broadcast"
        if playback.duration_s is None:
            return "unknown length: the player reports no finite duration, so it cannot be broadcast"
        if not playback.media_url:
            return "the media URL could not be captured from the network"
        duration = playback.duration_s
        if duration is not None and duration < self.settings.min_duration_seconds:
            return f"too short: {duration:.0f} s (the minimum is {self.settings.min_duration_seconds:g} s)"
        if duration is not None and duration > self.settings.max_duration_seconds:
            return f"too long: {duration:.0f} s (the maximum is {self.settings.max_duration_seconds:g} s)"
        if self.settings.require_open_licence and not (meta.licence and OPEN_LICENCE.search(meta.licence)):
            return f"no open licence found on the page (found: {meta.licence or 'nothing'})"
        return None

    async def _decide(self, url: str, visit: Visit) -> Outcome:
        meta, report = visit.metadata, visit.playback
        assert meta is not None and report is not None  # a visit that got here read both
        evidence = visit.evidence()
        reason = self._standards(report, meta)
        if reason is None and report.media_url:
            twin = self._known_plan(Plan.media_url == report.media_url)
            if twin:
                reason = f"same media as plan #{twin.id} ({twin.page_url})"
        if reason:
            return self._save(url, meta, report, evidence, PlanStatus.REJECTED, reason)
        facts = VideoFacts(title=meta.title, description=meta.description, tags=meta.tags,
                           duration_s=report.duration_s or meta.duration_s, licence=meta.licence, page_url=url,
                           height=report.height)  # fmt: skip
        judgement = await asyncio.to_thread(self.judge.judge, facts, self.channel.brief)
        evidence.judgement = judgement
        keep = judgement.score >= self.settings.min_score
        verdict = (f"score {judgement.score:.2f} {'≥' if keep else '<'} {self.settings.min_score:.2f} by "
                   f"{judgement.judge} ({judgement.why_this_judge}): {'; '.join(judgement.reasons)}")  # fmt: skip
        return self._save(url, meta, report, evidence, PlanStatus.APPROVED if keep else PlanStatus.REJECTED, verdict)

    def _known_plan(self, condition: Any) -> Plan | None:
        with self.rt.db.session() as db:
            return db.scalars(select(Plan).where(condition).limit(1)).first()

    def _save(
        self,
        url: str,
        meta: PageMetadata | None,
        report: PlaybackReport | None,
        evidence: PlanEvidence,
        status: PlanStatus,
        reason: str,
    ) -> Outcome:
        now = self.rt.clock.now_us()
        judgement = evidence.judgement
        tags = list(dict.fromkeys([*(meta.tags if meta else []), *(judgement.tags if judgement else [])]))
        plan = Plan(
            channel=self.channel.name, page_url=url, media_url=report.media_url if report else None,
            title=meta.title if meta else "", description=meta.description if meta else "", tags=tags,
            licence=meta.licence if meta else None, thumbnail_url=meta.thumbnail_url if meta else None,
            duration_s=(report.duration_s if report else None) or (meta.duration_s if meta else None),
            width=report.width if report else None, height=report.height if report else None,
            playback=evidence.model_dump(mode="json"), score=judgement.score if judgement else None,
            judge=judgement.judge if judgement else None, status=status, reason=reason,
            created_at_us=now, updated_at_us=now,
        )  # fmt: skip
        try:
            with self.rt.db.session() as db:
                db.add(plan)
        except IntegrityError:
            # Another curator saved the same page a moment ago: theirs stands.
            return Outcome(page_url=url, status=SKIPPED, reason="already planned (saved meanwhile)")
        return Outcome(
            page_url=url, status=KEPT if status is PlanStatus.APPROVED else REJECTED, reason=reason, plan_id=plan.id,
            title=plan.title, media_url=plan.media_url, judge=plan.judge, score=plan.score, tried=evidence.tried,
        )  # fmt: skip

    def _enqueue_for_factory(self) -> None:
        from vvtv.processing import jobs

        jobs.enqueue_approved(self.rt.db, self.rt.clock, max_attempts=self.rt.settings.factory.max_attempts)

    def close(self) -> None:
        if self._owns_judge:
            self.judge.close()


def discover_now(rt: Runtime, query: str, *, max_plans: int, site: str | None = None,
                 channel: str | None = None) -> DiscoveryReport:  # fmt: skip
    """Run one discovery to the end, in this process (`vvtvctl discover`)."""
    curator = Curator(rt, channel=channel)
    try:
        return asyncio.run(curator.discover(query, max_plans=max_plans, site=site))
    finally:
        curator.close()


@dataclass(kw_only=True)
class ChannelDiscovery:
    """The curator role's work for one channel: its Curator (brief, sites, queries), schedule and state."""

    curator: Curator
    plan: DiscoverySchedule
    buffer: BufferAhead = field(default_factory=lambda: BufferAhead(fresh_us=0, scheduled_us=0, in_factory_us=0))
    runs: int = 0
    state: str = "starting"  # one line for people: what the curator does for this channel, and why
    last: str = "no discovery yet"

    @property
    def name(self) -> str:
        return self.curator.channel.name

    def discover(self, rt: Runtime, why: str, beat: Callable[[], None]) -> None:
        now = rt.clock.now_us()
        self.plan.last_run_us = now
        queries = self.curator.queries
        query = queries[self.runs % len(queries)]  # take turns through the queries
        self.runs += 1
        self.state = f"discovering {query!r}: {why}"
        rt.record_event("discovery-start", self.state, channel=self.name)
        beat()
        try:
            report = asyncio.run(self.curator.discover(query, max_plans=rt.settings.discovery.max_plans))
            self.plan.reached_no_site = report.result_pages == 0
            self.last = f"last discovery at {iso(now)}: {report.count(KEPT)} kept, {report.count(REJECTED)} rejected"
        except VVTVError as exc:
            # The web, the browser or a setting failed this time; the next run tries again.
            rt.record_event("discovery-failed", f"discovery {query!r} failed: {exc}", channel=self.name)
            self.last = f"last discovery at {iso(now)} failed: {exc}"
        self.state = f"waiting; {self.last}"


def run(rt: Runtime, *, read_load: LoadReading = load_per_core) -> None:
    """The curator role: for every channel, with its own brief, sites and queries, discover on a
    schedule and at once when its buffer runs low (urgently below the target: healing/urgent.py);
    a channel without a site is left idle, saying so. Nothing starts while the machine is
    overloaded (healing/load.py)."""
    started = rt.clock.now_us()
    rt.heartbeat("curator", started, status="starting: loading the judge")  # the embedding model takes a while
    first = Curator(rt, channel=rt.settings.channels[0].name)
    # One judge for every channel: one LLM behind one circuit breaker.
    channels = [
        ChannelDiscovery(
            curator=first if c.name == first.channel.name else Curator(rt, judge=first.judge, channel=c.name),
            plan=DiscoverySchedule.from_settings(rt.settings),
        )
        for c in rt.settings.channels
    ]

    urgency = UrgentDiscovery(rt)
    load = LoadPause(rt, read=read_load)

    def beat(active: Curator = first, **extra: Any) -> None:
        rt.heartbeat(
            "curator", started, status="; ".join(f"{c.name}: {c.state}" for c in channels),
            channels={c.name: {**c.buffer.as_dict(), "status": c.state} for c in channels},
            **active.status().as_heartbeat(), **extra,
        )  # fmt: skip

    for work in channels:
        if not work.curator.sites:
            work.state = f"idle: no site configured (set discovery.start_sites or channels.{work.name}.sites)"
            log.warning("curator: channel %s %s", work.name, work.state)
        # Heartbeats go on during a discovery (which takes minutes), with the buffer last measured.
        work.curator.on_progress = lambda active=work.curator: beat(active, discovering=True)
        work.curator.overloaded = load.check
    try:
        while not rt.stop.is_set():
            paused = load.check()
            for work in channels:
                work.curator.paused = paused
                if rt.stop.is_set() or not work.curator.sites:
                    continue
                now = rt.clock.now_us()
                with rt.db.session() as session:
                    work.buffer = buffer_ahead(session, work.name, work.curator.channel.profile, now)
                urgent = urgency.check(work.name, now, work.buffer)
                if paused:
                    work.state = f"paused: the machine is overloaded; {work.last}"
                    continue
                why = work.plan.due(now, work.buffer) or urgent
                if why:
                    work.discover(rt, why, lambda active=work.curator: beat(active, discovering=True))
                else:
                    work.state = f"waiting: {work.buffer.describe()}; {work.last}"
            beat(last_discovery_us=max((c.plan.last_run_us or 0 for c in channels), default=0) or None)
            rt.stop.wait(rt.settings.discovery.buffer_check_seconds)
    finally:
        for work in channels:
            work.curator.close()
