"""The origin: serves the channels to viewers and CDNs over HTTP.

Everything it serves comes from disk (the Broadcaster's playlists, the
Factory's segments) or from the database (the guide); it holds no state of its
own, so any number of origins can serve the same media folder and a restarted
one carries on at once.

    /                              player page of the default channel
    /channels/NAME/                player page of channel NAME
    /live.m3u8                     default channel's master playlist
    /channels/NAME/*.m3u8          a channel's master and media playlists
    /assets/...                    segments, VOD playlists and posters
    /static/...                    the player's script, styles and hls.js
    /healthz                       200 when every channel moves, 503 when one is stale
    /api/channels/NAME/guide       what is on now and next
    /channels.m3u, /epg.xml        the channel list and the XMLTV guide for IPTV apps (iptv.py)
    /metrics                       the channel in Prometheus text format (origin/metrics.py)
    /api/channels/NAME/gate        the age gate: a date of birth in, a viewing token out (access.py)
    /api/control/...               the control API for `vvtvctl --url` (bearer token; control/api.py)

Every playlist and segment served is noted for the viewer statistics (origin/audience.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import asdict

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response,
)
from starlette.routing import Route

from vvtv.broadcast.timeline import lookback_us
from vvtv.control.api import control_routes
from vvtv.errors import ConfigError, VVTVError
from vvtv.origin import iptv
from vvtv.origin.access import Access
from vvtv.origin.audience import VIEWER_COOKIE, AudienceRecorder, new_viewer_cookie
from vvtv.origin.guide import read_guide
from vvtv.origin.health import check_health
from vvtv.origin.listener import announce_ready, inherited_or_new
from vvtv.origin.live import LivePlaylists
from vvtv.origin.metrics import RequestCounter, origin_registry
from vvtv.origin.page import CONTENT_SECURITY_POLICY, HLS_LIBRARY, STATIC_DIR, PlayerPage
from vvtv.origin.paths import CONTENT_TYPES, PLAYLIST_SUFFIX, NotServed, ServedTree, content_type, media_tree
from vvtv.runtime import Runtime
from vvtv.storage.objects import published_url

log = logging.getLogger(__name__)

# Playlists change with every segment; segments and posters never change once written.
PLAYLIST_CACHE = "public, max-age=1"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
STATIC_CACHE = "public, max-age=300"
NO_STORE = "no-store"
# A browser takes a file for the type it is served as, never for what its bytes look like.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
PLAYLIST_TYPE = CONTENT_TYPES[PLAYLIST_SUFFIX]

# Players on other sites (and CDNs) fetch the stream cross-origin.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, Age, Date",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-Range, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}
MEDIA_METHODS = ["GET", "HEAD", "OPTIONS"]
HEARTBEAT_SECONDS = 5.0
AUDIENCE_FLUSH_SECONDS = 5.0
VIEWER_COOKIE_SECONDS = 30 * 24 * 3600


def create_app(rt: Runtime) -> Starlette:
    settings = rt.settings
    media = media_tree(settings.media_dir)
    static = ServedTree(folder=STATIC_DIR)
    page = PlayerPage.load()
    access = Access(rt)
    live = LivePlaylists(rt)
    audience = AudienceRecorder(rt)
    if not HLS_LIBRARY.is_file():
        log.warning("origin: %s is missing (run `make web`); the player page needs it", HLS_LIBRARY)

    def not_found(*, cors: bool) -> Response:
        headers = {**CORS, "Cache-Control": NO_STORE} if cors else {"Cache-Control": NO_STORE}
        return PlainTextResponse("Not Found", status_code=404, headers=headers)

    def note_viewer(request: Request) -> None:
        if request.method != "GET":
            return
        now = rt.clock.now_us()
        viewer = audience.keys.key(
            cookie=request.cookies.get(VIEWER_COOKIE), address=request.client.host if request.client else "",
            user_agent=request.headers.get("user-agent", ""), now_us=now,
        )  # fmt: skip
        audience.request(request.scope["path"], viewer, now)

    def media_file(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        url_path = request.scope["path"].removeprefix("/")
        # A channel's live playlist is answered even when its file is missing or behind (origin/live.py).
        channel_playlist = live.match(url_path)
        path = elsewhere = None
        if channel_playlist is None:
            try:
                path = media.resolve(url_path)
            except NotServed:
                # An asset made by a Factory on another machine is in object storage.
                elsewhere = published_url(settings.storage, url_path)
                if elsewhere is None:
                    return not_found(cors=True)
        decision = access.media(request, url_path)
        if decision.status is not None:
            return decision.refusal(CORS)
        note_viewer(request)  # a segment redirected to object storage is still being watched
        if elsewhere is not None:
            return RedirectResponse(elsewhere, status_code=302, headers=CORS)
        if path is None or path.suffix == PLAYLIST_SUFFIX:
            if channel_playlist is not None:
                body = live.answer(channel_playlist, _read_playlist(media, url_path))
            else:
                try:
                    # Read whole: the Broadcaster replaces playlists atomically, so this is one version.
                    body = path.read_bytes()
                except OSError:
                    body = None
            if body is None:
                return not_found(cors=True)
            response = Response(
                decision.playlist(body), media_type=PLAYLIST_TYPE,
                headers={**CORS, "Cache-Control": decision.cache_control(PLAYLIST_CACHE)},
            )  # fmt: skip
        else:
            try:
                stat = path.stat()
            except OSError:  # retired and removed since it was resolved
                return not_found(cors=True)
            # FileResponse answers HEAD and byte Range requests (206, 416) itself.
            response = FileResponse(
                path, media_type=content_type(path), stat_result=stat,
                headers={**CORS, "Cache-Control": decision.cache_control(IMMUTABLE_CACHE)},
            )  # fmt: skip
        for name, value in decision.headers():
            response.headers.append(name, value)
        response.headers.update(NOSNIFF)
        return response

    def static_file(request: Request) -> Response:
        try:
            path = static.resolve(request.path_params["path"])
        except NotServed:
            return not_found(cors=False)
        return FileResponse(path, media_type=content_type(path), headers={"Cache-Control": STATIC_CACHE, **NOSNIFF})

    def player_page(request: Request) -> Response:
        name = request.path_params.get("name", settings.origin.default_channel)
        try:
            channel = settings.channel(name)
        except ConfigError:
            return not_found(cors=False)
        decision = access.page(request, channel)
        if decision.status is not None:
            return decision.refusal({})
        playlist = "/live.m3u8" if "name" not in request.path_params else f"/channels/{name}/live.m3u8"
        response = HTMLResponse(
            page.render(channel, playlist_url=playlist, gate=access.needs_gate(request, channel)),
            headers={
                "Cache-Control": decision.cache_control("no-cache"),
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            },
        )
        if VIEWER_COOKIE not in request.cookies:
            # A random id for the viewer statistics, so viewers behind one address count apart.
            response.set_cookie(VIEWER_COOKIE, new_viewer_cookie(), max_age=VIEWER_COOKIE_SECONDS,
                                httponly=True, samesite="lax")  # fmt: skip
        return response

    def healthz(_request: Request) -> Response:
        health = check_health(settings, rt.clock)
        body = {"status": health.status, "channels": {name: asdict(h) for name, h in health.channels.items()}}
        return JSONResponse(body, status_code=200 if health.ok else 503, headers={"Cache-Control": NO_STORE})

    def guide(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            settings.channel(name)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404, headers={"Cache-Control": NO_STORE})
        # A player can lag the live edge by up to a live window (plus the segments being published).
        profile = settings.profile_for(name)
        lookback = lookback_us(settings.broadcaster.window_segments, profile.segment_seconds)
        try:
            with rt.db.session() as session:
                result = read_guide(
                    session, name, rt.clock.now_us(), lookback_us=lookback, next_count=settings.origin.guide_next
                )
        except (SQLAlchemyError, VVTVError) as exc:
            log.warning("origin: guide of %s unavailable: %s", name, exc)
            return JSONResponse(
                {"error": "the schedule is unavailable right now"}, status_code=503, headers={"Cache-Control": NO_STORE}
            )
        return JSONResponse(asdict(result), headers={"Cache-Control": "public, max-age=2"})

    registry, requests = origin_registry(rt)

    def metrics(_request: Request) -> Response:
        # A sync endpoint runs in a worker thread: the collector's database reads never block serving.
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": NO_STORE})

    app = Starlette(
        middleware=[Middleware(RequestCounter, counter=requests)],
        routes=[
            Route("/", player_page),
            Route("/channels/{name}/", player_page),
            Route("/live.m3u8", media_file, methods=MEDIA_METHODS),
            Route("/channels/{path:path}", media_file, methods=MEDIA_METHODS),
            Route("/assets/{path:path}", media_file, methods=MEDIA_METHODS),
            Route("/static/{path:path}", static_file),
            Route("/healthz", healthz),
            Route("/api/channels/{name}/guide", guide),
            *iptv.routes(rt),
            Route("/metrics", metrics),
            *access.routes(),
            *control_routes(rt),
        ],
    )
    app.state.audience = audience
    return app


def _read_playlist(media: ServedTree, url_path: str) -> bytes | None:
    try:
        # Read whole: the Broadcaster replaces playlists atomically, so this is one version.
        return media.resolve(url_path).read_bytes()
    except (NotServed, OSError):
        return None


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # rt.stop is the one way a role is asked to finish; whoever runs the role owns the signals.
        yield


def serve(rt: Runtime, sock: socket.socket) -> None:
    """Serve the origin on `sock` until rt.stop is set; closes the socket."""
    app = create_app(rt)
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=2
    )
    server = _Server(config)
    host, port = sock.getsockname()[:2]
    started_us = rt.clock.now_us()

    async def watch() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        next_beat = next_flush = 0.0
        loop = asyncio.get_running_loop()
        while not serving.done():
            if server.started:
                announce_ready()
            if rt.stop.is_set():
                server.should_exit = True
            elif loop.time() >= next_beat:
                next_beat = loop.time() + HEARTBEAT_SECONDS
                await asyncio.to_thread(_heartbeat, rt, started_us, host=host, port=port)
            elif loop.time() >= next_flush:
                next_flush = loop.time() + AUDIENCE_FLUSH_SECONDS
                await asyncio.to_thread(_flush_audience, app.state.audience)
            await asyncio.wait({serving}, timeout=0.2)
        serving.result()
        await asyncio.to_thread(_flush_audience, app.state.audience)

    log.info("origin: serving %s on http://%s:%d/", rt.settings.media_dir, host, port)
    try:
        asyncio.run(watch())
    finally:
        sock.close()


def _heartbeat(rt: Runtime, started_us: int, **data: object) -> None:
    # The origin serves files without the database, so a database hiccup must not stop it.
    try:
        rt.heartbeat("origin", started_us, **data)
    except (SQLAlchemyError, VVTVError) as exc:
        log.warning("origin: heartbeat not recorded: %s", exc)


def _flush_audience(audience: AudienceRecorder) -> None:
    # Viewer statistics are worth less than serving: a database hiccup keeps them for the next flush.
    try:
        audience.flush()
    except (SQLAlchemyError, VVTVError) as exc:
        log.warning("origin: viewer statistics not recorded: %s", exc)


def run(rt: Runtime) -> None:
    """The origin role: serve on settings.origin host and port until rt.stop is set."""
    serve(rt, inherited_or_new(rt.settings.origin.host, rt.settings.origin.port))
