"""Asking the supervisor (`vvtv up`) to restart roles, through the database.

`vvtvctl streaming restart` records a `restart-requested` Event naming the roles; the
supervisor, which looks for new requests every half second, stops each of those roles
cleanly (SIGTERM, SIGKILL after a grace period), starts it again at once, and answers
with a `roles-restarted` Event carrying the request's id and the new process ids. The
database is the one thing every machine running VVTV shares, so this works from anywhere
`vvtvctl` can reach it. The supervisor heartbeats as `supervisor`: without a recent one
the request is refused at once, and one nobody answers times out with a clear message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.errors import InputError
from vvtv.runtime import Runtime
from vvtv.clock import US
from vvtv.storage.models import Event, Heartbeat

REQUESTED = "restart-requested"
RESTARTED = "roles-restarted"
# The supervisor heartbeats under this name; silent for ALIVE_SECONDS, nobody will answer a request.
SUPERVISOR_ROLE = "supervisor"
SUPERVISOR_HEARTBEAT_SECONDS = 5
ALIVE_SECONDS = 30


@dataclass(kw_only=True)
class RestartRequest:
    id: int
    roles: list[str]


@dataclass(kw_only=True)
class RestartReport:
    request_id: int
    restarted: dict[str, int] = field(default_factory=dict)  # role -> new pid
    not_running: list[str] = field(default_factory=list)  # roles this supervisor does not run


def request_restart(rt: Runtime, roles: list[str]) -> int:
    with rt.db.session() as session:
        event = Event(at_us=rt.clock.now_us(), kind=REQUESTED, message=f"operator asked to restart {roles}",
                      data={"roles": roles})  # fmt: skip
        session.add(event)
        session.flush()
        return event.id


def newest_event_id(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0


def pending_requests(session: Session, after_id: int) -> list[RestartRequest]:
    rows = session.scalars(select(Event).where(Event.kind == REQUESTED, Event.id > after_id).order_by(Event.id))
    return [RestartRequest(id=row.id, roles=list(row.data.get("roles", []))) for row in rows]


def answer(rt: Runtime, report: RestartReport) -> None:
    rt.record_event(
        RESTARTED,
        f"restarted {sorted(report.restarted) or 'nothing'} (request {report.request_id})"
        + (f"; not run here: {report.not_running}" if report.not_running else ""),
        request_id=report.request_id, restarted=report.restarted, not_running=report.not_running,
    )  # fmt: skip


def restart_roles(rt: Runtime, roles: list[str], *, wait_seconds: float) -> RestartReport:
    """Ask for the restart and wait for the supervisor's answer."""
    with rt.db.session() as session:
        beat = session.get(Heartbeat, SUPERVISOR_ROLE)
    if beat is None or rt.clock.now_us() - beat.at_us > ALIVE_SECONDS * US:
        raise InputError(f"no `vvtv up` runs on this database (no supervisor heartbeat in the last {ALIVE_SECONDS} s):"
                         " nothing would restart the roles")  # fmt: skip
    request_id = request_restart(rt, roles)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with rt.db.session() as session:
            for event in session.scalars(select(Event).where(Event.kind == RESTARTED, Event.id > request_id)):
                if event.data.get("request_id") == request_id:
                    return RestartReport(request_id=request_id, restarted=event.data.get("restarted", {}),
                                         not_running=event.data.get("not_running", []))  # fmt: skip
        time.sleep(0.2)
    raise InputError(
        f"no supervisor answered restart request {request_id} within {wait_seconds:.0f} s: is `vvtv up` running "
        "on this database?"
    )
