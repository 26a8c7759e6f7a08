"""What a streaming manifest the page's player fetched says: its variants, which one played, and
whether it is live. Pure functions over the manifest's text, so the rules test without a browser.

An HLS master playlist lists variants (EXT-X-STREAM-INF: bandwidth, resolution, URI);
the one actually played is the one whose media playlist the player asked for last.
An HLS media playlist without EXT-X-ENDLIST is live (hls.js still gives such a stream
a finite duration by default), and so is a DASH manifest of type "dynamic".
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from pydantic import BaseModel

ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
RESOLUTION = re.compile(r"^(\d{1,5})x(\d{1,5})$")


class Variant(BaseModel):
    """One rendition of an HLS master playlist, as the playlist declares it."""

    url: str
    width: int | None = None
    height: int | None = None
    bandwidth: int | None = None


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def variants(text: str, base_url: str) -> list[Variant]:
    """The variants of an HLS master playlist; attributes it gets wrong are left unknown."""
    found: list[Variant] = []
    pending: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = {k: v.strip('"') for k, v in ATTRIBUTE.findall(line.split(":", 1)[1])}
        elif pending is not None and line and not line.startswith("#"):
            size = RESOLUTION.match(pending.get("RESOLUTION", ""))
            bandwidth = pending.get("BANDWIDTH", "")
            found.append(Variant(
                url=urljoin(base_url, line), width=int(size.group(1)) if size else None,
                height=int(size.group(2)) if size else None,
                bandwidth=int(bandwidth) if bandwidth.isdigit() and len(bandwidth) < 12 else None,
            ))  # fmt: skip
            pending = None
    return found


def played_variant(choices: list[Variant], requested: list[str]) -> Variant | None:
    """The variant whose media playlist the player requested last (it switches by asking for another)."""
    by_url = {v.url: v for v in choices}
    for url in reversed(requested):
        if url in by_url:
            return by_url[url]
    return None


def live_reason(text: str, kind: str) -> str | None:
    """Why this media playlist (HLS) or manifest (DASH) is a live stream, or None for a recording."""
    if kind == "hls" and "#EXTM3U" in text and not is_master(text) and "#EXT-X-ENDLIST" not in text:
        return "its HLS playlist has no EXT-X-ENDLIST"
    if kind == "dash" and re.search(r"<MPD\b[^>]*\btype\s*=\s*[\"']dynamic[\"']", text):
        return 'its DASH manifest is of type "dynamic"'
    return None
