"""Scoring a candidate programme: named, weighted components, each explained in one line.

    total = sum(weight_c * value_c)   over daypart, diversity, quality, freshness, audience

Values are in [0, 1] (daypart, quality, freshness: how good), [-1, 0] (diversity: a penalty
for more of the same) and [-1, 1] (audience: better or worse than the channel's average
retention). Pure functions of a Candidate and a ScoringContext: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from vvtv.clock import US
from vvtv.config import Daypart, ProgrammingSettings
from vvtv.origin.audience import AudienceStats

ENERGY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """What programming knows of a ready programme on one channel."""

    asset_id: int
    title: str
    tags: tuple[str, ...]  # lowercased; the first is its category
    source: str  # where it came from: a site's host, or a file
    duration_us: int
    ready_at_us: int
    vmaf: float | None = None
    source_height: int | None = None  # the picture the curator saw, before the Factory's ladder
    loudness_lufs: float | None = None
    judge_score: float | None = None  # the curator's judge, 0-1
    airings: int = 0  # times scheduled on this channel
    last_aired_us: int | None = None

    @property
    def category(self) -> str:
        return self.tags[0] if self.tags else ""

    @property
    def fresh(self) -> bool:
        return self.airings == 0


def source_of(url_or_path: str) -> str:
    host = urlsplit(url_or_path).hostname
    return host or url_or_path.rsplit("/", 1)[0]


def energy_of(candidate: Candidate, words: dict[str, list[str]]) -> str:
    """Low, medium or high, from words in the tags and title (medium when nothing says)."""
    text = set(candidate.tags) | set(candidate.title.lower().replace("-", " ").split())
    for level in ("high", "low"):
        if text & {w.lower() for w in words.get(level, [])}:
            return level
    return "medium"


@dataclass(frozen=True, kw_only=True)
class Recent:
    """An entry that aired (or will air) just before the pick: what diversity compares with."""

    asset_id: int
    category: str
    source: str
    tags: frozenset[str]


@dataclass(kw_only=True)
class ScoringContext:
    settings: ProgrammingSettings
    now_us: int
    daypart: Daypart | None
    recent: list[Recent]  # newest last, at most settings.diversity_window
    target_lufs: float
    audience: dict[int, AudienceStats] = field(default_factory=dict)
    channel_retention: float | None = None  # over every viewing of the channel


@dataclass(frozen=True, kw_only=True)
class Component:
    name: str
    value: float
    weight: float
    why: str

    @property
    def contribution(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True, kw_only=True)
class Score:
    total: float
    components: tuple[Component, ...]

    def reason(self) -> str:
        """The components that moved the score most, in words."""
        ranked = sorted(self.components, key=lambda c: -abs(c.contribution))
        return "; ".join(f"{c.name} {c.contribution:+.2f}: {c.why}" for c in ranked if c.weight)

    def as_record(self) -> dict:
        return {"total": round(self.total, 4), "components": {
            c.name: {"value": round(c.value, 4), "weight": c.weight, "contribution": round(c.contribution, 4),
                     "why": c.why} for c in self.components
        }}  # fmt: skip


def score(candidate: Candidate, ctx: ScoringContext) -> Score:
    weights = ctx.settings.weights
    components = (
        _daypart(candidate, ctx, weights.daypart),
        _diversity(candidate, ctx, weights.diversity),
        _quality(candidate, ctx, weights.quality),
        _freshness(candidate, ctx, weights.freshness),
        _audience(candidate, ctx, weights.audience),
    )
    return Score(total=sum(c.contribution for c in components), components=components)


def _daypart(c: Candidate, ctx: ScoringContext, weight: float) -> Component:
    part = ctx.daypart
    if part is None:
        return Component(name="daypart", value=0.5, weight=weight, why="no daypart at this hour")
    parts: list[float] = []
    words: list[str] = []
    if part.tags:
        matched = sorted(set(c.tags) & set(part.tags))
        parts.append(1.0 if matched else 0.0)
        words.append(f"tags {'match ' + ', '.join(matched) if matched else 'miss ' + '/'.join(part.tags)}")
    if part.energy:
        energy = energy_of(c, ctx.settings.energy_words)
        parts.append(1 - abs(ENERGY_RANK[energy] - ENERGY_RANK[part.energy]) / 2)
        words.append(f"energy {energy} (wants {part.energy})")
    minutes = c.duration_us / US / 60
    if minutes < part.min_minutes:
        parts.append(minutes / part.min_minutes)
    elif minutes > part.max_minutes:
        parts.append(part.max_minutes / minutes)
    else:
        parts.append(1.0)
    words.append(f"{minutes:.1f} min (wants {part.min_minutes:g}-{part.max_minutes:g})")
    return Component(name="daypart", value=sum(parts) / len(parts), weight=weight,
                     why=f"{part.name}: " + ", ".join(words))  # fmt: skip


def _diversity(c: Candidate, ctx: ScoringContext, weight: float) -> Component:
    recent = ctx.recent[-ctx.settings.diversity_window :] if ctx.settings.diversity_window else []
    if not recent:
        return Component(name="diversity", value=0.0, weight=weight, why="nothing before it to repeat")
    n = len(recent)
    same_category = sum(1 for r in recent if c.category and r.category == c.category)
    same_source = sum(1 for r in recent if r.source == c.source)
    tags = set(c.tags)
    overlap = sum(len(tags & r.tags) / len(tags | r.tags) for r in recent if tags | r.tags)
    penalty = (same_category + same_source + overlap) / (3 * n)
    why = (f"of the last {n}: {same_category} in category {c.category or '-'}, {same_source} from {c.source}, "
           f"tag overlap {overlap / n:.2f}")  # fmt: skip
    return Component(name="diversity", value=-penalty, weight=weight, why=why)


def _quality(c: Candidate, ctx: ScoringContext, weight: float) -> Component:
    parts: list[float] = []
    words: list[str] = []
    if c.vmaf is not None:
        parts.append(min(max((c.vmaf - 70) / 30, 0.0), 1.0))
        words.append(f"VMAF {c.vmaf:.1f}")
    if c.source_height:
        parts.append(min(c.source_height / 1080, 1.0))
        words.append(f"source {c.source_height}p")
    if c.loudness_lufs is not None:
        deviation = abs(c.loudness_lufs - ctx.target_lufs)
        parts.append(max(1 - deviation / 3, 0.0))
        words.append(f"loudness {deviation:.1f} LU off target")
    if c.judge_score is not None:
        parts.append(min(max(c.judge_score, 0.0), 1.0))
        words.append(f"judge {c.judge_score:.2f}")
    if not parts:
        return Component(name="quality", value=0.5, weight=weight, why="no measurements")
    return Component(name="quality", value=sum(parts) / len(parts), weight=weight, why=", ".join(words))


def _freshness(c: Candidate, ctx: ScoringContext, weight: float) -> Component:
    hours = max(ctx.now_us - c.ready_at_us, 0) / US / 3600
    value = 0.5 ** (hours / ctx.settings.freshness_half_life_hours)
    aired = "never aired" if c.fresh else f"aired {c.airings}x"
    return Component(name="freshness", value=value, weight=weight, why=f"ready {hours:.1f} h ago, {aired}")


def _audience(c: Candidate, ctx: ScoringContext, weight: float) -> Component:
    stats = ctx.audience.get(c.asset_id)
    mean = ctx.channel_retention
    if stats is None or not stats.starts or mean is None:
        return Component(name="audience", value=0.0, weight=weight, why="no viewer data yet")
    prior = ctx.settings.audience_prior_viewings
    # Shrunk towards the channel's mean: a few viewings move it a little, many move it fully.
    smoothed = (stats.retention * stats.starts + mean * prior) / (stats.starts + prior)
    value = min(max((smoothed - mean) / 0.5, -1.0), 1.0)
    why = (f"retention {stats.retention:.0%} over {stats.starts} viewing(s), avg {stats.average_watch_s:.0f} s "
           f"watched (channel {mean:.0%})")  # fmt: skip
    return Component(name="audience", value=value, weight=weight, why=why)

