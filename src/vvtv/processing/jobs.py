"""The Factory's job queue: one Job per approved Plan, claimed under a lease.

Claiming is one conditional UPDATE (`... WHERE id = ? AND <still claimable>`)
checked by its row count, so of several workers (processes or machines)
racing for a job exactly one wins. On PostgreSQL the candidate is first picked
with `SELECT ... FOR UPDATE SKIP LOCKED`: workers racing at the same moment
each lock a different row instead of all trying the same one. A worker
renews its lease while it works; if it dies, the lease runs out and another
worker takes the job over. Every state change that follows is guarded by the
lease owner, so a worker that lost its job can no longer finish it.

Each transaction here is short and starts with its write: on SQLite a
read-then-write transaction can fail at once when another writer got in
between, a lone write waits its turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from vvtv.clock import US, Clock
from vvtv.errors import InputError
from vvtv.storage.db import Database
from vvtv.storage.models import Job, JobState, Plan, PlanStatus


@dataclass(kw_only=True)
class Lease:
    """A worker's hold on one job, for one attempt."""

    job_id: int
    plan_id: int
    owner: str
    attempt: int  # 1 for the first try; a takeover or a retry counts as a new attempt
    max_attempts: int


@dataclass(kw_only=True)
class JobView:
    """A job as `vvtvctl queue show` lists it."""

    job_id: int
    plan_id: int
    title: str
    state: str
    step: str
    percent: int  # of the current step
    attempts: int
    max_attempts: int
    error: str
    worker: str | None


def active_jobs(session: Session, channel: str) -> list[JobView]:
    """The channel's jobs that are waiting or running, oldest first."""
    rows = session.execute(
        select(Job, Plan)
        .join(Plan, Job.plan_id == Plan.id)
        .where(Plan.channel == channel, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
        .order_by(Job.id)
    ).all()
    return [
        JobView(
            job_id=job.id, plan_id=plan.id, title=plan.title or plan.page_url, state=job.state.value, step=job.step,
            percent=round(job.progress * 100), attempts=job.attempts, max_attempts=job.max_attempts, error=job.error,
            worker=job.lease_owner,
        )  # fmt: skip
        for job, plan in rows
    ]


class LeaseLost(Exception):
    """The job was taken over (this worker's lease ran out): stop working on it."""


def _claimable(now_us: int) -> ColumnElement[bool]:
    waiting = and_(Job.state == JobState.QUEUED, Job.next_attempt_us <= now_us)
    abandoned = and_(Job.state == JobState.RUNNING, Job.lease_expires_us < now_us)
    return and_(or_(waiting, abandoned), Job.attempts < Job.max_attempts)


def _owned(lease: Lease) -> ColumnElement[bool]:
    return and_(Job.id == lease.job_id, Job.state == JobState.RUNNING, Job.lease_owner == lease.owner)


def _update_owned(session: Session, lease: Lease, **values: object) -> bool:
    """Change the job only if it is still this lease's; True when it was."""
    result = session.execute(
        update(Job).where(_owned(lease)).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def enqueue_approved(db: Database, clock: Clock, *, max_attempts: int) -> int:
    """Create the Job of every APPROVED plan that has none; returns how many were made.

    Idempotent: jobs.plan_id is unique, so a plan another worker enqueued at the
    same moment is skipped (the whole batch is simply tried again next time).
    """
    now = clock.now_us()
    with db.session() as session:
        plan_ids = session.scalars(
            select(Plan.id)
            .where(Plan.status == PlanStatus.APPROVED, ~exists().where(Job.plan_id == Plan.id))
            .order_by(Plan.id)
        ).all()
    if not plan_ids:
        return 0
    try:
        with db.session() as session:
            for plan_id in plan_ids:
                session.add(_new_job(plan_id, now, max_attempts=max_attempts))
    except IntegrityError:
        return 0
    return len(plan_ids)


def _new_job(plan_id: int, now_us: int, *, max_attempts: int, **columns: object) -> Job:
    values: dict[str, object] = {"state": JobState.QUEUED, "attempts": 0, "next_attempt_us": 0}
    values.update(columns)
    return Job(plan_id=plan_id, max_attempts=max_attempts, created_at_us=now_us, updated_at_us=now_us, **values)


def _take(
    session: Session, job_id: int, condition: ColumnElement[bool], owner: str, now_us: int, lease_us: int
) -> bool:
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, condition)
        .values(
            state=JobState.RUNNING, lease_owner=owner, lease_expires_us=now_us + lease_us,
            attempts=Job.attempts + 1, step="claimed", progress=0.0, updated_at_us=now_us,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim(db: Database, clock: Clock, *, owner: str, lease_seconds: float) -> Lease | None:
    """Take the next due job (or one whose worker died) under a lease, urgent ones first; None when there is none."""
    now = clock.now_us()
    due = select(Job.id).where(_claimable(now)).order_by(Job.priority.desc(), Job.next_attempt_us, Job.id)
    if db.is_postgresql:
        with db.session() as session:
            job_id = session.scalar(due.limit(1).with_for_update(skip_locked=True))
            if job_id is None:
                return None
            return _claimed(session, job_id, owner, now, lease_seconds)
    with db.session() as session:
        candidates = session.scalars(due.limit(16)).all()
    for job_id in candidates:
        with db.session() as session:
            lease = _claimed(session, job_id, owner, now, lease_seconds)
            if lease is not None:
                return lease
    return None  # none due, or other workers were quicker


def _claimed(session: Session, job_id: int, owner: str, now_us: int, lease_seconds: float) -> Lease | None:
    """Take the job if it is still claimable, in the caller's transaction; None when another worker has it."""
    if not _take(session, job_id, _claimable(now_us), owner, now_us, round(lease_seconds * US)):
        return None
    job = session.get(Job, job_id)
    assert job is not None
    job.plan.status = PlanStatus.PROCESSING
    job.plan.updated_at_us = now_us
    return Lease(job_id=job.id, plan_id=job.plan_id, owner=owner, attempt=job.attempts,
                 max_attempts=job.max_attempts)  # fmt: skip


def start_now(
    db: Database, clock: Clock, plan_id: int, *, owner: str, lease_seconds: float, max_attempts: int
) -> Lease:
    """The operator's path: the plan's job, (re)started at once under `owner`'s lease.

    The job is created already running, so a background worker never races for it.
    """
    now = clock.now_us()
    lease_us = round(lease_seconds * US)
    with db.session() as session:
        job = session.scalars(select(Job).where(Job.plan_id == plan_id)).one_or_none()
        if job is None:
            job = _new_job(plan_id, now, max_attempts=max_attempts, state=JobState.RUNNING, attempts=1,
                           lease_owner=owner, lease_expires_us=now + lease_us, step="claimed")  # fmt: skip
            session.add(job)
        else:
            if job.state == JobState.RUNNING and (job.lease_expires_us or 0) >= now:
                raise InputError(f"plan {plan_id} is being processed right now by {job.lease_owner}")
            job.state, job.attempts, job.max_attempts = JobState.RUNNING, 1, max_attempts
            job.lease_owner, job.lease_expires_us = owner, now + lease_us
            job.step, job.progress, job.error = "claimed", 0.0, ""
            job.updated_at_us = now
        plan = session.get(Plan, plan_id)
        assert plan is not None
        plan.status, plan.reason, plan.updated_at_us = PlanStatus.PROCESSING, "", now
        session.flush()
        return Lease(job_id=job.id, plan_id=plan_id, owner=owner, attempt=1, max_attempts=max_attempts)


def renew(db: Database, clock: Clock, lease: Lease, *, lease_seconds: float, step: str, progress: float) -> bool:
    """Extend the lease and record progress; False when the job is no longer this worker's."""
    now = clock.now_us()
    with db.session() as session:
        return _update_owned(
            session, lease, lease_expires_us=now + round(lease_seconds * US), step=step[:32], progress=progress,
            updated_at_us=now,
        )  # fmt: skip


def mark_done(session: Session, lease: Lease, now_us: int) -> None:
    """Inside the transaction that records the Asset: the job and its plan are done.

    Raises LeaseLost (rolling the transaction back) when the job is no longer ours.
    """
    if not _update_owned(session, lease, state=JobState.DONE, step="done", progress=1.0, error="", lease_owner=None,
                         lease_expires_us=None, updated_at_us=now_us):  # fmt: skip
        raise LeaseLost(f"job {lease.job_id} was taken over before it finished")
    _set_plan(session, lease.plan_id, PlanStatus.DONE, "", now_us)


def _set_plan(session: Session, plan_id: int, status: PlanStatus, reason: str, now_us: int) -> None:
    session.execute(
        update(Plan)
        .where(Plan.id == plan_id)
        .values(status=status, reason=reason, updated_at_us=now_us)
        .execution_options(synchronize_session=False)
    )


def set_priority(db: Database, channel: str, priority: int) -> int:
    """Give the channel's waiting and running jobs this priority; returns how many changed."""
    plans = select(Plan.id).where(Plan.channel == channel)
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.plan_id.in_(plans), Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
            .where(Job.priority != priority)
            .values(priority=priority)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    return min(base * 2 ** max(attempt - 1, 0), cap)


def retry_later(db: Database, clock: Clock, lease: Lease, error: str, *, delay_seconds: float) -> bool:
    """Put the job back in the queue for another attempt; False when the job is no longer ours."""
    now = clock.now_us()
    with db.session() as session:
        return _update_owned(
            session, lease, state=JobState.QUEUED, error=error, lease_owner=None, lease_expires_us=None,
            progress=0.0, next_attempt_us=now + round(delay_seconds * US), updated_at_us=now,
        )  # fmt: skip


def fail(db: Database, clock: Clock, lease: Lease, reason: str) -> bool:
    """The job and its plan failed for good, with the reason; False when the job is no longer ours."""
    now = clock.now_us()
    with db.session() as session:
        if not _update_owned(session, lease, state=JobState.FAILED, step="failed", error=reason, lease_owner=None,
                             lease_expires_us=None, updated_at_us=now):  # fmt: skip
            return False
        _set_plan(session, lease.plan_id, PlanStatus.FAILED, reason, now)
        return True


def release(db: Database, clock: Clock, lease: Lease) -> None:
    """Give the job back untouched (the worker is stopping): the attempt does not count."""
    now = clock.now_us()
    with db.session() as session:
        _update_owned(
            session, lease, state=JobState.QUEUED, attempts=Job.attempts - 1, lease_owner=None,
            lease_expires_us=None, step="released", progress=0.0, next_attempt_us=now, updated_at_us=now,
        )  # fmt: skip


def fail_abandoned(db: Database, clock: Clock) -> list[Lease]:
    """Jobs whose worker died on their last allowed attempt: failed, returned for clean-up."""
    now = clock.now_us()
    with db.session() as session:
        rows = session.execute(
            select(Job.id, Job.plan_id, Job.lease_owner, Job.attempts, Job.max_attempts).where(
                Job.state == JobState.RUNNING, Job.lease_expires_us < now, Job.attempts >= Job.max_attempts
            )
        ).all()
    failed = []
    for job_id, plan_id, owner, attempts, max_attempts in rows:
        lease = Lease(job_id=job_id, plan_id=plan_id, owner=owner or "", attempt=attempts, max_attempts=max_attempts)
        reason = f"the worker processing it stopped answering, {attempts} time(s); no attempts left"
        with db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_expires_us < now)
                .values(state=JobState.FAILED, step="failed", error=reason, lease_owner=None,
                        lease_expires_us=None, updated_at_us=now)  # fmt: skip
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                _set_plan(session, plan_id, PlanStatus.FAILED, reason, now)
                failed.append(lease)
    return failed
