"""The programming policy: which programmes air next on a channel, and why.

One round picks up to k entries:
1. candidates: ready programmes of the channel's profile, less the one just before and any
   that aired within min_repeat_hours (while another is eligible nothing repeats);
2. when the fresh buffer is short of its target, reruns are interleaved between first
   airings, so the fresh programmes last longer while discovery refills;
3. every candidate is scored (scoring.py), the scores sampled with Gumbel-top-k at the
   channel's temperature; with an LLM configured, the sampled candidates are reranked by it;
4. with probability epsilon, each pick instead goes to one of the least-aired candidates.

The random generator is seeded with the channel, the local day and the entry's ordinal,
so the same timeline and settings give the same picks: a day can be replayed.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.config import ProgrammingSettings, Settings
from vvtv.origin.audience import programme_stats
from vvtv.programming import candidates as db
from vvtv.programming.rerank import Reranker
from vvtv.programming.scoring import Candidate, Recent, Score, ScoringContext, score
from vvtv.programming.selection import explore, gumbel_top_k
from vvtv.storage.models import EntryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Pick:
    asset_id: int
    kind: EntryKind  # PROGRAMME for a first airing, RERUN otherwise
    reason: str
    score: dict  # the breakdown stored on the entry


@dataclass(kw_only=True)
class ChannelState:
    """What a fill reads from the database once; each entry it appends is noted here, in memory."""

    channel: str
    settings: ProgrammingSettings
    target_lufs: float
    brief: str
    audience: dict
    retention: float | None
    candidates: dict[int, Candidate]  # by asset id, in ready order
    recent: list[Recent]

    def aired(self, asset_id: int, start_us: int) -> None:
        """An entry of this asset was appended at start_us."""
        candidate = self.candidates.get(asset_id)
        if candidate is None:  # the slate, or an asset that is not a candidate any more
            return
        self.candidates[asset_id] = replace(candidate, airings=candidate.airings + 1, last_aired_us=start_us)
        self.recent.append(Recent(asset_id=asset_id, category=candidate.category, source=candidate.source,
                                  tags=frozenset(candidate.tags)))  # fmt: skip
        del self.recent[: -max(self.settings.diversity_window, 1)]


class Chooser:
    def __init__(self, settings: Settings, reranker: Reranker | None = None) -> None:
        self.settings = settings
        self.reranker = reranker

    def state(self, session: Session, channel: str, programming: ProgrammingSettings, now_us: int) -> ChannelState:
        profile_name = self.settings.channel(channel).profile
        since = now_us - round(programming.audience_days * 86_400 * US)
        return ChannelState(
            channel=channel, settings=programming,
            target_lufs=self.settings.profiles[profile_name].loudness_lufs, brief=self.settings.channel(channel).brief,
            audience=programme_stats(session, channel, since_us=since),
            retention=db.channel_retention(session, channel, since_us=since),
            candidates={c.asset_id: c for c in db.load_candidates(session, channel, profile_name)},
            recent=db.recent_entries(session, channel, programming.diversity_window),
        )  # fmt: skip

    def next_picks(
        self,
        session: Session,
        state: ChannelState,
        *,
        start_us: int,
        ordinal: int,
        previous_asset: int | None,
        previous_fresh: bool,
        fresh_low: bool,
    ) -> list[Pick]:
        """Up to top_k picks to air from start_us on; none when nothing is eligible (the emergency loop's turn)."""
        ps = state.settings
        everything = [c for c in state.candidates.values() if c.asset_id != previous_asset]
        if ps.strategy == "fifo":
            fresh = [c for c in everything if c.fresh]
            return [Pick(asset_id=fresh[0].asset_id, kind=EntryKind.PROGRAMME, reason="next in queue (fifo)",
                         score={})] if fresh else []  # fmt: skip
        window_us = round(ps.min_repeat_hours * 3600 * US)
        pool = [c for c in everything if c.last_aired_us is None or start_us - c.last_aired_us >= window_us]
        if not pool:
            return []
        k = ps.top_k
        interleave = ""
        if fresh_low:
            k = 1  # decide pick by pick, so reruns and first airings alternate
            reruns = [c for c in pool if not c.fresh]
            if previous_fresh and reruns and any(c.fresh for c in pool):
                pool = reruns
                interleave = "fresh buffer below target: a rerun between first airings; "
        local = datetime.fromtimestamp(start_us / US, tz=ZoneInfo(ps.timezone))
        ctx = ScoringContext(
            settings=ps, now_us=start_us, daypart=ps.daypart_at(local.hour + local.minute / 60),
            recent=state.recent, target_lufs=state.target_lufs,
            audience=state.audience, channel_retention=state.retention,
        )  # fmt: skip
        scores = [score(c, ctx) for c in pool]
        rng = np.random.default_rng([ps.seed, zlib.crc32(state.channel.encode()), local.toordinal(), ordinal])
        rerank = ps.rerank.enabled and self.reranker is not None and self.reranker.active
        sample = gumbel_top_k([s.total for s in scores], max(k, ps.rerank.candidates if rerank else k),
                              ps.temperature, rng)  # fmt: skip
        how = {i: f"sampled #{rank + 1} by Gumbel-top-k (T={ps.temperature:g})" for rank, i in enumerate(sample)}
        if rerank:
            assert self.reranker is not None
            lineup_since = start_us - round(ps.rerank.lineup_minutes * 60 * US)
            outcome = self.reranker.rerank(
                [pool[i] for i in sample], brief=state.brief, local_time=local.strftime("%A %H:%M"),
                lineup=db.lineup_titles(session, state.channel, since_us=lineup_since, until_us=start_us),
            )
            position = {c.asset_id: i for i, c in enumerate(pool)}
            sample = [position[asset_id] for asset_id in outcome.order]
            if outcome.by == "llm":
                how = {i: f"placed #{rank + 1} by the LLM rerank" for rank, i in enumerate(sample)}
            else:
                how = {i: f"{how[i]}; {outcome.why}" for i in sample}
        picks, explored = explore(sample[:k], [c.airings for c in pool], ps.exploration.epsilon, rng)
        return [
            self._pick(pool[i], scores[i], interleave + (
                f"exploration (epsilon {ps.exploration.epsilon:g}): one of the least aired, {pool[i].airings}x"
                if was_explored else how[i]))
            for i, was_explored in zip(picks, explored)
        ]  # fmt: skip

    @staticmethod
    def _pick(candidate: Candidate, s: Score, selection: str) -> Pick:
        record = s.as_record()
        record["selection"] = selection
        return Pick(
            asset_id=candidate.asset_id,
            kind=EntryKind.PROGRAMME if candidate.fresh else EntryKind.RERUN,
            reason=f"score {s.total:+.2f}, {selection}; {s.reason()}",
            score=record,
        )
