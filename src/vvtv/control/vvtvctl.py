"""`vvtvctl`: inspects and controls a running VVTV. Every command that shows data takes --json.

It reads the database and the playlists on disk, so it works whether or not
the roles are running, and tells which of them are alive.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass

from pydantic import Field
from sqlalchemy import func, select

from vvtv.broadcast import schedule
from vvtv.broadcast.buffer import buffer_ahead
from vvtv.broadcast.playlists import read_published
from vvtv.clock import US, SystemClock, iso
from vvtv.config import Settings, load_settings
from vvtv.control.commands import ControlCommand, Params, register, run_command
from vvtv.control.operator import LIVE_OUTPUT_ROLES, render_emergency, render_restart
from vvtv.control.revenue import render_revenue
from vvtv.processing.jobs import active_jobs
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetStatus, Event, Heartbeat, Job, Plan, ScheduleEntry

ALIVE_SECONDS = 30  # a role whose last heartbeat is older than this is shown as down


@dataclass(kw_only=True)
class EntryView:
    ordinal: int
    start: str
    end: str
    title: str
    kind: str
    reason: str
    asset_id: int
    duration_s: float
    first_seq: int
    score: dict  # the programming score breakdown that chose it (empty for the emergency loop)


def _entry_view(entry: ScheduleEntry) -> EntryView:
    return EntryView(
        ordinal=entry.ordinal, start=iso(entry.start_us), end=iso(entry.end_us), title=entry.asset.title,
        kind=entry.kind.value, reason=entry.reason, asset_id=entry.asset_id,
        duration_s=entry.duration_us / US, first_seq=entry.first_seq, score=entry.score or {},
    )  # fmt: skip


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open(args: argparse.Namespace) -> Runtime:
    return Runtime.open(load_settings(args.set))


def channel_names(settings: Settings, channel: str | None) -> list[str]:
    return [settings.channel(channel).name] if channel else [c.name for c in settings.channels]


def queue_show(rt: Runtime, channels: list[str], limit: int) -> dict:
    now = SystemClock().now_us()
    result = {}
    with rt.db.session() as session:
        for name in channels:
            rows = session.scalars(
                select(ScheduleEntry)
                .where(ScheduleEntry.channel == name, ScheduleEntry.start_us + ScheduleEntry.duration_us > now)
                .order_by(ScheduleEntry.ordinal)
                .limit(limit)
            ).all()
            result[name] = {
                **buffer_ahead(session, name, rt.settings.channel(name).profile, now).as_dict(),
                "entries": [asdict(_entry_view(r)) for r in rows],
                "jobs": [asdict(job) for job in active_jobs(session, name)],
            }
    return result


def streaming_status(rt: Runtime, channels: list[str]) -> dict:
    """What is on disk (what viewers get) next to what the timeline says should be by now."""
    now = SystemClock().now_us()
    with rt.db.session() as session:
        beat = session.get(Heartbeat, "broadcaster")
        result = {}
        for name in channels:
            timeline = schedule.load_timeline(session, name, ending_after_us=now - 60 * US)
            on_air = timeline.on_air(now)
            expected = timeline.window(now, 1)
            top = rt.settings.profile_for(name).top.name
            playlist = rt.settings.media_dir / "channels" / name / f"{top}.m3u8"
            published = read_published(playlist)
            channel_beat = (beat.data.get("channels", {}) if beat else {}).get(name, {})
            on_air_row = (
                session.scalars(
                    select(ScheduleEntry).where(ScheduleEntry.channel == name, ScheduleEntry.ordinal == on_air.ordinal)
                ).one()
                if on_air
                else None
            )
            result[name] = {
                "on_air": asdict(_entry_view(on_air_row)) if on_air_row else None,
                "media_sequence": published.media_sequence if published else None,
                "newest_segment": published.newest_seq if published else None,
                "segments_published": published.newest_seq + 1 if published else 0,
                "expected_newest_segment": expected[0].seq if expected else None,
                "last_tick": iso(channel_beat["last_write_us"]) if channel_beat.get("last_write_us") else None,
                # How long after their segment boundaries this broadcaster's writes were done.
                "lateness_p99_ms": channel_beat.get("lateness_p99_ms"),
                "lateness_max_ms": channel_beat.get("lateness_max_ms"),
                "lateness_samples": channel_beat.get("lateness_samples", 0),
                "playlist_age_s": round(now / US - playlist.stat().st_mtime, 2) if published else None,
                "broadcaster_alive": bool(beat and _pid_alive(beat.pid) and now - beat.at_us < ALIVE_SECONDS * US),
            }
    return result


def status(rt: Runtime) -> dict:
    now = SystemClock().now_us()
    with rt.db.session() as session:
        roles = {
            b.role: {
                "pid": b.pid,
                "alive": _pid_alive(b.pid) and now - b.at_us < ALIVE_SECONDS * US,
                "last_heartbeat": iso(b.at_us),
                "up_since": iso(b.started_at_us),
                "status": (b.data or {}).get("status"),  # the role's own one line, if it writes one
            }
            for b in session.scalars(select(Heartbeat))
        }
        channels = {}
        for channel in rt.settings.channels:
            timeline = schedule.load_timeline(session, channel.name, ending_after_us=now)
            on_air = timeline.on_air(now)
            upcoming = timeline.upcoming(now, 1)
            channels[channel.name] = {
                "on_air": on_air.title if on_air else None,
                "next": upcoming[0].title if upcoming else None,
                **buffer_ahead(session, channel.name, channel.profile, now).as_dict(),
            }
        counts = {
            "assets_ready": session.scalar(select(func.count()).select_from(Asset).where(Asset.status == AssetStatus.READY)),
            "plans": dict(session.execute(select(Plan.status, func.count()).group_by(Plan.status)).all()),
            "jobs": dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all()),
        }
        counts["plans"] = {k.value: v for k, v in counts["plans"].items()}
        counts["jobs"] = {k.value: v for k, v in counts["jobs"].items()}
        events = [
            {"at": iso(e.at_us), "kind": e.kind, "channel": e.channel, "message": e.message}
            for e in session.scalars(select(Event).order_by(Event.id.desc()).limit(8))
        ]
    return {"roles": roles, "channels": channels, "counts": counts, "recent_events": events}


def _call(args: argparse.Namespace, name: str, **values: object) -> dict:
    """Run a control command here, or with --url on the remote channel's origin: the same JSON either way."""
    if args.url:
        from vvtv.control.remote import call_remote

        return call_remote(args.url, name, values, token=load_settings(args.set).control.token)
    return run_command(_open(args), name, values)


class ChannelParams(Params):
    channel: str | None = None  # default: every channel


class QueueParams(ChannelParams):
    limit: int = Field(default=20, ge=1, le=1000)


register(ControlCommand(name="status", params=Params, run=lambda rt, _p: status(rt),
                        help="roles, channels, counts, recent events"))  # fmt: skip
register(ControlCommand(name="queue.show", params=QueueParams, help="upcoming entries, buffer minutes, jobs",
                        run=lambda rt, p: queue_show(rt, channel_names(rt.settings, p.channel), p.limit)))  # fmt: skip
register(ControlCommand(name="streaming.status", params=ChannelParams, help="on air, segments published, playlist age",
                        run=lambda rt, p: streaming_status(rt, channel_names(rt.settings, p.channel))))  # fmt: skip


def _emit(args: argparse.Namespace, data: dict, render) -> None:  # noqa: ANN001
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        render(data)


def _buffer_text(info: dict) -> str:
    return (f"fresh programmes {info['fresh_programme_minutes_ahead']:.1f} min ahead, "
            f"scheduled {info['scheduled_minutes_ahead']:.1f} min ahead")  # fmt: skip


def _render_status(data: dict) -> None:
    print("Roles:")
    for role, info in sorted(data["roles"].items()):
        state = "up" if info["alive"] else "DOWN"
        print(f"  {role:<12} {state:<5} pid {info['pid']:<8} last heartbeat {info['last_heartbeat']}")
        if info.get("status"):
            print(f"  {'':<12} {info['status']}")
    print("Channels:")
    for name, info in data["channels"].items():
        print(f"  {name:<12} on air: {info['on_air'] or '-'} | next: {info['next'] or '-'} | "
              f"{_buffer_text(info)}")  # fmt: skip
    counts = data["counts"]
    print(f"Assets ready: {counts['assets_ready']}  plans: {counts['plans'] or {}}  jobs: {counts['jobs'] or {}}")
    print("Recent events:")
    for event in data["recent_events"]:
        print(f"  {event['at']}  {event['kind']:<20} {event['message']}")


def _render_queue(data: dict) -> None:
    for name, info in data.items():
        print(f"Channel {name}: {_buffer_text(info)}")
        for e in info["entries"]:
            print(f"  #{e['ordinal']:<5} {e['start']}  {e['duration_s']:7.1f} s  {e['kind']:<9} {e['title']}")
            print(f"         why: {e['reason']}")
        if info["jobs"]:
            print(f"  In the Factory: {len(info['jobs'])} job(s)")
        for j in info["jobs"]:
            print(f"    job {j['job_id']:<5} {j['state']:<8} {j['step'] or '-':<8} {j['percent']:3d}%  "
                  f"attempt {j['attempts']}/{j['max_attempts']}  {j['title']}")  # fmt: skip


def _render_streaming(data: dict) -> None:
    for name, info in data.items():
        on_air = info["on_air"]
        print(f"Channel {name}: broadcaster {'up' if info['broadcaster_alive'] else 'DOWN'}")
        print(f"  on air:        {on_air['title'] + ' (since ' + on_air['start'] + ')' if on_air else '-'}")
        print(f"  media sequence {info['media_sequence']}, newest segment {info['newest_segment']} "
              f"(timeline says {info['expected_newest_segment']}), {info['segments_published']} segments published")  # fmt: skip
        print(f"  last tick:     {info['last_tick'] or '-'}")
        if info["lateness_samples"]:
            print(f"  lateness:      p99 {info['lateness_p99_ms']:.1f} ms, max {info['lateness_max_ms']:.1f} ms "
                  f"after the boundary, over {info['lateness_samples']} writes")  # fmt: skip
        age = info["playlist_age_s"]
        print(f"  playlist age:  {f'{age:.1f} s' if age is not None else '-'}")


def _render_business_logic(data: dict) -> None:
    for name, info in data.items():
        p = info["effective"]
        print(f"Channel {name}: strategy {p['strategy']}, temperature {p['temperature']}, top_k {p['top_k']}, "
              f"epsilon {p['exploration']['epsilon']}, timezone {p['timezone']}")  # fmt: skip
        print("  weights:   " + ", ".join(f"{k} {v:g}" for k, v in p["weights"].items()))
        print(f"  diversity: last {p['diversity_window']} entries; no repeat within {p['min_repeat_hours']:g} h")
        for d in p["dayparts"]:
            print(f"  daypart {d['name']:<11} {d['start_hour']:05.2f}-{d['end_hour']:05.2f}  tags {','.join(d['tags']) or '-'}"
                  f"  energy {d['energy'] or '-'}  {d['min_minutes']:g}-{d['max_minutes']:g} min")  # fmt: skip
        print(f"  rerank:    {'on' if p['rerank']['enabled'] else 'off'} (top {p['rerank']['candidates']}, "
              f"{p['rerank']['timeout_seconds']:g} s timeout; only with llm.base_url)")  # fmt: skip
        overrides = ", ".join(f"{k}={json.dumps(v)}" for k, v in info["overrides"].items())
        print(f"  set at run time: {overrides or 'nothing (config file only)'}")
        if info["note"]:
            print(f"  note: {info['note']}")


class BusinessSetParams(ChannelParams):
    assignments: list[str] = Field(min_length=1)  # KEY=VALUE under [programming]


def _business(run_name: str):  # noqa: ANN202
    def run(rt: Runtime, p: ChannelParams) -> dict:
        from vvtv.programming import business

        if run_name == "show":
            return business.show(rt, channel_names(rt.settings, p.channel))
        if run_name == "set":
            return business.set_values(rt, p.assignments, p.channel)
        return business.reset(rt, p.channel)

    return run


register(ControlCommand(name="business-logic.show", params=ChannelParams, run=_business("show"),
                        help="effective programming weights, dayparts, temperature, k, epsilon"))  # fmt: skip
register(ControlCommand(name="business-logic.set", params=BusinessSetParams, run=_business("set"),
                        help="change programming settings at run time, validated"))  # fmt: skip
register(ControlCommand(name="business-logic.reset", params=ChannelParams, run=_business("reset"),
                        help="drop run-time programming changes"))  # fmt: skip


def _render_business_set(result: dict) -> None:
    changed = ", ".join(f"{k}={json.dumps(v)}" for k, v in result["changed"].items())
    print(f"Stored for {result['channel']}: {changed}; the programmer applies it at its next fill")
    _render_business_logic(result["effective"])


def business_logic(args: argparse.Namespace) -> None:
    if args.business_command == "show":
        _emit(args, _call(args, "business-logic.show", channel=args.channel), _render_business_logic)
    elif args.business_command == "set":
        result = _call(args, "business-logic.set", channel=args.channel, assignments=args.assignments)
        _emit(args, result, _render_business_set)
    else:
        result = _call(args, "business-logic.reset", channel=args.channel)
        _emit(args, result, lambda r: print(f"Run-time programming changes removed for {r['channel']} "
                                            f"({r['removed_overrides']} stored); the config file applies"))  # fmt: skip


def discover(args: argparse.Namespace) -> None:
    """Run a discovery now, in this process, and print what was found, kept and rejected."""
    from vvtv.discovery.curator import discover_now

    rt = _open(args)
    query = args.query or rt.settings.queries_for(args.channel or rt.settings.origin.default_channel)[0]
    max_plans = args.max_plans or rt.settings.discovery.max_plans
    report = discover_now(rt, query, max_plans=max_plans, site=args.site, channel=args.channel)
    _emit(args, report.as_dict(), lambda _data: print(report.render()))


def build_parser() -> argparse.ArgumentParser:
    from vvtv.cli import CommandParser

    parser = CommandParser(prog="vvtvctl", description="Inspect and control VVTV.")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.set_defaults(json=False)
    commands = parser.add_subparsers(dest="command", required=True)

    parser.add_argument("--url", help="control a remote channel through its origin's control API "
                        "(token: VVTV_CONTROL__TOKEN)")  # fmt: skip
    commands.add_parser("status", help="roles, channels, counts, recent events").set_defaults(
        func=lambda a: _emit(a, _call(a, "status"), _render_status)
    )

    queue = commands.add_parser("queue", help="the upcoming schedule").add_subparsers(dest="queue_command", required=True)
    show = queue.add_parser("show", help="upcoming entries with start times, buffer minutes")
    show.add_argument("--channel")
    show.add_argument("--limit", type=int, default=20)
    show.set_defaults(func=lambda a: _emit(a, _call(a, "queue.show", channel=a.channel, limit=a.limit), _render_queue))

    streaming = commands.add_parser("streaming", help="the live output").add_subparsers(
        dest="streaming_command", required=True
    )
    stream_status = streaming.add_parser("status", help="on air now, segments published, last tick, playlist age")
    stream_status.add_argument("--channel")
    stream_status.set_defaults(
        func=lambda a: _emit(a, _call(a, "streaming.status", channel=a.channel), _render_streaming)
    )
    emergency = streaming.add_parser("emergency", help="put programmes (or the slate) on air right after the "
                                     "entry on air, with the reason; or --clear them")  # fmt: skip
    emergency.add_argument("--inject", type=int, metavar="N", help="the N newest ready programmes")
    emergency.add_argument("--asset", type=int, action="append", default=[], metavar="ID",
                           help="these programmes instead, in this order (repeatable)")  # fmt: skip
    emergency.add_argument("--reason", default="", help="why: recorded with the entries and in an event")
    emergency.add_argument("--clear", action="store_true", help="remove injected entries that have not started")
    emergency.add_argument("--channel", help="default: origin.default_channel")
    emergency.set_defaults(func=lambda a: _emit(a, _call(
        a, "streaming.emergency", channel=a.channel, inject=a.inject, assets=a.asset, reason=a.reason, clear=a.clear,
    ), render_emergency))  # fmt: skip
    again = streaming.add_parser("restart", help="restart the broadcaster and RTMP output cleanly (via `vvtv up`)")
    again.add_argument("--role", action="append", metavar="ROLE",
                       help=f"restart this role instead (repeatable; default: {' and '.join(LIVE_OUTPUT_ROLES)})")
    again.set_defaults(func=lambda a: _emit(a, _call(a, "streaming.restart", **({"roles": a.role} if a.role else {})),
                                            render_restart))  # fmt: skip

    rules = commands.add_parser("business-logic", help="the programming rules: show, change at run time, reset")
    rules_commands = rules.add_subparsers(dest="business_command", required=True)
    rules_show = rules_commands.add_parser("show", help="effective weights, dayparts, temperature, k, epsilon")
    rules_show.add_argument("--channel")
    rules_set = rules_commands.add_parser("set", help="change programming settings now, e.g. exploration.epsilon=0.2")
    rules_set.add_argument("assignments", nargs="+", metavar="KEY=VALUE", help="a key under [programming]")
    rules_set.add_argument("--channel", help="only this channel (default: every channel)")
    rules_reset = rules_commands.add_parser("reset", help="drop run-time changes: back to the config file")
    rules_reset.add_argument("--channel", help="only this channel's own changes (default: all)")
    for sub in (rules_show, rules_set, rules_reset):
        sub.set_defaults(func=business_logic)

    revenue = commands.add_parser("revenue", help="ad impressions, estimated revenue and viewer-hours per channel "
                                  "and day")  # fmt: skip
    revenue.add_argument("--since", help="from this UTC date (YYYY-MM-DD) or ISO time (default: the last 30 days)")
    revenue.add_argument("--channel", help="default: every channel")
    revenue.set_defaults(func=lambda a: _emit(a, _call(a, "revenue", since=a.since, channel=a.channel), render_revenue))

    find = commands.add_parser("discover", help="search for videos now with the Curator's browser; prints plans")
    find.add_argument("--query", help="what to search for (default: the first of the channel's queries)")
    find.add_argument("--max-plans", type=int, help="stop after this many kept plans (default: discovery.max_plans)")
    find.add_argument("--site", help="a site profile name or a start URL (default: the channel's sites)")
    find.add_argument("--channel", help="whose brief to judge by (default: origin.default_channel)")
    find.set_defaults(func=discover)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vvtv.cli import run_cli

    return run_cli(build_parser(), argv)
