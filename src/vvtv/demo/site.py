"""`vvtv demo-site`: a small video website on 127.0.0.1 for the Curator to discover from.

A search page, result pages with pagination, video pages of every kind in
`site_media.CATALOGUE`, licence and metadata markup (Open Graph, JSON-LD,
microdata, plain text), and a robots.txt that disallows /members/.
Two endpoints exist for tests and operators, never linked from a page:
`/__requests` (every path asked for, in order) and `/__events` (what the
pages' own event logs sent home: mouse moves, clicks, key presses).
"""

from __future__ import annotations

import html
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from vvtv.demo.site_media import CATALOGUE, LicenceMarkup, PageKind, DemoVideo, find, make_media
from vvtv.errors import ConfigError
from vvtv.runtime import Runtime

SITE_DIR = Path(__file__).parent / "site"
HLS_JS = Path(__file__).parent.parent / "origin" / "static" / "vendor" / "hls.min.js"
PER_PAGE = 3
ROBOTS = "User-agent: *\nDisallow: /members/\n"
# A 1x1 PNG for the members' promo banner: the image a polite crawler must never fetch.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101001868dd8d0000000049454e44ae426082"
)


@dataclass(kw_only=True)
class SiteLog:
    requests: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


def _template(name: str) -> Template:
    return Template((SITE_DIR / name).read_text())


def _licence_name(url: str) -> str:
    kind = url.rstrip("/").split("/")[-2].upper()  # ".../licenses/by-sa/4.0/" -> "BY-SA"
    return f"CC {kind} 4.0"


def _matches(video: DemoVideo, query: str) -> bool:
    words = [w for w in query.lower().split() if len(w) >= 3]
    text = " ".join([video.title, video.description, *video.tags, "creative commons"]).lower()
    return any(w in text for w in words)


def _page(title: str, main: str, *, head: str = "", query: str = "") -> HTMLResponse:
    body = _template("layout.html").substitute(
        title=html.escape(title), head=head, main=main, query=html.escape(query, quote=True)
    )
    return HTMLResponse(body)


def home(_request: Request) -> Response:
    return _page(
        "Free videos",
        "<h1>Free videos to watch and share</h1><p>Search our library of Creative Commons music, "
        "nature, science and art films.</p>",
    )


def about(_request: Request) -> Response:
    return _page("About", "<h1>About Clipfair</h1><p>A small, friendly video library.</p>")


def search(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    raw_page = request.query_params.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
    found = [v for v in CATALOGUE if _matches(v, query)] if query else []
    shown = found[(page - 1) * PER_PAGE : page * PER_PAGE]
    item = _template("result_item.html")
    items = "\n".join(
        item.substitute(
            href=v.watch_path, slug=v.slug, title=html.escape(v.title), description=html.escape(v.description)
        )
        for v in shown
    )
    links = []
    if page > 1:
        links.append(f'<a rel="prev" href="/search?{urlencode({"q": query, "page": page - 1})}">« Previous</a>')
    if page * PER_PAGE < len(found):
        links.append(f'<a rel="next" href="/search?{urlencode({"q": query, "page": page + 1})}">Next »</a>')
    main = _template("results.html").substitute(
        query=html.escape(query), count=len(found), items=items or "<li>No videos found.</li>", pagination=" ".join(links)
    )
    return _page(f"Search: {query}", main, query=query)


def _head(video: DemoVideo, base: str) -> str:
    media = f"{base}/media/{video.media_path}"
    thumb = f"{base}/media/{video.slug}.jpg"
    meta = [
        ("og:type", "video.other"), ("og:title", video.title), ("og:description", video.description),
        ("og:image", thumb), ("og:url", f"{base}{video.watch_path}"), ("og:video", media),
        ("video:duration", "12"), *[("video:tag", t) for t in video.tags],
    ]  # fmt: skip
    lines = [f'<meta property="{k}" content="{html.escape(v, quote=True)}">' for k, v in meta]
    lines.append(f'<meta name="description" content="{html.escape(video.description, quote=True)}">')
    if video.licence is LicenceMarkup.JSONLD or video.page is PageKind.PLAIN:
        data = {
            "@context": "https://schema.org", "@type": "VideoObject", "name": video.title,
            "description": video.description, "thumbnailUrl": [thumb], "uploadDate": "2026-01-01T00:00:00Z",
            "duration": "PT12S", "contentUrl": media, "keywords": ", ".join(video.tags),
        }  # fmt: skip
        if video.licence is LicenceMarkup.JSONLD:
            data["license"] = video.licence_url
        lines.append(f'<script type="application/ld+json">{json.dumps(data)}</script>')
    return "\n".join(lines)


def _player(video: DemoVideo) -> str:
    src = f"/media/{video.media_path}"
    poster = f"/media/{video.slug}.jpg"
    match video.page:
        case PageKind.SOURCES:
            return (f'<video id="player" controls preload="none" poster="{poster}" width="640" height="360">'
                    f'<source src="{src}" type="video/mp4">Your browser cannot play this video.</video>')  # fmt: skip
        case PageKind.CLICK:
            return (f'<div class="click-player" data-src="{src}" style="background-image:url({poster})">'
                    '<button class="big-play" aria-label="Play video">▶</button></div>'
                    '<script src="/static/click-player.js"></script>')  # fmt: skip
        case PageKind.HLS:
            return (f'<video id="player" controls poster="{poster}" width="640" height="360"></video>'
                    '<script src="/static/hls.min.js"></script>'
                    f'<script src="/static/hls-player.js" data-src="{src}"></script>')  # fmt: skip
        case PageKind.IFRAME:
            return (f'<iframe src="/embed/{video.slug}" width="660" height="380" title="{html.escape(video.title)}"'
                    " allowfullscreen></iframe>")  # fmt: skip
        case _:
            return f'<video id="player" src="{src}" poster="{poster}" controls preload="metadata" width="640" height="360"></video>'


def _licence(video: DemoVideo) -> str:
    name = _licence_name(video.licence_url)
    match video.licence:
        case LicenceMarkup.REL:
            return f'<p class="licence">Licence: <a rel="license" href="{video.licence_url}">{name}</a></p>'
        case LicenceMarkup.MICRODATA:
            return f'<p class="licence">Licence: <a itemprop="license" href="{video.licence_url}">{name}</a></p>'
        case LicenceMarkup.TEXT:
            return ('<p class="licence">This video is licensed under a Creative Commons '
                    "Attribution-ShareAlike 4.0 International licence.</p>")  # fmt: skip
        case _:
            return '<p class="licence">Some rights reserved.</p>'


def _watch_response(request: Request, video: DemoVideo) -> Response:
    base = str(request.base_url).rstrip("/")
    microdata = video.licence is LicenceMarkup.MICRODATA or video.page is PageKind.CLICK
    main = _template("watch.html").substitute(
        scope=' itemscope itemtype="https://schema.org/VideoObject"' if microdata else "",
        prop_name=' itemprop="name"' if microdata else "",
        prop_description=' itemprop="description"' if microdata else "",
        microdata=(f'<meta itemprop="duration" content="PT12S"><meta itemprop="uploadDate" content="2026-01-01">'
                   f'<link itemprop="thumbnailUrl" href="/media/{video.slug}.jpg">') if microdata else "",
        title=html.escape(video.title), description=html.escape(video.description),
        tags=", ".join(html.escape(t) for t in video.tags), player=_player(video), licence=_licence(video),
    )  # fmt: skip
    return _page(video.title, main, head=_head(video, base))


def watch(request: Request) -> Response:
    video = find(request.path_params["slug"])
    if video is None or video.page is PageKind.MEMBERS:
        return _page("Not found", "<h1>No such video</h1>")
    return _watch_response(request, video)


def members(request: Request) -> Response:
    video = find(request.path_params.get("slug", ""))
    if video is None or video.page is not PageKind.MEMBERS:
        return _page("Members", "<h1>Members only</h1><p>Sign in to see the members' videos.</p>")
    return _watch_response(request, video)


def embed(request: Request) -> Response:
    video = find(request.path_params["slug"])
    if video is None or video.page is not PageKind.IFRAME:
        return PlainTextResponse("no such embed", status_code=404)
    return HTMLResponse(_template("embed.html").substitute(
        title=html.escape(video.title), media=video.media_path, slug=video.slug
    ))  # fmt: skip


class RequestLog:
    """ASGI middleware noting every path asked for, in order (the robots test reads it)."""

    def __init__(self, app: ASGIApp, log: SiteLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__"):
            query = scope.get("query_string", b"").decode("latin-1")
            self.log.requests.append(scope["path"] + (f"?{query}" if query else ""))
        await self.app(scope, receive, send)


def build_app(media_dir: Path) -> tuple[ASGIApp, SiteLog]:
    if not HLS_JS.is_file():
        raise ConfigError(f"demo site: {HLS_JS} is missing (run `make web` to fetch hls.js from npm)")
    log = SiteLog()

    async def record_events(request: Request) -> Response:
        if request.method == "POST":
            try:
                log.events.append(json.loads(await request.body()))
            except ValueError:
                return PlainTextResponse("not JSON", status_code=400)
            return Response(status_code=204)
        return JSONResponse(log.events)

    async def requests_seen(_request: Request) -> Response:
        return JSONResponse(log.requests)

    async def hls_js(_request: Request) -> Response:
        return Response(HLS_JS.read_bytes(), media_type="text/javascript")

    routes = [
        Route("/", home),
        Route("/about", about),
        Route("/search", search),
        Route("/watch/{slug}", watch),
        Route("/embed/{slug}", embed),
        Route("/members/", members),
        Route("/members/watch/{slug}", members),
        Route("/members/promo.png", lambda _r: Response(PIXEL, media_type="image/png")),
        Route("/robots.txt", lambda _r: PlainTextResponse(ROBOTS)),
        Route("/static/hls.min.js", hls_js),
        Route("/__events", record_events, methods=["GET", "POST"]),
        Route("/__requests", requests_seen),
        Mount("/static", StaticFiles(directory=SITE_DIR)),
        Mount("/media", StaticFiles(directory=media_dir)),
    ]
    return RequestLog(Starlette(routes=routes), log), log


def run(rt: Runtime) -> None:
    """The demo-site role (for `vvtv up`): serve on demo_site.host/port until stopped."""
    settings = rt.settings
    serve(host=settings.demo_site.host, port=settings.demo_site.port, cache_dir=settings.data_dir.resolve() / "demo-site")


def serve(*, host: str, port: int, cache_dir: Path) -> None:
    """Make the media if needed, bind, print the site's URL on stdout, then serve until stopped."""
    import uvicorn

    media = make_media(cache_dir)
    app, _log = build_app(media)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before the URL is printed: whoever reads it may connect at once, while uvicorn still starts
    # (a bound socket that does not listen refuses connections).
    sock.listen(2048)
    print(f"http://{host}:{sock.getsockname()[1]}/", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
