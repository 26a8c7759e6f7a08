"""One attempt at one job, as the Factory runs it: lease kept, progress shown, steps recorded, stop obeyed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vvtv.processing import jobs
from vvtv.processing.ffmpeg import ProgressCallback
from vvtv.processing.jobs import Lease, LeaseLost
from vvtv.runtime import Runtime

TICK_SECONDS = 1.0  # how often a running job's lease and progress are written
ProgressListener = Callable[[str, float], None]  # step name, fraction of that step done


class Stopped(Exception):
    """The worker was asked to stop: the job goes back to the queue untouched."""



class JobRun:
    """One attempt at one job: its lease kept alive, its progress written, its cancellation checked.

    A thread renews the lease every second with the current step and progress;
    the work itself calls check() (through its progress callbacks), which raises
    Stopped or LeaseLost so that ffmpeg or yt-dlp is stopped at once.
    """

    def __init__(self, rt: Runtime, lease: Lease, *, listener: ProgressListener | None, on_tick: Callable[[], None]):
        self.rt = rt
        self.lease = lease
        self.step_name = "claimed"
        self.fraction = 0.0
        self._listener = listener
        self._on_tick = on_tick
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
            try:
                kept = jobs.renew(self.rt.db, self.rt.clock, self.lease, lease_seconds=settings.lease_seconds,
                                  step=self.step_name, progress=round(self.fraction, 4))  # fmt: skip
                self._on_tick()
            except Exception:  # noqa: BLE001 - a busy database: try again next tick, the lease has slack
                continue
            if not kept:
                self._lost.set()
                return

    def check(self) -> None:
        if self.rt.stop.is_set():
            raise Stopped()
        if self._lost.is_set():
            raise LeaseLost(f"job {self.lease.job_id} was taken over by another worker")

    def progress(self, fraction: float) -> None:
        """Called from ffmpeg's and yt-dlp's progress reports: the place to stop them."""
        self.check()
        self._show(fraction)

    def _show(self, fraction: float) -> None:
        self.fraction = min(max(fraction, 0.0), 1.0)
        if self._listener:
            self._listener(self.step_name, self.fraction)

    def media_progress(self, total_s: float | None) -> ProgressCallback:
        return lambda done_s: self.progress(done_s / total_s if total_s else 0.0)

    def download_progress(self, done: int, total: int | None) -> None:
        self.progress(done / total if total else 0.0)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one step, recording its outcome and how long it took."""
        self.check()
        self.step_name = name
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
