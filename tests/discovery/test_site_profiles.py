"""The built-in site profiles (Internet Archive, Wikimedia Commons, PeerTube) against local pages
built with the same structure as each site: web components with shadow roots, MediaWiki's search
form and pager, PeerTube's Angular search box and video miniatures. In real headless Chromium, one
browser for all: search like a person, read the result links, find the next page, and mark the
video page's play control.
"""

from __future__ import annotations

import asyncio
import random
from urllib.parse import parse_qs, urlsplit

import pytest
from sitekit import NOT_FOUND, Reply, SiteServer, page

from vvtv.config import load_settings
from vvtv.discovery import sites
from vvtv.discovery.browser import BrowserOptions, BrowserSession
from vvtv.discovery.human import Human
from vvtv.discovery.playback import FIND_PLAY_SCRIPT

# Web components as the Internet Archive builds them: the search box three shadow roots deep,
# result tiles each in a shadow root, items and collections side by side.
IA_COMPONENTS = """<script>
const define = (name, html) => customElements.define(name, class extends HTMLElement {
  connectedCallback() { this.attachShadow({ mode: 'open' }).innerHTML = html(this); } });
define('nav-search', () => '<form action="/search"><input type="text" name="query" class="search-field" placeholder="Search"></form>');
define('primary-nav', () => '<a href="/details/texts">Texts</a><nav-search></nav-search>');
define('ia-topnav', () => '<primary-nav></primary-nav>');
define('item-tile', (el) => '<div class="title">' + el.dataset.title + '</div>');
define('collection-tile', (el) => '<div class="title">' + el.dataset.title + '</div>');
define('tile-dispatcher', (el) => `<div id="container"><a href="/details/${el.dataset.id}" title="${el.dataset.title}">` +
  `<${el.dataset.kind}-tile data-title="${el.dataset.title}"></${el.dataset.kind}-tile></a></div>`);
define('collection-browser', () => ['ocean-film:item:Ocean film', 'prelinger:collection:Prelinger Archives',
  'harbour-1952:item:Harbour, 1952'].map((t) => { const [id, kind, title] = t.split(':');
  return `<tile-dispatcher data-id="${id}" data-kind="${kind}" data-title="${title}"></tile-dispatcher>`; }).join(''));
define('app-root', () => '<ia-topnav></ia-topnav><collection-browser></collection-browser>');
</script>"""
IA_HOME = "<!doctype html><html><body><ia-topnav></ia-topnav><h1>Moving Image Archive</h1>" + IA_COMPONENTS + "</body></html>"
IA_RESULTS = "<!doctype html><html><body><app-root></app-root>" + IA_COMPONENTS + "</body></html>"
IA_ITEM = """<!doctype html><html><body><h1>Ocean film</h1><div id="theatre-ia"><div class="jwplayer">
<div class="jw-display-icon-container"><div class="jw-icon jw-icon-display jw-button-color" role="button" tabindex="0"
 style="width:80px;height:80px"></div></div></div></div></body></html>"""

# MediaWiki's Special:Search (OOUI widgets), its results and pager, and a file page's TimedMediaHandler poster.
COMMONS_SEARCH = """<!doctype html><html><body><div id="mw-head"><form action="/w/index.php" id="searchform">
<input type="search" name="search" placeholder="Search Wikimedia Commons" id="searchInput"></form></div>
<div id="content"><h1>Search results</h1><form id="search" action="/w/index.php"><div id="mw-search-top-table">
<div id="searchText" class="oo-ui-widget oo-ui-inputWidget oo-ui-textInputWidget"><input type="search" name="search"
 class="oo-ui-inputWidget-input" value="$query"></div><span class="oo-ui-buttonElement oo-ui-buttonWidget">
<button type="submit" class="oo-ui-inputWidget-input oo-ui-buttonElement-button">Search</button></span></div>
<input type="hidden" name="title" value="Special:Search"><input type="hidden" name="profile" value="images">
<input type="hidden" name="fulltext" value="1"></form>$results</div></body></html>"""
COMMONS_RESULTS = """<ul class="mw-search-results"><li class="mw-search-result"><table><tr><td>
<a href="/wiki/File:Ocean_waves.webm" class="mw-file-description"><img src="/thumb.jpg" width="120" height="68" alt=""></a></td><td>
<div class="mw-search-result-heading"><a href="/wiki/File:Ocean_waves.webm" title="File:Ocean waves.webm">File:<span class="searchmatch">Ocean</span> waves.webm</a></div>
<div class="searchresult">Waves at dawn</div></td></tr></table></li><li class="mw-search-result"><table><tr><td></td><td>
<div class="mw-search-result-heading"><a href="/wiki/File:Harbour_timelapse.webm">File:Harbour timelapse.webm</a></div>
</td></tr></table></li></ul><p class="mw-search-pager-bottom">View (previous 20 | <a href="/w/index.php?search=$query&amp;title=Special:Search&amp;profile=images&amp;fulltext=1&amp;offset=20" class="mw-nextlink" title="Next 20 results">next 20</a>)</p>"""
COMMONS_FILE = """<!doctype html><html><body><h1>File:Ocean waves.webm</h1><div class="fullMedia">
<span class="mw-tmh-player video" style="display:inline-block;position:relative;width:640px;height:360px"><video poster="/thumb.jpg" preload="none" data-mwtitle="Ocean_waves.webm"
 width="640" height="360"><source src="/ocean.webm" type="video/webm"></video><a href="/wiki/File:Ocean_waves.webm" title="Play video"
 role="button" class="mw-tmh-play" style="position:absolute;inset:0"><span class="mw-tmh-play-icon notheme"></span></a></span></div></body></html>"""

# PeerTube's Angular client: a search box outside any form, miniatures with channel and video links.
PEERTUBE_HEADER = """<header><div class="position-relative" id="typeahead-container">
<button class="button-unstyle search-button" title="Search">⌕</button>
<input type="search" id="search-video" name="search-video" aria-label="Search videos, playlists, channels…"
 placeholder="Search videos, channels…" autocomplete="off"></div></header><script>
const go = () => { location.href = '/search?search=' + encodeURIComponent(document.getElementById('search-video').value); };
document.getElementById('search-video').addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
document.querySelector('.search-button').addEventListener('click', go);</script>"""
PEERTUBE_MINIATURE = """<div class="video-miniature"><my-video-thumbnail><a href="/w/{id}" class="video-thumbnail">
<img src="/thumb.jpg" alt=""></a></my-video-thumbnail><div class="video-info"><div class="owner min-width-0">
<div class="owner-container"><a class="owner-label ellipsis" href="/c/sea_films">Sea films</a></div></div>
<div class="video-name-container"><my-link class="video-name"><a href="/w/{id}" title="{title}">{title}</a></my-link>
</div><div class="date-and-views"><my-date-toggle>1 year ago</my-date-toggle></div></div></div>"""
PEERTUBE_WATCH = """<!doctype html><html><body>""" + PEERTUBE_HEADER + """<div id="videojs-wrapper"><div class="video-js vjs-peertube-skin">
<video class="vjs-tech" width="960" height="540"></video><button class="vjs-big-play-button" type="button" title="Play Video">
<span class="vjs-icon-placeholder"></span></button></div></div></body></html>"""


def look_alikes(path: str) -> Reply:
    url = urlsplit(path)
    query = parse_qs(url.query)
    if url.path == "/ia/":
        return page(IA_HOME)
    if url.path == "/search" and "query" in query:
        return page(IA_RESULTS)
    if url.path == "/details/ocean-film":
        return page(IA_ITEM)
    if url.path == "/w/index.php":
        words = query.get("search", [""])[0]
        return page(COMMONS_SEARCH.replace("$results", COMMONS_RESULTS if words else "").replace("$query", words))
    if url.path == "/wiki/File:Ocean_waves.webm":
        return page(COMMONS_FILE)
    if url.path == "/pt/":
        return page("<!doctype html><html><body>" + PEERTUBE_HEADER + "<h1>Discover</h1></body></html>")
    if url.path == "/search" and "search" in query:
        found = [("kB1sxQ", "Ocean waves"), ("x7Yp2a", "Harbour at night")]
        miniatures = "".join(PEERTUBE_MINIATURE.format(id=i, title=t) for i, t in found)
        return page("<!doctype html><html><body>" + PEERTUBE_HEADER + f"<my-videos-list>{miniatures}</my-videos-list></body></html>")
    if url.path == "/w/kB1sxQ":
        return page(PEERTUBE_WATCH)
    return NOT_FOUND


LOCAL = {"internet-archive": "/ia/", "wikimedia-commons": "/w/index.php?title=Special:Search&profile=images&fulltext=1",
         "peertube": "/pt/"}  # fmt: skip
VIDEO_PAGE = {"internet-archive": "/details/ocean-film", "wikimedia-commons": "/wiki/File:Ocean_waves.webm",
              "peertube": "/w/kB1sxQ"}  # fmt: skip


@pytest.fixture(scope="module")
def walked() -> dict[str, dict]:
    """For every built-in profile, on its local look-alike: how the search went, the links, the next page
    and the play control marked on a video page."""
    built_in = sites.all_profiles(None)
    found: dict[str, dict] = {}
    with SiteServer(routes=look_alikes) as site:

        async def walk() -> None:
            options = BrowserOptions(executable=load_settings().discovery.chromium_executable(), timeout_seconds=6,
                                     allowed_hosts=["127.0.0.1"])  # the look-alikes, through the egress proxy
            async with BrowserSession(options, policy=lambda _url: None) as browser:
                for name, start in LOCAL.items():
                    profile = built_in[name].model_copy(update={"start_url": site.url + start})
                    tab = await browser.new_page()
                    try:
                        await tab.goto(profile.start_url)
                        how = await sites.search(tab, Human(tab, random.Random(1), pacing=0), profile, "ocean")
                        links = await sites.result_links(tab, profile)
                        next_page = await sites.find_next(tab, profile)
                        await tab.goto(site.url + VIDEO_PAGE[name])
                        play = await tab.main.evaluate(FIND_PLAY_SCRIPT, profile.play_control)
                    finally:
                        await tab.close()
                    found[name] = {"how": how, "links": [link.removeprefix(site.url) for link in links],
                                   "next": next_page and next_page.removeprefix(site.url), "play": play}  # fmt: skip

        asyncio.run(walk())
    return found


def test_internet_archive_through_its_shadow_roots(walked: dict[str, dict]) -> None:
    assert walked["internet-archive"] == {
        "how": "the site profile", "links": ["/details/ocean-film", "/details/harbour-1952"],  # not the collection
        "next": None, "play": "the site profile's play control \"\"",
    }  # fmt: skip


def test_wikimedia_commons_search_results_and_pager(walked: dict[str, dict]) -> None:
    assert walked["wikimedia-commons"] == {
        "how": "the site profile", "links": ["/wiki/File:Ocean_waves.webm", "/wiki/File:Harbour_timelapse.webm"],
        "next": "/w/index.php?search=ocean&title=Special:Search&profile=images&fulltext=1&offset=20",
        "play": "the site profile's play control \"Play video\"",
    }  # fmt: skip


def test_peertube_search_box_and_miniatures(walked: dict[str, dict]) -> None:
    assert walked["peertube"] == {
        "how": "the site profile", "links": ["/w/kB1sxQ", "/w/x7Yp2a"], "next": None,
        "play": "the site profile's play control \"Play Video\"",
    }  # fmt: skip
