"""Curator benchmark: how fast pages are evaluated, and whether the browser's memory stays flat.

1. Pages evaluated per minute with human pacing off (discovery.pacing = 0): whole
   discoveries against the demo site (search, result pages, and for every result:
   load, metadata, play and measure, judge, save), each on a fresh database so
   every page is evaluated. The baseline, in the same run, is the same discovery
   at a person's pace (pacing = 1). Printed as a ratio (off / human).
2. Memory after 200 pages: discoveries keep going in ONE browser session (no
   periodic restart) until 200 pages are evaluated; the browser's memory (PSS of
   Chromium and all its processes) is sampled after each discovery. Pages and
   contexts are closed after use, so memory must stay within a bound: at most
   1.5x the figure after the first discovery, plus 150 MB.

Both use watch_seconds = 1 and no pause between pages of the one local site, so
the figures measure the Curator, not its politeness settings.

Run: .venv/bin/python bench/curator.py [--pages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from demosite import start_demo_site  # noqa: E402 - the real `vvtv demo-site` process, as the tests run it

from vvtv.config import load_settings  # noqa: E402
from vvtv.discovery.browser import BrowserSession  # noqa: E402
from vvtv.discovery.curator import KEPT, REJECTED, Curator  # noqa: E402
from vvtv.runtime import Runtime  # noqa: E402

QUERY = "creative commons music"
MEMORY_FACTOR, MEMORY_SLACK = 1.5, 150_000_000


def settings_for(data_dir: Path, site: str, pacing: float):  # noqa: ANN201
    return load_settings(
        data_dir=data_dir,
        discovery={
            "pacing": pacing, "watch_seconds": 1.0, "min_interval_seconds": 0, "allowed_hosts": ["127.0.0.1"],
            "start_sites": [site], "page_budget": 100_000, "restart_after_pages": 100_000,
        },
    )  # fmt: skip


async def one_discovery(work: Path, site: str, pacing: float, session: BrowserSession | None) -> int:
    """One discovery on a fresh database; the number of pages it evaluated."""
    rt = Runtime.open(settings_for(Path(tempfile.mkdtemp(dir=work)), site, pacing))
    curator = Curator(rt)
    try:
        report = await curator.discover(QUERY, max_plans=100, browser=session)
    finally:
        curator.close()
        rt.db.dispose()
    return report.count(KEPT) + report.count(REJECTED)


async def throughput(work: Path, site: str, pacing: float, runs: int) -> tuple[int, float]:
    started = time.monotonic()
    pages = 0
    for _ in range(runs):
        pages += await one_discovery(work, site, pacing, None)
    return pages, time.monotonic() - started


async def memory(work: Path, site: str, target: int) -> tuple[list[tuple[int, int]], int]:
    curator = Curator(Runtime.open(settings_for(work / "memory", site, 0.0)))
    session = curator.browser()
    samples: list[tuple[int, int]] = []
    pages = 0
    async with session:
        while pages < target:
            pages += await one_discovery(work, site, 0.0, session)
            samples.append((pages, session.memory_bytes()))
            print(f"  {pages:4d} pages: browser {samples[-1][1] / 1e6:7.0f} MB, open pages {session.open_pages}",
                  flush=True)  # fmt: skip
        open_pages = session.open_pages
    curator.close()
    return samples, open_pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages for the memory part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-curator-") as tmp:
        work = Path(tmp)
        site = start_demo_site(work / "demo-site-data")
        try:
            print(f"Demo site {site.url}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
            human_pages, human_s = asyncio.run(throughput(work, site.url, 1.0, runs=1))
            fast_pages, fast_s = asyncio.run(throughput(work, site.url, 0.0, runs=3))
            human_rate, fast_rate = human_pages / human_s * 60, fast_pages / fast_s * 60
            print("1. Pages evaluated per minute (watch 1 s each, search included)")
            print(f"   human pacing (baseline): {human_rate:6.1f} /min  ({human_pages} pages in {human_s:.0f} s)")
            print(f"   pacing off:              {fast_rate:6.1f} /min  ({fast_pages} pages in {fast_s:.0f} s)")
            print(f"   ratio off / human:       {fast_rate / human_rate:6.2f}x")
            print(f"2. Browser memory over {args.pages} pages in one session")
            samples, open_pages = asyncio.run(memory(work, site.url, args.pages))
        finally:
            site.stop()
    first = samples[0][1]
    peak = max(m for _, m in samples)
    bound = first * MEMORY_FACTOR + MEMORY_SLACK
    verdict = "within" if peak <= bound and open_pages == 0 else "OVER"
    print(f"   after {samples[0][0]} pages {first / 1e6:.0f} MB, after {samples[-1][0]} pages "
          f"{samples[-1][1] / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB; bound {bound / 1e6:.0f} MB: {verdict}; "
          f"pages left open: {open_pages}")  # fmt: skip
    return 0 if verdict == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
