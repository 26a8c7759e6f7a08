"""The player page: one HTML template, filled in per channel."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template

from vvtv.config import ChannelSettings

STATIC_DIR = Path(__file__).parent / "static"
HLS_LIBRARY = STATIC_DIR / "vendor" / "hls.min.js"

# The page loads nothing from anywhere but this origin. hls.js runs its
# transmuxer in a worker made from a blob: URL, and MSE plays from a blob: URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)


@dataclass(frozen=True, kw_only=True)
class PlayerPage:
    template: Template

    @classmethod
    def load(cls) -> "PlayerPage":
        return cls(template=Template((STATIC_DIR / "index.html").read_text()))

    def render(self, channel: ChannelSettings, *, playlist_url: str, gate: bool = False) -> str:
        """The page; with `gate`, it asks for the viewer's age (origin/gate.py) before it plays."""
        return self.template.substitute(
            title=escape(channel.title),
            channel=escape(channel.name),
            playlist_url=escape(playlist_url),
            guide_url=escape(f"/api/channels/{channel.name}/guide"),
            gate=escape(channel.compliance.gate) if gate else "",
            gate_url=escape(f"/api/channels/{channel.name}/gate"),
            min_age=channel.compliance.min_age,
        )
