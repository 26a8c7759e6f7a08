"""The operator's controls: emergency injection and clearing, restarting the live output.

Registered as control commands (control/commands.py), so `vvtvctl` runs them here or,
with `--url`, on a remote channel through its origin.
"""

from __future__ import annotations

from dataclasses import asdict

from pydantic import Field, model_validator

from vvtv.broadcast import injection
from vvtv.control import restart
from vvtv.control.commands import ControlCommand, Params, register
from vvtv.runtime import Runtime

# What `streaming restart` restarts unless told otherwise: the roles that make the live output.
LIVE_OUTPUT_ROLES = ["broadcaster", "restream"]


class EmergencyParams(Params):
    channel: str | None = None  # default: origin.default_channel
    inject: int | None = Field(default=None, ge=1, le=injection.MAX_INJECT)
    assets: list[int] = Field(default_factory=list, max_length=injection.MAX_INJECT)
    reason: str = Field(default="", max_length=injection.MAX_REASON)
    clear: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> "EmergencyParams":
        injecting = self.inject is not None or bool(self.assets)
        if injecting == self.clear:
            raise ValueError("say either --inject N (or --asset ID ...) with --reason, or --clear")
        if injecting and not self.reason.strip():
            raise ValueError("--reason is required with --inject: it is recorded with the entries")
        return self


class RestartParams(Params):
    roles: list[str] = Field(default_factory=lambda: list(LIVE_OUTPUT_ROLES), min_length=1, max_length=16)
    wait_seconds: float = Field(default=30, gt=0, le=300)


def emergency(rt: Runtime, params: EmergencyParams) -> dict:
    channel = rt.settings.channel(params.channel or rt.settings.origin.default_channel).name
    if params.clear:
        return {"cleared": asdict(injection.clear(rt, channel))}
    report = injection.inject(rt, channel, count=params.inject or len(params.assets), reason=params.reason,
                              asset_ids=params.assets)  # fmt: skip
    return {"injected": asdict(report)}


def restart_output(rt: Runtime, params: RestartParams) -> dict:
    return asdict(restart.restart_roles(rt, params.roles, wait_seconds=params.wait_seconds))


def render_emergency(data: dict) -> None:
    if "cleared" in data:
        cleared = data["cleared"]
        print(f"Channel {cleared['channel']}: removed {cleared['removed_injected']} injected entries that had not "
              f"started ({cleared['removed_after']} after them); the programmer fills the timeline again")  # fmt: skip
        return
    report = data["injected"]
    after = f"after entry #{report['after_ordinal']}" if report["after_ordinal"] is not None else "now"
    what = "the slate (no programme is ready)" if report["slate"] else f"{len(report['entries'])} programme(s)"
    print(f"Channel {report['channel']}: injected {what} {after}, because: {report['reason']}")
    for entry in report["entries"]:
        print(f"  #{entry['ordinal']:<5} {entry['start']}  asset {entry['asset_id']:<5} {entry['title']}")
    print(f"  {report['removed']} entries that had not started were removed; the programmer rebuilds them after these")


def render_restart(data: dict) -> None:
    for role, pid in sorted(data["restarted"].items()):
        print(f"restarted {role}: pid {pid}")
    for role in data["not_running"]:
        print(f"{role}: not run by this `vvtv up`, nothing to restart")


register(ControlCommand(
    name="streaming.emergency", params=EmergencyParams, run=emergency,
    help="inject programmes (or the slate) right after the entry on air, or clear them",
))  # fmt: skip
register(ControlCommand(
    name="streaming.restart", params=RestartParams, run=restart_output,
    help="restart the broadcaster and the RTMP output cleanly, through the supervisor",
))  # fmt: skip
