"""Plans are de-duplicated by page URL (a page is visited once) and by media URL (two pages
showing the same file make one plan); and the report reads as a person would want it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from demosite import curator_settings
from sitekit import NOT_FOUND, Reply, SiteServer, demo_media, page

from vvtv.discovery.curator import Curator, DiscoveryReport, Outcome
from vvtv.runtime import Runtime

HOME = '<form action="/find"><input type="search" name="q"><button>Find</button></form>'
RESULTS = '<main><a href="/v/first">First</a> <a href="/v/second">Second (a mirror)</a></main>'
WATCH = """<html><head><meta property="og:title" content="{title}"><meta name="keywords" content="nature, calm">
<meta property="og:description" content="Calm nature footage of the sea with soft music."></head>
<body><video src="/same.mp4" controls width="640" height="360"></video><p>CC BY 4.0</p></body></html>"""


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_media(tmp_path_factory)


def mirror_site(media: Path):  # noqa: ANN201
    def routes(path: str) -> Reply:
        if path == "/":
            return page(HOME)
        if path.startswith("/find"):
            return page(RESULTS)
        if path.startswith("/v/"):
            return page(WATCH.format(title=path.removeprefix("/v/")))
        if path == "/same.mp4":
            return Reply(content_type="video/mp4", file=media / "ocean-waves.mp4")
        return NOT_FOUND

    return routes


def discover(rt: Runtime) -> DiscoveryReport:
    curator = Curator(rt)
    try:
        return asyncio.run(curator.discover("sea", max_plans=5))
    finally:
        curator.close()


def test_the_same_media_makes_one_plan_and_known_pages_are_not_visited_again(media: Path, tmp_path: Path) -> None:
    with SiteServer(routes=mirror_site(media)) as site:
        rt = Runtime.open(curator_settings(tmp_path / "var", f"{site.url}/"))
        first = discover(rt)
        visits_before = site.requests.count("/v/first")
        again = discover(rt)
        visits_after = site.requests.count("/v/first")
    assert [(o.page_url.removeprefix(site.url), o.status) for o in first.outcomes] == [
        ("/v/first", "kept"), ("/v/second", "rejected")]  # fmt: skip
    assert first.outcomes[1].reason == f"same media as plan #1 ({site.url}/v/first)"
    assert [o.reason for o in again.outcomes] == ["already planned as #1 (approved)", "already planned as #2 (rejected)"]
    assert visits_after == visits_before
    rt.db.dispose()


def test_the_report_lists_kept_rejected_skipped_and_failed_with_reasons() -> None:
    report = DiscoveryReport(query="sea", max_plans=2, sites=["http://x/"], result_pages=1, started_at_us=0,
                             finished_at_us=12_000_000, notes=["http://x/: searched through a search field"])  # fmt: skip
    report.outcomes = [
        Outcome(page_url="http://x/a", status="kept", reason="score 0.90 ≥ 0.50", plan_id=1, title="A",
                media_url="http://x/a.mp4", seconds=3.5),
        Outcome(page_url="http://x/b", status="rejected", reason="below HD: played at 640x360", plan_id=2, title="B",
                tried=["dismissed a consent dialog with 'Reject all'", "clicked the video"]),
        Outcome(page_url="file:///etc/passwd", status="skipped", reason="scheme 'file' is not allowed"),
    ]  # fmt: skip
    assert report.render().splitlines() == [
        "Discovery 'sea' on http://x/: 1 result pages, 3 links in 12 s",
        "  note: http://x/: searched through a search field",
        "Kept (1):", "  #1 A", "      page http://x/a", "      media http://x/a.mp4", "      score 0.90 ≥ 0.50 (3.5 s)",
        "Rejected (1):", "  #2 B", "      page http://x/b", "      below HD: played at 640x360",
        "      tried: dismissed a consent dialog with 'Reject all'; clicked the video",
        "Skipped (1):", "  file:///etc/passwd", "      scheme 'file' is not allowed",
        "Failed (0):",
    ]  # fmt: skip
    assert report.as_dict()["counts"] == {"kept": 1, "rejected": 1, "skipped": 1, "failed": 0}
