"""Live HLS playlists (RFC 8216) as text, and their atomic writing to disk.

Every tag written here has a round-trip test in tests/broadcast/test_playlists.py.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vvtv.broadcast.adbreaks import cue_lines
from vvtv.broadcast.timeline import PublishedSegment
from vvtv.clock import US, iso
from vvtv.processing.package import SEGMENT_PATTERN

VERSION = 6


@dataclass(frozen=True, kw_only=True)
class VariantStream:
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    fps: int

    @property
    def uri(self) -> str:
        return f"{self.name}.m3u8"


def master_playlist(variants: list[VariantStream], *, prefix: str = "") -> str:
    """The multivariant playlist; `prefix` is the path from where it is served to the media playlists."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in sorted(variants, key=lambda v: -v.bandwidth):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},RESOLUTION={v.width}x{v.height},"
            f'CODECS="{v.codecs}",FRAME-RATE={v.fps:.3f}'
        )
        lines.append(prefix + v.uri)
    return "\n".join(lines) + "\n"


# Segment URIs are relative to /channels/NAME/ on the origin, unless media is published elsewhere.
ORIGIN_MEDIA = "../.."


def media_playlist(
    segments: list[PublishedSegment], *, rendition: str, target_duration_s: int, media_base: str = ORIGIN_MEDIA
) -> str:
    """A live media playlist for the published window (no ENDLIST: the channel never ends).

    `media_base` is where the assets' folders are: the origin's media folder, or a CDN's URL.

    MEDIA-SEQUENCE is the first listed segment's channel-global number;
    DISCONTINUITY-SEQUENCE is its entry's ordinal, i.e. the programme
    boundaries before it, so no tag is put before the first listed segment.
    Ad breaks are marked for ad insertion (broadcast/adbreaks.py).
    """
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration_s}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].seq if segments else 0}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{segments[0].entry.ordinal if segments else 0}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for position, segment in enumerate(segments):
        if segment.starts_programme and position > 0:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.starts_programme or position == 0:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso(segment.start_us)}")
        lines += cue_lines(segment, segments[position - 1] if position else None)
        lines.append(f"#EXTINF:{segment.duration_us / US:.6f},")
        lines.append(f"{media_base}/{segment.entry.asset_path}/{rendition}/{SEGMENT_PATTERN % segment.index}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class PublishedState:
    """What a live media playlist written by media_playlist() lists: for status and the origin, not for playout."""

    media_sequence: int
    segment_count: int
    # When the newest listed segment ended (the first segment's PROGRAM-DATE-TIME plus every EXTINF);
    # None for an empty playlist.
    newest_end_us: int | None

    @property
    def newest_seq(self) -> int:
        return self.media_sequence + self.segment_count - 1


def parse_published(text: str) -> PublishedState:
    sequence, count, start_us, duration_us = 0, 0, None, 0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            count += 1
            duration_us += round(float(line[8:].partition(",")[0]) * US)
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:") and start_us is None:
            start_us = round(datetime.fromisoformat(line.partition(":")[2]).timestamp() * US)
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.partition(":")[2])
    newest_end_us = start_us + duration_us if start_us is not None and count else None
    return PublishedState(media_sequence=sequence, segment_count=count, newest_end_us=newest_end_us)


def read_published(path: Path) -> PublishedState | None:
    try:
        return parse_published(path.read_text())
    except FileNotFoundError:
        return None


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a half-written one.

    This is the broadcaster's hot path (every rendition of every channel at each
    segment boundary), so it makes as few system calls as it can: the temp name
    is fixed per process and thread (no random names, no retries) and the folder
    is made only when it is missing.
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        fd = os.open(temp, flags, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, flags, 0o644)
    try:
        try:
            os.fchmod(fd, 0o644)  # readable by the origin (or nginx) whatever the umask
            data = text.encode()
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
