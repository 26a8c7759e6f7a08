"""The job queue on SQLite and PostgreSQL: idempotent enqueueing, exclusive claims across processes, leases, retries."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import select

from vvtv.clock import FakeClock, SystemClock
from vvtv.processing import jobs
from vvtv.storage.db import Database
from vvtv.storage.models import Job, JobState, Plan, PlanStatus

LEASE = 10.0
JOBS = 120


@pytest.fixture
def db(database_url: str) -> Database:
    """An empty, migrated database: SQLite, then PostgreSQL (the claims race on both)."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def add_plans(db: Database, count: int, status: PlanStatus = PlanStatus.APPROVED) -> list[int]:
    with db.session() as session:
        plans = [Plan(page_url=f"https://example.org/{status.value}/{i}", status=status, created_at_us=0,
                      updated_at_us=0) for i in range(count)]  # fmt: skip
        session.add_all(plans)
        session.flush()
        return [p.id for p in plans]


def job_of(db: Database, plan_id: int) -> Job:
    with db.session() as session:
        return session.scalars(select(Job).where(Job.plan_id == plan_id)).one()


def test_enqueue_makes_one_job_per_approved_plan_and_is_idempotent(db):  # noqa: ANN001
    approved = add_plans(db, 3)
    add_plans(db, 2, PlanStatus.REJECTED)
    clock = FakeClock()
    assert jobs.enqueue_approved(db, clock, max_attempts=4) == 3
    assert jobs.enqueue_approved(db, clock, max_attempts=4) == 0
    with db.session() as session:
        made = session.scalars(select(Job).order_by(Job.plan_id)).all()
    assert [j.plan_id for j in made] == approved
    assert {(j.state, j.attempts, j.max_attempts) for j in made} == {(JobState.QUEUED, 0, 4)}


def _claim_all(url: str, owner: str, start: multiprocessing.Event, results: multiprocessing.Queue) -> None:
    database = Database(url)
    with database.session() as session:  # connect before the race
        session.execute(select(1))
    start.wait()
    taken = []
    while (lease := jobs.claim(database, SystemClock(), owner=owner, lease_seconds=600)) is not None:
        taken.append(lease.job_id)
        time.sleep(0.01)  # a moment's work between claims, as a real worker has, so the others get their turn
    database.dispose()
    results.put((owner, taken))


def test_workers_in_separate_processes_never_take_the_same_job(db):  # noqa: ANN001
    add_plans(db, JOBS)
    jobs.enqueue_approved(db, FakeClock(), max_attempts=3)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_claim_all, args=(db.url, f"worker-{i}", start, results)) for i in range(4)]
    for process in workers:
        process.start()
    time.sleep(2)  # let every process get to the start line
    start.set()
    taken = dict(results.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(timeout=30)
        assert process.exitcode == 0
    claimed = [job_id for ids in taken.values() for job_id in ids]
    assert len(claimed) == JOBS and len(set(claimed)) == JOBS, "a job was claimed twice or not at all"
    assert sum(1 for ids in taken.values() if ids) > 1, f"no race happened: {taken}"
    with db.session() as session:
        owners = {j.id: j.lease_owner for j in session.scalars(select(Job))}
        assert all(j.attempts == 1 and j.state == JobState.RUNNING for j in session.scalars(select(Job)))
        assert all(p.status == PlanStatus.PROCESSING for p in session.scalars(select(Plan)))
    for owner, ids in taken.items():
        assert all(owners[job_id] == owner for job_id in ids)


def test_an_expired_lease_is_taken_over_and_the_old_owner_can_no_longer_finish(db):  # noqa: ANN001
    (plan_id,) = add_plans(db, 1)
    clock = FakeClock()
    jobs.enqueue_approved(db, clock, max_attempts=3)
    first = jobs.claim(db, clock, owner="first", lease_seconds=LEASE)
    assert first is not None and first.attempt == 1

    clock.advance(LEASE - 1)
    assert jobs.claim(db, clock, owner="second", lease_seconds=LEASE) is None
    assert jobs.renew(db, clock, first, lease_seconds=LEASE, step="encode", progress=0.5)
    clock.advance(LEASE - 1)
    assert jobs.claim(db, clock, owner="second", lease_seconds=LEASE) is None, "the renewal kept it"
    clock.advance(2)
    second = jobs.claim(db, clock, owner="second", lease_seconds=LEASE)
    assert second is not None and (second.job_id, second.attempt) == (first.job_id, 2)

    assert not jobs.renew(db, clock, first, lease_seconds=LEASE, step="encode", progress=0.9)
    assert not jobs.fail(db, clock, first, "too late")
    with pytest.raises(jobs.LeaseLost), db.session() as session:
        jobs.mark_done(session, first, clock.now_us())
    with db.session() as session:
        jobs.mark_done(session, second, clock.now_us())
    assert job_of(db, plan_id).state == JobState.DONE
    with db.session() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.DONE


def test_retry_waits_for_its_backoff(db):  # noqa: ANN001
    (plan_id,) = add_plans(db, 1)
    clock = FakeClock()
    jobs.enqueue_approved(db, clock, max_attempts=3)
    lease = jobs.claim(db, clock, owner="w", lease_seconds=LEASE)
    delay = jobs.backoff_seconds(lease.attempt, base=30, cap=900)
    assert jobs.retry_later(db, clock, lease, "network down", delay_seconds=delay)
    clock.advance(delay - 1)
    assert jobs.claim(db, clock, owner="w", lease_seconds=LEASE) is None
    clock.advance(1)
    again = jobs.claim(db, clock, owner="w", lease_seconds=LEASE)
    assert again is not None and again.attempt == 2
    assert job_of(db, plan_id).error == "network down"


def test_backoff_doubles_up_to_its_cap():
    assert [jobs.backoff_seconds(n, base=30, cap=200) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_a_stopping_worker_gives_the_job_back_without_spending_an_attempt(db):  # noqa: ANN001
    (plan_id,) = add_plans(db, 1)
    clock = FakeClock()
    jobs.enqueue_approved(db, clock, max_attempts=1)
    lease = jobs.claim(db, clock, owner="w", lease_seconds=LEASE)
    jobs.release(db, clock, lease)
    job = job_of(db, plan_id)
    assert (job.state, job.attempts, job.lease_owner) == (JobState.QUEUED, 0, None)
    assert jobs.claim(db, clock, owner="other", lease_seconds=LEASE) is not None


def test_a_job_whose_worker_died_on_the_last_attempt_fails(db):  # noqa: ANN001
    (plan_id,) = add_plans(db, 1)
    clock = FakeClock()
    jobs.enqueue_approved(db, clock, max_attempts=1)
    jobs.claim(db, clock, owner="dead", lease_seconds=LEASE)
    assert jobs.fail_abandoned(db, clock) == []
    clock.advance(LEASE + 1)
    assert jobs.claim(db, clock, owner="w", lease_seconds=LEASE) is None, "no attempts left to take over"
    (failed,) = jobs.fail_abandoned(db, clock)
    assert (failed.job_id, failed.plan_id) == (job_of(db, plan_id).id, plan_id)
    with db.session() as session:
        plan = session.get(Plan, plan_id)
        assert plan.status == PlanStatus.FAILED and "stopped answering" in plan.reason
    assert jobs.fail_abandoned(db, clock) == []


def test_start_now_refuses_a_job_another_worker_holds(db):  # noqa: ANN001
    (plan_id,) = add_plans(db, 1)
    clock = FakeClock()
    jobs.enqueue_approved(db, clock, max_attempts=3)
    jobs.claim(db, clock, owner="busy", lease_seconds=LEASE)
    with pytest.raises(Exception, match="being processed right now by busy"):
        jobs.start_now(db, clock, plan_id, owner="operator", lease_seconds=LEASE, max_attempts=3)
    clock.advance(LEASE + 1)
    lease = jobs.start_now(db, clock, plan_id, owner="operator", lease_seconds=LEASE, max_attempts=3)
    assert (lease.attempt, job_of(db, plan_id).lease_owner) == (1, "operator")


def test_on_postgresql_a_claim_skips_the_job_another_worker_is_claiming(postgres) -> None:  # noqa: ANN001
    # A claim that waited for the lock instead would fail after 5 s rather than hang the test.
    database = Database(postgres.new_database() + "?options=-c%20lock_timeout%3D5000")
    database.migrate()
    first, second = add_plans(database, 2)
    clock = FakeClock()
    jobs.enqueue_approved(database, clock, max_attempts=3)
    with database.engine.connect() as other:
        with other.begin():  # another worker, halfway through claiming the oldest job
            other.execute(select(Job.id).where(Job.plan_id == first).with_for_update())
            lease = jobs.claim(database, clock, owner="w", lease_seconds=LEASE)
            assert lease is not None and lease.plan_id == second, "the locked job is skipped, not waited for"
    assert jobs.claim(database, clock, owner="w", lease_seconds=LEASE).plan_id == first
    database.dispose()
