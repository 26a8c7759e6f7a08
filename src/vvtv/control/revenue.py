"""What the ad breaks earn: impressions, estimated revenue and viewer-hours per channel and day.

Built on the viewer statistics (origin/audience.py): one Viewing row is one
viewer watching one timeline entry, counted from the segments they fetched. A
viewing of a break (an Asset of kind break, see broadcast/adbreaks.py) is one
ad impression: the viewer fetched at least one segment of it. Revenue is
estimated at the channel's configured CPM (per thousand impressions), as it is
set now. Viewer-hours add up the watch time of every viewing. A day is a UTC
day, by when the viewing started.

`vvtvctl revenue [--since DATE] [--json]` prints the table; the origin's
/metrics exposes the totals (revenue_families).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone

from prometheus_client.core import CounterMetricFamily
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.config import Settings
from vvtv.control.commands import ControlCommand, Params, register
from vvtv.errors import InputError
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, Viewing

DAY_US = 86_400 * US
HOUR_US = 3600 * US
DEFAULT_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class RevenueDay:
    channel: str
    day: str  # YYYY-MM-DD, UTC
    impressions: int
    revenue: float  # estimated, at the channel's CPM
    currency: str
    viewer_hours: float


def revenue_by_day(session: Session, settings: Settings, *, since_us: int) -> list[RevenueDay]:
    """One row per channel and day with viewings since since_us, oldest day first."""
    is_break = case((Asset.kind == AssetKind.BREAK, 1), else_=0)
    day = Viewing.first_us // DAY_US
    rows = session.execute(
        select(Viewing.channel, day, func.sum(is_break), func.sum(Viewing.watched_us))
        .join(Asset, Asset.id == Viewing.asset_id)
        .where(Viewing.first_us >= since_us)
        .group_by(Viewing.channel, day)
        .order_by(day, Viewing.channel)
    ).all()
    ads = {channel.name: channel.ads for channel in settings.channels}
    result = []
    for channel, day_number, impressions, watched_us in rows:
        if channel not in ads:  # a channel since removed from the settings: no CPM to apply
            continue
        result.append(RevenueDay(
            channel=channel,
            day=datetime.fromtimestamp(int(day_number) * DAY_US / US, tz=timezone.utc).date().isoformat(),
            impressions=int(impressions or 0),
            revenue=round(int(impressions or 0) * ads[channel].cpm / 1000, 6),
            currency=ads[channel].currency,
            viewer_hours=round(int(watched_us or 0) / HOUR_US, 6),
        ))  # fmt: skip
    return result


def revenue_families(session: Session, settings: Settings) -> Iterator[CounterMetricFamily]:
    """The totals since the first viewing, for the origin's /metrics (viewer-hours are there already)."""
    impressions = CounterMetricFamily("vvtv_ad_impressions", "Viewers who were shown an ad break", labels=["channel"])
    revenue = CounterMetricFamily("vvtv_ad_revenue_estimated", "Ad revenue estimated at the channel's CPM",
                                  labels=["channel", "currency"])  # fmt: skip
    totals: dict[str, tuple[int, float]] = {}
    for row in revenue_by_day(session, settings, since_us=0):
        count, money = totals.get(row.channel, (0, 0.0))
        totals[row.channel] = (count + row.impressions, money + row.revenue)
    for channel in settings.channels:
        count, money = totals.get(channel.name, (0, 0.0))
        impressions.add_metric([channel.name], count)
        revenue.add_metric([channel.name, channel.ads.currency], money)
    yield from (impressions, revenue)


def parse_since(text: str | None, now_us: int) -> int:
    """A date (YYYY-MM-DD, UTC) or an ISO date and time; none: the last DEFAULT_DAYS days."""
    if not text:
        return (now_us // DAY_US - DEFAULT_DAYS + 1) * DAY_US
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=timezone.utc)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise InputError(f"--since: {text!r} is not a date (YYYY-MM-DD) or an ISO date and time") from None
    return round(moment.timestamp() * US)


class RevenueParams(Params):
    since: str | None = None
    channel: str | None = None


def revenue_report(rt: Runtime, params: RevenueParams) -> dict:
    since_us = parse_since(params.since, rt.clock.now_us())
    if params.channel is not None:
        rt.settings.channel(params.channel)  # an unknown name is an error, not an empty table
    with rt.db.session() as session:
        days = revenue_by_day(session, rt.settings, since_us=since_us)
    rows = [asdict(day) for day in days if params.channel in (None, day.channel)]
    return {"since": datetime.fromtimestamp(since_us / US, tz=timezone.utc).isoformat(), "days": rows}


def render_revenue(data: dict) -> None:
    print(f"Since {data['since']}:")
    if not data["days"]:
        print("  no viewings")
        return
    print(f"  {'day':<10}  {'channel':<12} {'impressions':>11} {'revenue':>14} {'viewer-hours':>12}")
    for row in data["days"]:
        money = f"{row['revenue']:.2f} {row['currency']}"
        print(f"  {row['day']:<10}  {row['channel']:<12} {row['impressions']:>11} {money:>14} "
              f"{row['viewer_hours']:>12.2f}")  # fmt: skip


register(ControlCommand(name="revenue", params=RevenueParams, run=revenue_report,
                        help="ad impressions, estimated revenue and viewer-hours per channel and day"))  # fmt: skip
