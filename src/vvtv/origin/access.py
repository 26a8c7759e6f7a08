"""Who may fetch what: the age gate (gate.py) and geo rules (geo.py) applied to every request.

A channel with an age gate or a geo rule is *restricted*. Its player page, its
playlists and every segment it airs answer 451 to a country its rule refuses,
and its playlists and segments answer 403 without a valid viewing token (from
the `token` query parameter, or the channel's token cookie with the session
cookie it is bound to). Segments live under /assets/, shared by every channel
that airs them, so a segment's channels come from the schedule (refreshed every
few seconds): a segment that any unrestricted channel airs is public, one aired
only by restricted channels needs what one of those channels asks for.

Restricted answers are `private` (a shared cache must not hand them to someone
else); a token given in the URL is written into every URI of the playlists
served with it, so a plain HLS player carries it to the segments.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from vvtv.clock import US, iso
from vvtv.config import ChannelSettings
from vvtv.errors import ConfigError, InputError, VVTVError
from vvtv.origin import gate, geo
from vvtv.origin.paths import PLAYLIST_SUFFIX
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, ScheduleEntry

log = logging.getLogger(__name__)

# How long the map of which channel airs which asset is reused before it is read again.
ASSET_MAP_SECONDS = 3.0
# Entries that ended this long ago still count: a paused or lagging player may fetch their segments.
ASSET_MAP_LOOKBACK_US = 3600 * US
FORBIDDEN = 403
UNAVAILABLE_FOR_LEGAL_REASONS = 451
REFUSALS = {
    FORBIDDEN: "this channel needs a viewing token: open its page and pass the age check",
    UNAVAILABLE_FOR_LEGAL_REASONS: "this channel is not available in your country",
}


@dataclass(kw_only=True)
class Decision:
    """The answer to one request: refused (status), or served, perhaps privately and with a token."""

    status: int | None = None  # 403 or 451 when refused
    private: bool = False
    url_token: str | None = None  # written into the URIs of a served playlist
    set_cookies: list[str] = field(default_factory=list)

    def cache_control(self, shared: str) -> str:
        """The response's Cache-Control: `shared` as it is, or made private."""
        if not self.private:
            return shared
        return shared.replace("public", "private", 1) if "public" in shared else f"private, {shared}"

    def playlist(self, body: bytes) -> bytes:
        if not self.url_token:
            return body
        suffix = f"{gate.TOKEN_PARAMETER}={quote(self.url_token, safe='')}"
        lines = []
        for line in body.decode().split("\n"):
            if line and not line.startswith("#"):
                line += ("&" if "?" in line else "?") + suffix
            lines.append(line)
        return "\n".join(lines).encode()

    def headers(self) -> list[tuple[str, str]]:
        return [("set-cookie", cookie) for cookie in self.set_cookies]

    def refusal(self, extra_headers: dict[str, str]) -> Response:
        assert self.status is not None
        return PlainTextResponse(
            REFUSALS[self.status], status_code=self.status, headers={**extra_headers, "Cache-Control": "no-store"}
        )


class AssetChannels:
    """Which channels air (or aired within the hour) each asset folder, read from the schedule now and then."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._map: dict[str, frozenset[str]] | None = None
        self._read_at = 0.0

    def channels(self, asset_folder: str) -> frozenset[str] | None:
        """The channels airing it; an empty set when none does; None while the schedule cannot be read."""
        with self._lock:
            if self._map is None or time.monotonic() - self._read_at > ASSET_MAP_SECONDS:
                try:
                    self._map = self._read()
                    self._read_at = time.monotonic()
                except (SQLAlchemyError, VVTVError) as exc:
                    log.warning("origin: the schedule is unreadable, restricted segments wait: %s", exc)
                    if self._map is None:
                        return None
            return self._map.get(asset_folder, frozenset())

    def _read(self) -> dict[str, frozenset[str]]:
        since = self.rt.clock.now_us() - ASSET_MAP_LOOKBACK_US
        with self.rt.db.session() as session:
            rows = session.execute(
                select(Asset.path, ScheduleEntry.channel)
                .join(Asset, Asset.id == ScheduleEntry.asset_id)
                .where(ScheduleEntry.start_us + ScheduleEntry.duration_us > since)
                .distinct()
            ).all()
        found: dict[str, set[str]] = {}
        for path, channel in rows:
            found.setdefault(path, set()).add(channel)
        return {path: frozenset(channels) for path, channels in found.items()}


class Access:
    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        self.rt = rt
        self.settings = settings
        self.restricted = {
            c.name: c for c in settings.channels if gate.is_gated(c) or geo.has_geo_rule(c)
        }
        self.signer = gate.signer_for(settings) if any(gate.is_gated(c) for c in settings.channels) else None
        self.countries: geo.CountryDatabase | None = None
        if any(geo.has_geo_rule(c) for c in settings.channels):
            if settings.origin.geoip_database is None:
                raise ConfigError("origin.geoip_database: geo rules need a MaxMind .mmdb file")
            self.countries = geo.CountryDatabase(settings.origin.geoip_database)
        self.client = geo.ClientAddress.from_settings(settings.origin)
        self.assets = AssetChannels(rt)

    # --- the questions the app asks ---------------------------------------------------------

    def page(self, request: Request, channel: ChannelSettings) -> Decision:
        """The player page: 451 where the channel is refused; otherwise served, never cached by others."""
        if channel.name not in self.restricted:
            return Decision()
        if not self._country_allowed(request, channel):
            return Decision(status=UNAVAILABLE_FOR_LEGAL_REASONS)
        return Decision(private=True)

    def needs_gate(self, request: Request, channel: ChannelSettings) -> bool:
        """Whether the page must show the age gate (no valid token cookie yet)."""
        if not gate.is_gated(channel):
            return False
        return self._cookie_token(request, channel.name) is None

    def media(self, request: Request, url_path: str) -> Decision:
        """A playlist or segment under the media folder (the URL path without its leading slash)."""
        if not self.restricted:
            return Decision()
        parts = url_path.split("/")
        if parts[0] == "live.m3u8":
            return self._channel_media(request, self.settings.origin.default_channel, playlist=True)
        if parts[0] == "channels" and len(parts) > 1:
            return self._channel_media(request, parts[1], playlist=url_path.endswith(PLAYLIST_SUFFIX))
        if parts[0] == "assets" and len(parts) > 2:
            return self._segment(request, "/".join(parts[:2]))
        return Decision()

    # --- the rules ----------------------------------------------------------------------------

    def _channel_media(self, request: Request, name: str, *, playlist: bool) -> Decision:
        channel = self.restricted.get(name)
        if channel is None:
            return Decision()
        if not self._country_allowed(request, channel):
            return Decision(status=UNAVAILABLE_FOR_LEGAL_REASONS)
        if not gate.is_gated(channel):
            return Decision(private=True)
        url_token = request.query_params.get(gate.TOKEN_PARAMETER)
        if url_token is not None and self._valid(url_token, request) == name:
            return Decision(private=True, url_token=url_token)
        if self._cookie_token(request, name) is not None:
            # The player keeps loading playlists while it plays: each one renews its token.
            renewed = [self.token_cookie(request, name)] if playlist else []
            return Decision(private=True, set_cookies=renewed)
        return Decision(status=FORBIDDEN)

    def _segment(self, request: Request, asset_folder: str) -> Decision:
        channels = self.assets.channels(asset_folder)
        if channels is None:
            return Decision(status=FORBIDDEN)
        if not channels or any(name not in self.restricted for name in channels):
            return Decision()
        refusals = set()
        for name in sorted(channels):
            decision = self._channel_media(request, name, playlist=False)
            if decision.status is None:
                return decision
            refusals.add(decision.status)
        # A token would open it where the country is allowed: say so rather than "not in your country".
        return Decision(status=FORBIDDEN if FORBIDDEN in refusals else UNAVAILABLE_FOR_LEGAL_REASONS)

    def _country_allowed(self, request: Request, channel: ChannelSettings) -> bool:
        if not geo.has_geo_rule(channel):
            return True
        assert self.countries is not None
        peer = request.client.host if request.client else None
        address = self.client.resolve(peer, request.headers.get("x-forwarded-for"))
        return geo.allowed(channel, self.countries.country(address))

    def _valid(self, token: str, request: Request) -> str | None:
        if self.signer is None:
            return None
        return self.signer.verify(token, self.rt.clock.now_us(), session=request.cookies.get(gate.SESSION_COOKIE))

    def _cookie_token(self, request: Request, name: str) -> str | None:
        token = request.cookies.get(gate.token_cookie(name))
        return token if token is not None and self._valid(token, request) == name else None

    # --- the gate ---------------------------------------------------------------------------------

    def token_cookie(self, request: Request, name: str, session: str | None = None) -> str:
        """A Set-Cookie value with a fresh token bound to the viewer's session."""
        assert self.signer is not None
        session = session or request.cookies.get(gate.SESSION_COOKIE) or ""
        token = self.signer.issue(name, self.rt.clock.now_us(), session=session)
        return _cookie(request, gate.token_cookie(name), token.text, max_age=self.settings.origin.token_seconds)

    def routes(self) -> list[Route]:
        return [Route("/api/channels/{name}/gate", self._gate, methods=["POST"])]

    async def _gate(self, request: Request) -> Response:
        no_store = {"Cache-Control": "no-store"}
        try:
            channel = self.settings.channel(request.path_params["name"])
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404, headers=no_store)
        if not gate.is_gated(channel):
            return JSONResponse({"error": f"channel {channel.name!r} has no age gate"}, status_code=404,
                                headers=no_store)  # fmt: skip
        if not self._country_allowed(request, channel):
            return JSONResponse({"error": REFUSALS[UNAVAILABLE_FOR_LEGAL_REASONS]},
                                status_code=UNAVAILABLE_FOR_LEGAL_REASONS, headers=no_store)  # fmt: skip
        try:
            body = json.loads(await request.body() or b"null")
            answer = gate.parse_answer(channel, body)
        except (ValueError, InputError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400, headers=no_store)
        now = self.rt.clock.now_us()
        if not gate.old_enough(channel, answer, now):
            message = f"this channel is for viewers aged {channel.compliance.min_age} or over"
            return JSONResponse({"error": message}, status_code=FORBIDDEN, headers=no_store)
        assert self.signer is not None
        session = request.cookies.get(gate.SESSION_COOKIE) or gate.new_session()
        cookie = self.token_cookie(request, channel.name, session)
        # For players that keep no cookies: a link whose token the origin writes into every URI it serves.
        link_token = self.signer.issue(channel.name, now, session=None)
        link = f"/channels/{channel.name}/live.m3u8?{gate.TOKEN_PARAMETER}={link_token.text}"
        response = JSONResponse(
            {"channel": channel.name, "expires": iso(link_token.expires_us), "link": link}, headers=no_store
        )
        response.headers.append("set-cookie", _cookie(request, gate.SESSION_COOKIE, session, max_age=None))
        response.headers.append("set-cookie", cookie)
        return response


def _cookie(request: Request, name: str, value: str, *, max_age: int | None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https":
        parts.append("Secure")
    return "; ".join(parts)

