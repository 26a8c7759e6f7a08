"""The channels for IPTV apps: an M3U channel list and an XMLTV guide.

Jellyfin, Plex, Kodi (IPTV Simple) and TiviMate take a channel list as M3U
(`#EXTINF` with tvg-id, tvg-name, tvg-logo and group-title) and a guide as
XMLTV; the tvg-id of a channel is the id of its <channel> in the guide. The
guide covers the whole timeline ahead, from the entry a viewer behind the live
edge may still be watching. Titles and descriptions come from scraped pages,
so everything written is escaped (by ElementTree) and stripped of characters
XML 1.0 cannot carry. The result is valid against the XMLTV DTD shipped next
to this module (xmltv.dtd, from the XMLTV project).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from vvtv.clock import US, to_datetime
from vvtv.config import ChannelSettings, Settings
from vvtv.errors import VVTVError
from vvtv.runtime import Runtime
from vvtv.storage.models import EntryKind, ScheduleEntry

log = logging.getLogger(__name__)

XMLTV_DTD = Path(__file__).parent / "xmltv.dtd"
GENERATOR = "vvtv"
# Characters XML 1.0 has no place for (C0 controls but tab and newlines, surrogates, U+FFFE/U+FFFF).
NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Entry kinds a guide shows: breaks are not programmes (SSAI replaces them anyway).
LISTED_KINDS = [EntryKind.PROGRAMME, EntryKind.EMERGENCY, EntryKind.INJECTED]


@dataclass(frozen=True, kw_only=True)
class Published:
    """Where the origin is reached from outside: the base of every absolute URL in the list and the guide."""

    base_url: str  # scheme://host[:port][/prefix], without a trailing slash

    def url(self, path: str) -> str:
        if re.match(r"^https?://", path):
            return path
        return self.base_url + "/" + path.lstrip("/")


def published(settings: Settings, request_base_url: str) -> Published:
    return Published(base_url=(settings.origin.public_url or request_base_url).rstrip("/"))


def tvg_id(channel: ChannelSettings) -> str:
    # A DNS-like id, as the XMLTV DTD suggests (RFC 2838).
    return f"{channel.name}.vvtv"


def playlist_path(channel: ChannelSettings) -> str:
    return f"/channels/{channel.name}/live.m3u8"


def channels_m3u(settings: Settings, where: Published) -> str:
    """The M3U channel list, pointing at the guide with x-tvg-url."""
    lines = [f'#EXTM3U x-tvg-url="{where.url("/epg.xml")}"']
    for channel in settings.channels:
        attributes = {
            "tvg-id": tvg_id(channel),
            "tvg-name": channel.title,
            "tvg-logo": where.url(channel.logo),
            "group-title": channel.group,
        }
        written = " ".join(f'{key}="{_m3u_value(value)}"' for key, value in attributes.items())
        lines.append(f"#EXTINF:-1 {written},{_m3u_value(channel.title)}")
        lines.append(where.url(playlist_path(channel)))
    return "\n".join(lines) + "\n"


def _m3u_value(text: str) -> str:
    # One line per entry and quoted attributes: no line breaks, no double quotes, no commas in the name.
    return re.sub(r"[\r\n\"]", " ", text).replace(",", " ").strip()


def epg_xml(session: Session, settings: Settings, where: Published, *, since_us: int) -> bytes:
    """The XMLTV guide of every channel: entries that end after since_us, to the end of the timeline."""
    tv = ET.Element("tv", {"generator-info-name": GENERATOR})
    for channel in settings.channels:
        element = ET.SubElement(tv, "channel", {"id": tvg_id(channel)})
        ET.SubElement(element, "display-name").text = _text(channel.title) or channel.name
        ET.SubElement(element, "icon", {"src": where.url(channel.logo)})
        ET.SubElement(element, "url").text = where.url(playlist_path(channel))
    for channel in settings.channels:
        entries = session.scalars(
            select(ScheduleEntry)
            .where(
                ScheduleEntry.channel == channel.name,
                ScheduleEntry.start_us + ScheduleEntry.duration_us > since_us,
                ScheduleEntry.kind.in_(LISTED_KINDS),
            )
            .order_by(ScheduleEntry.ordinal)
        ).all()
        for entry in entries:
            _programme(tv, channel, entry, where)
    body = ET.tostring(tv, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n' + body + "\n").encode()


def _programme(tv: ET.Element, channel: ChannelSettings, entry: ScheduleEntry, where: Published) -> None:
    asset = entry.asset
    element = ET.SubElement(
        tv,
        "programme",
        {"start": xmltv_time(entry.start_us), "stop": xmltv_time(entry.end_us), "channel": tvg_id(channel)},
    )
    # The DTD fixes the order of the children: title, desc, category, icon.
    ET.SubElement(element, "title").text = _text(asset.title, one_line=True) or "Untitled"
    description = _text(asset.description)
    if description:
        ET.SubElement(element, "desc").text = description
    categories = [_text(str(tag), one_line=True) for tag in asset.tags or []] or [asset.kind.value]
    for category in dict.fromkeys(c for c in categories if c):
        ET.SubElement(element, "category").text = category
    if asset.poster:
        ET.SubElement(element, "icon", {"src": where.url("/" + quote(asset.poster))})


def xmltv_time(us: int) -> str:
    """YYYYMMDDhhmmss with its UTC offset, as the XMLTV DTD has it."""
    return to_datetime(us).strftime("%Y%m%d%H%M%S +0000")


def _text(text: str, *, one_line: bool = False) -> str:
    cleaned = NOT_XML.sub("", text)
    if one_line:  # the DTD allows line breaks only in descriptions
        cleaned = " ".join(cleaned.split())
    return cleaned.strip()


def routes(rt: Runtime) -> list[Route]:
    """/channels.m3u and /epg.xml."""
    settings = rt.settings
    # The guide starts at the oldest entry a viewer behind the live edge may still be watching.
    lookback_us = max(
        (settings.broadcaster.window_segments + 2) * settings.profile_for(c.name).segment_seconds * US
        for c in settings.channels
    )

    def channel_list(request: Request) -> Response:
        text = channels_m3u(settings, published(settings, str(request.base_url)))
        return Response(text, media_type="audio/x-mpegurl", headers={"Cache-Control": "public, max-age=60"})

    def guide(request: Request) -> Response:
        try:
            with rt.db.session() as session:
                body = epg_xml(
                    session, settings, published(settings, str(request.base_url)),
                    since_us=rt.clock.now_us() - lookback_us,
                )  # fmt: skip
        except (SQLAlchemyError, VVTVError) as exc:
            log.warning("origin: epg.xml unavailable: %s", exc)
            return PlainTextResponse("the schedule is unavailable right now", status_code=503,
                                     headers={"Cache-Control": "no-store"})  # fmt: skip
        return Response(body, media_type="application/xml", headers={"Cache-Control": "public, max-age=60"})

    return [Route("/channels.m3u", channel_list), Route("/epg.xml", guide)]
