"""Issue 13 and 14: pages as real video sites build them, watched in real headless Chromium.

One local site, one discovery, one browser. Its pages: a poster "facade" whose click
builds an hls.js player over MSE; the same inside an iframe; a consent dialog over a
<video> that has a poster and no source; a player in an iframe that loads only when
scrolled to; a "click to continue" interstitial; an age-confirmation interstitial (never
clicked through); a page whose scripts sabotage what the curator reads; a live HLS
stream; and a page where nothing plays. Then a second discovery shows that no link is
visited again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import pytest
from demosite import curator_settings
from sitekit import NOT_FOUND, Reply, SiteServer, demo_media, page
from sqlalchemy import select

from vvtv.demo.site import HLS_JS
from vvtv.discovery.curator import Curator, DiscoveryReport
from vvtv.processing.ffmpeg import run_ffmpeg
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

BLURB = "Calm nature footage of the sea with soft ambient music."
WATCH = Template("""<!doctype html><html><head><title>$title - Openreel</title>
<meta property="og:title" content="$title"><meta property="og:description" content="$blurb">
<meta name="keywords" content="nature, calm, music">
<style>body{margin:0;font:16px sans-serif} .player{position:relative;width:960px;height:540px}</style></head>
<body><h1>$title</h1>$player<p>$blurb</p><p>Licence: CC BY 4.0</p>$extra</body></html>""")

# A facade: a poster with a drawn play symbol and no words; a click swaps in a <video>
# fed by hls.js (MSE, a blob: source) from a two-variant playlist, the 720p one chosen.
START_HLS = """<script>
function startHls(where, src) {
  const v = document.createElement('video');
  v.width = 960; v.height = 540; v.controls = true;
  where.replaceWith(v);
  const s = document.createElement('script');
  s.src = '/static/hls.min.js';
  s.onload = () => {
    const hls = new Hls();
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      hls.currentLevel = hls.levels.findIndex((l) => l.height === 720);
      v.play();
    });
    hls.loadSource(src);
    hls.attachMedia(v);
  };
  document.head.appendChild(s);
}
</script>"""
FACADE = """<div id="facade" class="player" style="background:#000 url(/files/ocean-waves.jpg) center/cover;cursor:pointer">
<svg style="position:absolute;left:446px;top:246px" width="68" height="48" viewBox="0 0 68 48">
<path d="M27 14v20l18-10z" fill="#fff"/></svg></div>
<script>document.getElementById('facade').addEventListener('click', (e) => startHls(e.currentTarget, '$src'));</script>"""
EMBED_FACADE = """<!doctype html><html><head><style>body{margin:0}</style>""" + START_HLS + """</head><body>
<div class="preview" style="width:100vw;height:100vh;background:#000 url(/files/paint-flow.jpg) center/cover;cursor:pointer">
</div><script>
document.querySelector('.preview').addEventListener('click', (e) => startHls(e.currentTarget, '/hls/embedded/master.m3u8'));
</script></body></html>"""
EMBED_PLAIN = """<!doctype html><html><head><style>body{margin:0}</style></head><body>
<video src="/files/ocean-waves.mp4" poster="/files/ocean-waves.jpg" controls preload="metadata" width="960" height="540">
</video></body></html>"""
CONSENT = """<div id="cmp" role="dialog" aria-modal="true" aria-label="Privacy choices"
 style="position:fixed;inset:0;z-index:99;background:rgba(0,0,0,.6);display:flex;align-items:center;justify-content:center">
<div style="background:#fff;padding:24px;max-width:520px"><h2>We value your privacy</h2>
<p>We and our 812 partners use cookies to store and access personal data on your device.</p>
<button data-choice="accept">Accept all</button> <button data-choice="manage">Manage options</button>
<button data-choice="reject">Reject all</button></div></div>
<script>document.querySelectorAll('#cmp button').forEach((b) => b.addEventListener('click', () => {
  fetch('/consent?choice=' + b.dataset.choice);
  if (b.dataset.choice !== 'manage') document.getElementById('cmp').remove();
}));</script>"""
# A <video> with a poster and no source: the page's own click handler gives it one.
BARE_VIDEO = """<video id="v" poster="/files/paint-flow.jpg" preload="none" width="960" height="540"></video>
<script>document.getElementById('v').addEventListener('click', (e) => {
  if (!e.target.src) { e.target.src = '/files/paint-flow.mp4'; e.target.play(); }
});</script>"""
LAZY = """<div style="height:3000px">""" + "<p>A long introduction to the film.</p>" * 40 + """</div>
<iframe class="lazy" data-src="/embed/plain" width="960" height="540" style="border:0"></iframe>
<script>new IntersectionObserver((seen, watcher) => { for (const s of seen) if (s.isIntersecting) {
  s.target.src = s.target.dataset.src; watcher.disconnect(); } }).observe(document.querySelector('iframe.lazy'));</script>"""
CONTINUE = """<div class="interstitial" style="position:fixed;inset:0;z-index:50;background:#222;color:#fff;padding:80px">
<p>Thanks for stopping by. This video is brought to you by our supporters.</p>
<a href="#" class="skip" style="color:#fff">Continue to the video »</a></div>
<script>document.querySelector('.skip').addEventListener('click', (e) => { e.preventDefault();
  fetch('/interstitial?continued'); document.querySelector('.interstitial').remove(); });</script>"""
AGE_GATE = """<div class="gate" role="dialog" style="position:fixed;inset:0;z-index:50;background:#000;color:#fff;padding:80px">
<h2>Age verification</h2><p>This video is intended for adults. Are you 18 years of age or older?</p>
<button onclick="fetch('/age-ok'); this.closest('.gate').remove()">Yes, I am 18 or older</button>
<button>No, take me back</button></div>"""
# Scripts that sabotage the page's own API: a title that is not text, a currentTime that is not a number.
HOSTILE = """<script>
Object.defineProperty(document, 'title', { get() { return { not: 'a title' }; } });
Object.defineProperty(HTMLMediaElement.prototype, 'currentTime', { get() { return 'soon'; }, set(v) {} });
Object.defineProperty(HTMLMediaElement.prototype, 'videoHeight', { get() { return { tall: true }; } });
</script>"""
LIVE = """<video id="live" controls muted width="960" height="540"></video><script src="/static/hls.min.js"></script>
<script>const hls = new Hls(); hls.loadSource('/live/media.m3u8'); hls.attachMedia(document.getElementById('live'));
document.getElementById('live').play();</script>"""
GONE = """<div class="player" style="background:#333"><button aria-label="Play video"
 onclick="this.parentNode.textContent = 'This video is no longer available.'">▶</button></div>"""

PAGES = {  # path -> (title, player, extra)
    "/watch/hostile": ("Tampered clip", '<video src="/files/forest-birds.mp4" controls autoplay muted width="960" height="540"></video>', HOSTILE),
    "/watch/facade-hls": ("Harbour lights", FACADE.replace("$src", "/hls/facade/master.m3u8"), START_HLS),
    "/watch/facade-iframe": ("Paint in motion", '<iframe src="/embed/facade" width="960" height="540" style="border:0"></iframe>', ""),
    "/watch/consent": ("Quiet paint flow", BARE_VIDEO, CONSENT),
    "/watch/lazy-iframe": ("Waves, far down the page", LAZY, ""),
    "/watch/continue": ("Piano by the sea", '<video src="/files/piano-etude.mp4" controls width="960" height="540"></video>', CONTINUE),
    "/watch/age-gate": ("Night swim", '<video src="/files/ocean-waves.mp4" autoplay muted width="960" height="540"></video>', AGE_GATE),
    "/watch/live": ("Harbour webcam", LIVE, ""),
    "/watch/gone": ("Removed clip", GONE, ""),
}
HOME = '<html><body><form action="/search"><input type="search" name="q"><button>Search</button></form></body></html>'
MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=640x360,CODECS="avc1.42c01f,mp4a.40.2"
lo/media.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=1280x720,CODECS="avc1.42c01f,mp4a.40.2"
hi/media.m3u8
"""
HLS_TYPE = "application/vnd.apple.mpegurl"


def openreel(media: Path, hi: Path, lo: Path):  # noqa: ANN201
    live_playlist = (hi / "media.m3u8").read_text().replace("#EXT-X-ENDLIST\n", "").replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "")

    def routes(path: str) -> Reply:
        url = urlsplit(path).path
        if url == "/":
            return page(HOME)
        if url == "/search":
            return page("<html><body><ul>" + "".join(f'<li><a href="{p}">{t}</a></li>' for p, (t, _, _) in PAGES.items())
                        + "</ul></body></html>")  # fmt: skip
        if url in PAGES:
            title, player, extra = PAGES[url]
            return page(WATCH.substitute(title=title, blurb=BLURB, player=player, extra=extra))
        if url == "/embed/facade":
            return page(EMBED_FACADE)
        if url == "/embed/plain":
            return page(EMBED_PLAIN)
        if url == "/static/hls.min.js":
            return Reply(content_type="text/javascript", file=HLS_JS)
        if url.startswith("/hls/") and url.endswith("/master.m3u8"):
            return Reply(content_type=HLS_TYPE, body=MASTER.encode())
        if url.startswith("/hls/"):
            variant = hi if "/hi/" in url else lo
            name = url.rsplit("/", 1)[1]
            return Reply(content_type=HLS_TYPE if name.endswith(".m3u8") else "video/mp2t", file=variant / name)
        if url == "/live/media.m3u8":
            return Reply(content_type=HLS_TYPE, body=live_playlist.encode())
        if url.startswith("/live/"):
            return Reply(content_type="video/mp2t", file=hi / url.rsplit("/", 1)[1])
        if url.startswith("/files/"):
            return Reply(content_type="image/jpeg" if url.endswith(".jpg") else "video/mp4",
                         file=media / url.removeprefix("/files/"))  # fmt: skip
        if url in ("/consent", "/interstitial", "/age-ok"):
            return Reply(status=204)
        return NOT_FOUND

    return routes


@pytest.fixture(scope="module")
def discoveries(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The discovery over every page, then a second one over the same links; the site's request log; the plans."""
    media = demo_media(tmp_path_factory)
    lo = tmp_path_factory.mktemp("lo-variant")
    run_ffmpeg(["-i", str(media / "garage-rehearsal.mp4"), "-c", "copy", "-f", "hls", "-hls_time", "4",
                "-hls_playlist_type", "vod", "-hls_segment_filename", str(lo / "seg_%03d.ts"), str(lo / "media.m3u8")],
               timeout=120)  # fmt: skip
    with SiteServer(routes=openreel(media, media / "hls" / "city-lights", lo)) as site:
        # What these pages test is finding and starting their players; how smoothly hls.js plays on a
        # loaded 2-core CI machine is not (test_playback measures smoothness), so any steady advance will do.
        rt = Runtime.open(curator_settings(tmp_path_factory.mktemp("real-world"), f"{site.url}/", min_advance_ratio=0.1))
        curator = Curator(rt)

        async def twice() -> tuple[DiscoveryReport, DiscoveryReport]:
            async with curator.browser() as browser:
                first = await curator.discover("calm nature", max_plans=20, browser=browser)
                second = await curator.discover("calm nature", max_plans=20, browser=browser)
                return first, second

        try:
            first, second = asyncio.run(twice())
        finally:
            curator.close()
        requested = list(site.requests)
        with rt.db.session() as session:
            plans = {p.page_url.removeprefix(site.url): p for p in session.scalars(select(Plan))}
            session.expunge_all()
    rt.db.dispose()
    yield first, second, requested, plans, site.url


def outcomes(report: DiscoveryReport, base: str) -> dict:
    return {o.page_url.removeprefix(base): o for o in report.outcomes}


def test_a_facade_that_starts_hls_js_over_mse_is_clicked_and_measured(discoveries) -> None:
    first, _, _, plans, base = discoveries
    found = outcomes(first, base)
    assert found["/watch/facade-hls"].status == "kept", found["/watch/facade-hls"].reason
    assert found["/watch/facade-hls"].media_url == f"{base}/hls/facade/master.m3u8"  # the manifest, not the blob:
    playback = plans["/watch/facade-hls"].playback["playback"]
    assert (playback["started_by"], playback["media_kind"], playback["height"]) == ("click", "hls", 720)
    assert playback["variant"] == {"url": f"{base}/hls/facade/hi/media.m3u8", "width": 1280, "height": 720,
                                   "bandwidth": 1200000}  # fmt: skip
    assert playback["live"] is None


def test_a_facade_inside_an_iframe_is_clicked(discoveries) -> None:
    first, _, _, plans, base = discoveries
    found = outcomes(first, base)["/watch/facade-iframe"]
    assert found.status == "kept", found.reason
    assert found.media_url == f"{base}/hls/embedded/master.m3u8"
    assert plans["/watch/facade-iframe"].playback["playback"]["frame_url"] == f"{base}/embed/facade"


def test_a_consent_dialog_is_dismissed_sharing_least_then_the_bare_video_is_clicked(discoveries) -> None:
    first, _, requested, plans, base = discoveries
    found = outcomes(first, base)["/watch/consent"]
    assert found.status == "kept", found.reason
    assert found.media_url == f"{base}/files/paint-flow.mp4"
    assert "/consent?choice=reject" in requested
    assert not [p for p in requested if p.startswith("/consent?choice=") and not p.endswith("reject")]
    assert "dismissed a consent dialog with 'Reject all'" in plans["/watch/consent"].playback["tried"]


def test_a_lazy_iframe_far_down_the_page_is_scrolled_to(discoveries) -> None:
    first, _, requested, plans, base = discoveries
    found = outcomes(first, base)["/watch/lazy-iframe"]
    assert found.status == "kept", found.reason
    assert found.media_url == f"{base}/files/ocean-waves.mp4"
    assert "/embed/plain" in requested
    assert "scrolled down to look for a player further on" in plans["/watch/lazy-iframe"].playback["tried"]


def test_a_click_to_continue_interstitial_is_dismissed(discoveries) -> None:
    first, _, requested, plans, base = discoveries
    found = outcomes(first, base)["/watch/continue"]
    assert found.status == "kept", found.reason
    assert "/interstitial?continued" in requested
    assert plans["/watch/continue"].playback["playback"]["started_by"] == "click"


def test_an_age_gate_is_never_clicked_through(discoveries) -> None:
    first, _, requested, plans, base = discoveries
    found = outcomes(first, base)["/watch/age-gate"]
    assert found.status == "rejected"
    assert found.reason.startswith("an age confirmation is asked")
    assert "/age-ok" not in requested
    assert plans["/watch/age-gate"].title == "Night swim"  # metadata is kept on a rejection


def test_a_live_stream_is_rejected(discoveries) -> None:
    first, _, _, plans, base = discoveries
    found = outcomes(first, base)["/watch/live"]
    assert found.status == "rejected"
    assert found.reason.startswith("a live stream")
    assert plans["/watch/live"].playback["playback"]["live"] == "its HLS playlist has no EXT-X-ENDLIST"


def test_a_failed_page_keeps_its_title_and_what_was_tried(discoveries) -> None:
    first, _, _, plans, base = discoveries
    found = outcomes(first, base)["/watch/gone"]
    assert (found.status, found.reason, found.title) == ("rejected", "no video found on the page", "Removed clip")
    tried = plans["/watch/gone"].playback["tried"]
    assert tried == ['clicked the play control "Play video"', "no <video> appeared within 4 s"]
    assert found.tried == tried  # also in `vvtvctl discover`'s report


def test_a_hostile_page_is_settled_once_and_discovery_goes_on(discoveries) -> None:
    first, second, _, plans, base = discoveries
    hostile = outcomes(first, base)["/watch/hostile"]
    assert hostile.status in ("rejected", "kept") and hostile.reason  # saved with a reason, whatever it broke
    assert plans["/watch/hostile"].status in (PlanStatus.REJECTED, PlanStatus.APPROVED)
    assert len(first.outcomes) == len(PAGES)  # every link after it was visited too
    again = outcomes(second, base)
    assert {o.status for o in again.values()} == {"skipped"}  # nothing is visited twice
    assert again["/watch/hostile"].reason.startswith(f"already planned as #{plans['/watch/hostile'].id}")
