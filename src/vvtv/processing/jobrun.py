"""One attempt at one job, as the Factory runs it: lease kept, progress shown, steps recorded, stop obeyed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vvtv.errors import VVTVError
from vvtv.processing import jobs
from vvtv.processing.ffmpeg import ProgressCallback
from vvtv.processing.jobs import Lease, LeaseLost
from vvtv.runtime import Runtime

TICK_SECONDS = 1.0  # how often a running job's lease and progress are written
ProgressListener = Callable[[str, float], None]  # step name, fraction of that step done


class Stopped(Exception):
    """The worker was asked to stop: the job goes back to the queue untouched."""


class Overdue(VVTVError):
    """The job ran past its deadline, or its work stood still too long: stopped, and retried if attempts remain."""


class JobRun:
    """One attempt at one job: its lease kept alive, its progress written, its cancellation checked.

    A thread renews the lease every second with the current step and progress,
    but only while the work moves: a step that reports progress (a download, an
    ffmpeg run) and has not moved for factory.job_stall_seconds, or a job past
    its deadline, is no longer renewed. The work itself calls check() (through
    its progress callbacks), which raises Stopped, LeaseLost or Overdue so that
    ffmpeg or yt-dlp is stopped at once; an ffmpeg that reports nothing at all
    is killed by its own runner after the same stall time or at the deadline
    (`seconds_left`).
    """

    def __init__(self, rt: Runtime, lease: Lease, *, listener: ProgressListener | None, on_tick: Callable[[], None]):
        self.rt = rt
        self.lease = lease
        self.step_name = "claimed"
        self.fraction = 0.0
        self._listener = listener
        self._on_tick = on_tick
        settings = rt.settings.factory
        self.stall_seconds = settings.job_stall_seconds
        self._started = time.monotonic()  # deadlines are about real work, not the channel's clock
        self._allowed_s = settings.job_deadline_seconds
        self._moved_at = self._started
        self._reporting = False  # the current step reports progress, so standing still means stuck
        self._bytes = 0
        self._checks: list[Callable[[], None]] = []
        self._lost = threading.Event()
        self._finished = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name=f"lease-{lease.job_id}", daemon=True)

    def __enter__(self) -> "JobRun":
        self._keeper.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._finished.set()
        self._keeper.join()

    def _keep(self) -> None:
        settings = self.rt.settings.factory
        interval = min(TICK_SECONDS, settings.lease_seconds / 3)
        while not self._finished.wait(interval):
            if self.overdue():
                continue  # stuck work keeps no lease: it ends (or is taken over once the lease runs out)
            try:
                kept = jobs.renew(self.rt.db, self.rt.clock, self.lease, lease_seconds=settings.lease_seconds,
                                  step=self.step_name, progress=round(self.fraction, 4))  # fmt: skip
                self._on_tick()
            except Exception:  # noqa: BLE001 - a busy database: try again next tick, the lease has slack
                continue
            if not kept:
                self._lost.set()
                return

    def allow_for_media(self, seconds: float) -> None:
        """The source's length is known: the deadline grows with it."""
        settings = self.rt.settings.factory
        self._allowed_s = settings.job_deadline_seconds + settings.job_deadline_per_media_second * seconds

    def seconds_left(self) -> float:
        """Until the deadline: the timeout of each ffmpeg run."""
        return max(self._started + self._allowed_s - time.monotonic(), 1.0)

    def overdue(self) -> str | None:
        """Why the job must stop (past its deadline, standing still), or None."""
        now = time.monotonic()
        if now - self._started > self._allowed_s:
            return f"job stopped: past its deadline of {self._allowed_s:g} s"
        if self._reporting and now - self._moved_at > self.stall_seconds:
            return f"job stopped: no progress for {self.stall_seconds:g} s"
        return None

    def check(self) -> None:
        if self.rt.stop.is_set():
            raise Stopped()
        if self._lost.is_set():
            raise LeaseLost(f"job {self.lease.job_id} was taken over by another worker")
        if reason := self.overdue():
            raise Overdue(reason)
        for also in self._checks:
            also()

    def also_check(self, check: Callable[[], None]) -> None:
        """Run `check` with every check(): it raises to stop the work (the disk filling up, say)."""
        self._checks.append(check)

    def progress(self, fraction: float) -> None:
        """Called from ffmpeg's and yt-dlp's progress reports: the place to stop them."""
        self._reporting = True
        if min(max(fraction, 0.0), 1.0) != self.fraction:  # down moves too: a second download starts from 0
            self._moved_at = time.monotonic()
        self.check()
        self._show(fraction)

    def _show(self, fraction: float) -> None:
        self.fraction = min(max(fraction, 0.0), 1.0)
        if self._listener:
            self._listener(self.step_name, self.fraction)

    def media_progress(self, total_s: float | None) -> ProgressCallback:
        return lambda done_s: self.progress(done_s / total_s if total_s else 0.0)

    def download_progress(self, done: int, total: int | None) -> None:
        if done != self._bytes:  # moving, even when the total is unknown
            self._bytes, self._moved_at = done, time.monotonic()
        self.progress(done / total if total else 0.0)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one step, recording its outcome and how long it took."""
        self.check()
        self.step_name = name
        self._reporting, self._moved_at = False, time.monotonic()
        self._show(0.0)
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            self._record(name, "failed", started, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise
        self._record(name, "ok", started)
        self._show(1.0)

    def _record(self, step: str, outcome: str, started: float, **data: object) -> None:
        self.rt.record_event(
            "factory.step", f"job {self.lease.job_id} attempt {self.lease.attempt}: {step} {outcome}",
            job=self.lease.job_id, plan=self.lease.plan_id, attempt=self.lease.attempt, step=step,
            outcome=outcome, seconds=round(time.monotonic() - started, 3), **data,
        )  # fmt: skip
