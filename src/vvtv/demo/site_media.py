"""The demo video site's catalogue and its media, made with ffmpeg at first start.

Every video page kind the Curator must handle has one entry: a plain
`<video>`, `<source>` children, a player built by JavaScript after a click,
HLS through hls.js, a same-origin iframe embed, an SD video, a broken video,
and a members-only page that robots.txt disallows. The media are small (a few
seconds, low bitrate) so the first start takes seconds, and are cached.
"""

from __future__ import annotations

import enum
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vvtv.demo.programmes import demo_programme
from vvtv.processing.ffmpeg import run_ffmpeg

MEDIA_VERSION = "2"  # bump when the media below change, so old caches are remade
HD = (1280, 720)
SD = (640, 360)
SECONDS = 12
FPS = 15
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
CC_BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


class PageKind(str, enum.Enum):
    PLAIN = "plain"  # <video src>
    SOURCES = "sources"  # <video><source ...></video>
    CLICK = "click"  # the <video> is built by JavaScript after a click on a play button
    HLS = "hls"  # hls.js plays an HLS playlist through MSE
    IFRAME = "iframe"  # the video is in a same-origin iframe
    MEMBERS = "members"  # under a path robots.txt disallows


class MediaKind(str, enum.Enum):
    HD = "hd"
    SD = "sd"
    BROKEN = "broken"  # not decodable
    HLS = "hls"


class LicenceMarkup(str, enum.Enum):
    REL = "rel"  # <a rel="license">
    JSONLD = "jsonld"  # JSON-LD VideoObject.license
    TEXT = "text"  # only visible text
    MICRODATA = "microdata"  # itemprop="license"


@dataclass(kw_only=True, frozen=True)
class DemoVideo:
    slug: str
    title: str
    description: str
    tags: tuple[str, ...]
    page: PageKind
    media: MediaKind
    licence: LicenceMarkup
    licence_url: str = CC_BY

    @property
    def size(self) -> tuple[int, int]:
        return SD if self.media is MediaKind.SD else HD

    @property
    def media_path(self) -> str:
        """Where the media is served, relative to /media/."""
        return f"hls/{self.slug}/master.m3u8" if self.media is MediaKind.HLS else f"{self.slug}.mp4"

    @property
    def watch_path(self) -> str:
        return f"/members/watch/{self.slug}" if self.page is PageKind.MEMBERS else f"/watch/{self.slug}"


# In result order, three to a page. The SD, broken and members-only ones come
# early so that a discovery capped at five kept plans still meets them.
CATALOGUE: tuple[DemoVideo, ...] = (
    DemoVideo(slug="ocean-waves", title="Ocean waves at dawn",
              description="Calm nature footage of the sea at sunrise, with a soft ambient music bed.",
              tags=("nature", "ocean", "calm"), page=PageKind.PLAIN, media=MediaKind.HD, licence=LicenceMarkup.REL),
    DemoVideo(slug="garage-rehearsal", title="Garage band rehearsal (phone recording)",
              description="An old phone recording of a band rehearsing music in a garage.",
              tags=("music", "rehearsal"), page=PageKind.PLAIN, media=MediaKind.SD, licence=LicenceMarkup.REL),
    DemoVideo(slug="piano-etude", title="Piano etude in C major",
              description="A short Creative Commons piano music performance, recorded in a quiet hall.",
              tags=("music", "piano", "classical"), page=PageKind.CLICK, media=MediaKind.HD,
              licence=LicenceMarkup.TEXT, licence_url=CC_BY_SA),
    DemoVideo(slug="city-lights", title="City lights timelapse",
              description="A calm timelapse of a city at night, with gentle electronic music.",
              tags=("timelapse", "city", "music"), page=PageKind.HLS, media=MediaKind.HLS, licence=LicenceMarkup.JSONLD),
    DemoVideo(slug="lost-tape", title="The lost tape: folk music session",
              description="A folk music session recovered from a damaged tape.",
              tags=("music", "folk"), page=PageKind.PLAIN, media=MediaKind.BROKEN, licence=LicenceMarkup.REL),
    DemoVideo(slug="backstage-session", title="Backstage music session (members only)",
              description="A music session for members of the site.",
              tags=("music",), page=PageKind.MEMBERS, media=MediaKind.HD, licence=LicenceMarkup.REL),
    DemoVideo(slug="forest-birds", title="Forest birds in spring",
              description="Nature sounds and pictures of songbirds in a spring forest: a calm science film.",
              tags=("nature", "birds", "science"), page=PageKind.IFRAME, media=MediaKind.HD,
              licence=LicenceMarkup.MICRODATA),
    DemoVideo(slug="paint-flow", title="Fluid art: paint flow",
              description="Abstract art made of slowly flowing paint, set to calm ambient music.",
              tags=("art", "abstract", "music"), page=PageKind.SOURCES, media=MediaKind.HD,
              licence=LicenceMarkup.JSONLD),
)  # fmt: skip


def find(slug: str) -> DemoVideo | None:
    return next((v for v in CATALOGUE if v.slug == slug), None)


def _encode_mp4(index: int, video: DemoVideo, out: Path) -> None:
    width, height = video.size
    source = demo_programme(index, SECONDS, width=width, height=height, fps=FPS).source
    filters = ",".join(source.video_filters) or "null"
    run_ffmpeg(
        [
            *source.inputs,
            "-filter_complex", f"[{source.video}]{filters}[v]",
            "-map", "[v]", "-map", source.audio or "1:a",
            "-t", str(SECONDS),
            # Keyframes every 2 s so the HLS copy below can cut 4 s segments.
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "32", "-maxrate", "1000k", "-bufsize", "2000k",
            "-g", str(2 * FPS), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(out),
        ],
        timeout=300,
    )  # fmt: skip


def _package_hls(mp4: Path, directory: Path, width: int, height: int) -> None:
    directory.mkdir(parents=True)
    run_ffmpeg(
        ["-i", str(mp4), "-c", "copy", "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(directory / "seg_%03d.ts"), str(directory / "media.m3u8")],
        timeout=120,
    )  # fmt: skip
    (directory / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f'#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION={width}x{height},CODECS="avc1.42c01f,mp4a.40.2"\n'
        "media.m3u8\n"
    )
    mp4.unlink()


def _poster(mp4: Path, out: Path) -> None:
    run_ffmpeg(["-ss", "1", "-i", str(mp4), "-frames:v", "1", "-vf", "scale=320:-2", "-q:v", "5", str(out)], timeout=60)


def _broken(out: Path, poster: Path) -> None:
    # An MP4 signature followed by noise: the browser recognises the container, then fails to decode it.
    noise = bytes((i * 7919 + 13) % 251 for i in range(200_000))
    out.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + noise)
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x553333:s=320x180", "-frames:v", "1", str(poster)], timeout=60)


def make_media(cache_dir: Path) -> Path:
    """The media folder (videos, HLS, posters), made once into `cache_dir` and reused after."""
    media = cache_dir / f"media-v{MEDIA_VERSION}"
    if media.is_dir():
        return media
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Built in a temporary folder and renamed into place, so a crash never leaves half a cache.
    work = Path(tempfile.mkdtemp(prefix="media-", dir=cache_dir))
    try:
        for index, video in enumerate(CATALOGUE):
            poster = work / f"{video.slug}.jpg"
            if video.media is MediaKind.BROKEN:
                _broken(work / f"{video.slug}.mp4", poster)
                continue
            mp4 = work / f"{video.slug}.mp4"
            _encode_mp4(index, video, mp4)
            _poster(mp4, poster)
            if video.media is MediaKind.HLS:
                _package_hls(mp4, work / "hls" / video.slug, *video.size)
        try:
            os.replace(work, media)
        except OSError:
            if not media.is_dir():
                raise
            shutil.rmtree(work)  # another process made the same media first
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return media
