"""Scale-out benchmark: Factory jobs per hour with 1, 2 and 4 workers sharing one PostgreSQL, in one run.

Each round starts a fresh database on one throw-away PostgreSQL (Debian's server, on 127.0.0.1), N real
`vvtv run factory` processes, each with a data folder of its own as on separate machines, and once they
are all up and idle, approves --jobs plans at once (sources served over HTTP on 127.0.0.1). Measured:
from the approval to the last job done, so process start-up is left out. The baseline is the single
worker of the same run; the ratio is the speed-up over it. On one machine the workers share its cores:
the speed-up shows what the queue adds or costs (claiming with FOR UPDATE SKIP LOCKED, leases, polling)
and how much of the machine one worker leaves idle, not what separate machines would add.

Run: .venv/bin/python bench/scaleout.py [--jobs 12] [--seconds 10] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "processing"))

import factory_media as media  # noqa: E402
from factory_support import write_config  # noqa: E402
from pgserver import start_cluster  # noqa: E402
from vvtv.storage.db import Database  # noqa: E402
from vvtv.storage.models import Job, JobState, Plan, PlanStatus  # noqa: E402

START_SECONDS = 20  # long enough for every worker to import, migrate-check and start polling


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "processing" / "media_server.py"), str(folder)],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    return process, process.stdout.readline().strip()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def round_of(workers: int, jobs: int, url: str, base: str, folder: Path) -> tuple[float, float]:
    """(wall seconds from approval to the last job done, CPU seconds of the workers)."""
    db = Database(url)
    db.migrate()
    cpu_before = cpu_seconds()
    processes = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("VVTV_")}
    for index in range(workers):
        machine = folder / f"w{workers}-{index}"
        machine.mkdir()
        config = write_config(machine / "vvtv.toml", machine / "var", lease_seconds=30)
        config.write_text(config.read_text() + f"[storage]\nurl = {json.dumps(url)}\n")
        processes.append(subprocess.Popen([sys.executable, "-m", "vvtv.cli", "run", "factory"],
                                          env={**env, "VVTV_CONFIG": str(config)}, stdout=subprocess.DEVNULL,
                                          stderr=(machine / "factory.log").open("w")))  # fmt: skip
    try:
        time.sleep(START_SECONDS)
        with db.session() as session:
            session.add_all(Plan(page_url=f"{base}/clip-{i:02d}.mp4", title=f"Clip {i}", status=PlanStatus.APPROVED,
                                 created_at_us=0, updated_at_us=0) for i in range(jobs))  # fmt: skip
        started = time.monotonic()
        while True:
            with db.session() as session:
                done = session.scalar(select(func.count()).select_from(Job).where(Job.state == JobState.DONE))
                failed = session.scalar(select(func.count()).select_from(Job).where(Job.state == JobState.FAILED))
            if failed:
                raise SystemExit(f"{failed} job(s) failed; see {folder}/w{workers}-*/factory.log")
            if done == jobs:
                wall = time.monotonic() - started
                break
            if time.monotonic() - started > 3600:
                raise SystemExit("the round took over an hour")
            time.sleep(0.1)
    finally:
        for process in processes:
            stop(process)
        db.dispose()
    return wall, cpu_seconds() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each source")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    folder = Path(tempfile.mkdtemp(prefix="vvtv-scaleout-"))
    site = folder / "site"
    site.mkdir()
    clip = media.encode(site / "clip-00.mp4", media.picture("640x360"), media.tone(), args=[*media.X264, *media.AAC],
                        seconds=args.seconds)  # fmt: skip
    for index in range(1, args.jobs):
        shutil.copy(clip, site / f"clip-{index:02d}.mp4")
    cluster = start_cluster()
    server, base = serve(site)
    rows = []
    try:
        for workers in counts:
            wall, cpu = round_of(workers, args.jobs, cluster.new_database(), base, folder)
            rows.append((workers, wall, cpu))
            print(f"  {workers} worker(s): {args.jobs} jobs in {wall:.1f} s, {cpu:.0f} CPU s", flush=True)
    finally:
        server.kill()
        server.wait()
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\nScale-out, {datetime.date.today()}: {args.jobs} jobs of a {args.seconds:g} s 640x360 source each "
          f"(144p/90p ladder), one PostgreSQL, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| workers | wall | jobs per hour | speed-up over 1 worker | CPU per job |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    baseline = rows[0][1]
    for workers, wall, cpu in rows:
        print(f"| {workers} | {wall:.1f} s | {args.jobs * 3600 / wall:,.0f} | {baseline / wall:.2f}x | "
              f"{cpu / args.jobs:.1f} s |")


if __name__ == "__main__":
    main()
