"""Acceptance 2: a site the Curator has never seen, with other words, classes and structure
and no site profile, is discovered by the generic profile. A YAML profile then helps on
a variant whose search box the generic profile cannot tell apart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from demosite import curator_settings
from sitekit import NOT_FOUND, Reply, SiteServer, demo_media, page
from sqlalchemy import select

from vvtv.discovery.curator import Curator, DiscoveryReport
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

CLIPS = {  # id -> (title, blurb, media file from the demo cache, how the page builds its player)
    "1": ("Sunrise over the harbour", "Slow, calm harbour footage with soft piano music.", "ocean-waves.mp4", "shadow"),
    "2": ("Watercolour study", "An art film: painting a landscape, with quiet music.", "paint-flow.mp4", "late"),
    "3": ("Street band, handheld", "A music clip filmed on an old phone.", "garage-rehearsal.mp4", "late"),
}
PER_PAGE = 2

SHELL = """<!doctype html><html><head><title>{title} | Reelhouse</title>{head}</head><body>
<div class="masthead" role="banner"><b>Reelhouse</b> <a href="/">Start</a> <a href="/info">Info</a></div>
<div class="side"><a href="/upload">Upload a clip</a></div>
<div class="content">{content}</div>
<div class="legal" role="contentinfo"><a href="/terms">Terms</a></div>
</body></html>"""

# Two kinds of player built by JavaScript: a custom element with its <video> inside a
# shadow root, and a <video> whose source is set a moment after the page loads.
PLAYERS = {
    "shadow": """<reel-player data-file="/files/{file}"></reel-player><script>
customElements.define('reel-player', class extends HTMLElement {{
  connectedCallback() {{
    const root = this.attachShadow({{mode: 'open'}});
    const v = document.createElement('video');
    v.width = 640; v.height = 360; v.controls = true; v.src = this.dataset.file;
    root.appendChild(v);
  }}
}});</script>""",
    "late": """<figure class="stage"><video width="640" height="360" controls></video></figure><script>
setTimeout(() => {{ document.querySelector('.stage video').src = '/files/{file}'; }}, 400);</script>""",
}


def reelhouse(media: Path, *, two_fields: bool = False):  # noqa: ANN201
    """The second site's pages; `two_fields` adds a second text field to the finder form."""

    def routes(path: str) -> Reply:
        url = urlsplit(path)
        query = parse_qs(url.query)
        if url.path == "/":
            extra = '<label>From year <input name="y" class="field"></label>' if two_fields else ""
            return page(SHELL.format(title="Start", head="", content=f"""
<h2>Fresh reels every week</h2>
<form action="/lookup" method="get" class="finder">
  <label>What would you like to watch? <input name="k" class="field"></label>{extra}
  <input type="submit" value="Go">
</form>"""))
        if url.path == "/lookup":
            words = query.get("k", [""])[0].lower().split()
            hits = [i for i, (t, b, _, _) in CLIPS.items() if any(w in (t + b).lower() for w in words)]
            number = int(query.get("p", ["1"])[0])
            shown = hits[(number - 1) * PER_PAGE : number * PER_PAGE]
            items = "".join(f'<article class="hit"><h3><a href="/clip?id={i}">{CLIPS[i][0]}</a></h3><p>{CLIPS[i][1]}</p></article>'
                            for i in shown)  # fmt: skip
            older = (f'<div class="pages"><a href="/lookup?k={"+".join(words)}&p={number + 1}">Older clips →</a></div>'
                     if number * PER_PAGE < len(hits) else "")  # fmt: skip
            return page(SHELL.format(title="Found", head="", content=f'<section class="hits">{items}</section>{older}'))
        if url.path == "/clip" and query.get("id", [""])[0] in CLIPS:
            title, blurb, file, player = CLIPS[query["id"][0]]
            head = (f'<meta property="og:title" content="{title}"><meta property="og:description" content="{blurb}">'
                    '<meta name="keywords" content="reel, music, calm">')  # fmt: skip
            content = f"<h1>{title}</h1>{PLAYERS[player].format(file=file)}<p>{blurb}</p><small>Licence: CC BY 4.0</small>"
            return page(SHELL.format(title=title, head=head, content=content))
        if url.path.startswith("/files/"):
            return Reply(content_type="video/mp4", file=media / url.path.removeprefix("/files/"))
        if url.path in ("/info", "/upload", "/terms"):
            return page(SHELL.format(title="About", head="", content="<p>Reelhouse is a small reel library.</p>"))
        return NOT_FOUND

    return routes


def discover(rt: Runtime, query: str, max_plans: int) -> DiscoveryReport:
    curator = Curator(rt)
    try:
        return asyncio.run(curator.discover(query, max_plans=max_plans))
    finally:
        curator.close()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_media(tmp_path_factory)


def test_the_generic_profile_discovers_a_site_it_has_never_seen(media: Path, tmp_path: Path) -> None:
    with SiteServer(routes=reelhouse(media)) as site:
        rt = Runtime.open(curator_settings(tmp_path / "var", f"{site.url}/"))
        report = discover(rt, "calm music", max_plans=5)
        requested = list(site.requests)
    assert report.notes[0] == f"{site.url}/: searched through the only text field of a form"
    assert any(p.startswith("/lookup?k=calm+music") for p in requested)
    assert "/lookup?k=calm+music&p=2" in requested  # followed "Older clips →"
    outcomes = {o.page_url.removeprefix(site.url): o for o in report.outcomes}
    assert set(outcomes) == {"/clip?id=1", "/clip?id=2", "/clip?id=3", "/upload"}  # not the banner, pager or footer
    assert outcomes["/clip?id=1"].status == "kept"
    assert outcomes["/clip?id=1"].media_url == f"{site.url}/files/ocean-waves.mp4"  # from inside a shadow root
    assert outcomes["/clip?id=2"].status == "kept"
    assert outcomes["/clip?id=2"].media_url == f"{site.url}/files/paint-flow.mp4"  # set by script after load
    assert outcomes["/clip?id=3"].reason == "below HD: played at 640x360, the minimum is 720 lines"
    assert outcomes["/upload"].reason == "no video found on the page"
    with rt.db.session() as session:
        kept = session.scalars(select(Plan).where(Plan.status == PlanStatus.APPROVED)).all()
        assert {p.licence for p in kept} == {"CC BY 4.0"}
        assert {p.title for p in kept} == {"Sunrise over the harbour", "Watercolour study"}
    rt.db.dispose()


def test_a_yaml_profile_helps_where_the_generic_guess_cannot(media: Path, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    with SiteServer(routes=reelhouse(media, two_fields=True)) as site:
        (profiles / "reelhouse.yaml").write_text(
            f"name: reelhouse\nstart_url: {site.url}/\nsearch_input: \"input[name=k]\"\n"
            "result_links: \"article.hit h3 a\"\nnext_page: \".pages a\"\n"
        )
        generic = discover(Runtime.open(curator_settings(tmp_path / "generic", f"{site.url}/")), "harbour", 1)
        rt = Runtime.open(curator_settings(tmp_path / "profiled", "reelhouse", site_profiles_dir=str(profiles)))
        profiled = discover(rt, "harbour", 1)
    assert generic.notes[0].endswith("no search box found; links taken from the page itself")
    assert generic.count("kept") == 0
    assert profiled.notes[0] == f"{site.url}/: searched through the site profile"
    assert [(o.page_url.removeprefix(site.url), o.status) for o in profiled.outcomes] == [("/clip?id=1", "kept")]
