"""Channel playlists the origin answers itself when the Broadcaster's files are missing or behind.

A live playlist is a pure function of (timeline, now) (broadcast/timeline.py), so the origin
does not have to wait for the Broadcaster: right after a restart, while the files on disk
are those of before the outage (or are gone, with the media folder on a tmpfs that a reboot
emptied), it computes them from the timeline in the database with the very functions the
Broadcaster writes them with. The file stays the fast path and is served while it is current:

- a media playlist is behind once its newest segment ended more than a target duration
  ago (no segment is longer, so a boundary has surely passed since);
- this origin remembers the newest segment it has listed for each playlist and never
  serves a file listing an older one, so a viewer's media sequence never goes back;
- a master playlist never changes once written; it is computed only when missing.

When the database cannot answer either, the file is served as it is, or 404 without one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from vvtv.broadcast import schedule
from vvtv.broadcast.broadcaster import variants_for
from vvtv.broadcast.playlists import VariantStream, master_playlist, media_playlist, parse_published
from vvtv.broadcast.slate import find_slate
from vvtv.broadcast.timeline import Timeline, lookback_us
from vvtv.clock import US
from vvtv.errors import ConfigError, VVTVError
from vvtv.runtime import Runtime
from vvtv.storage.objects import live_media_base

log = logging.getLogger(__name__)

MASTER_NAME = "live.m3u8"


@dataclass(frozen=True, kw_only=True)
class ChannelPlaylist:
    """A URL that names one of a channel's live playlists."""

    channel: str
    rendition: str | None  # None: the master playlist
    prefix: str = ""  # from where the master is served to the media playlists


class LivePlaylists:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._timelines: dict[str, tuple[int, Timeline]] = {}  # channel -> (loaded at, timeline)
        self._variants: dict[str, list[VariantStream]] = {}
        self._newest_served: dict[tuple[str, str], int] = {}

    def match(self, url_path: str) -> ChannelPlaylist | None:
        """`live.m3u8`, `channels/NAME/live.m3u8` or `channels/NAME/RENDITION.m3u8` of a configured channel."""
        settings = self.rt.settings
        if url_path == MASTER_NAME:
            default = settings.origin.default_channel
            return ChannelPlaylist(channel=default, rendition=None, prefix=f"channels/{default}/")
        parts = url_path.split("/")
        if len(parts) != 3 or parts[0] != "channels" or not parts[2].endswith(".m3u8"):
            return None
        try:
            profile = settings.profile_for(parts[1])
        except ConfigError:
            return None
        name = parts[2].removesuffix(".m3u8")
        if parts[2] == MASTER_NAME:
            return ChannelPlaylist(channel=parts[1], rendition=None)
        if name in {r.name for r in profile.renditions}:
            return ChannelPlaylist(channel=parts[1], rendition=name)
        return None

    def answer(self, playlist: ChannelPlaylist, on_disk: bytes | None) -> bytes | None:
        """The playlist to serve, given the Broadcaster's file (None when there is none)."""
        if playlist.rendition is None:
            return on_disk if on_disk is not None else self._master(playlist)
        return self._media(playlist.channel, playlist.rendition, on_disk)

    def _media(self, channel: str, rendition: str, on_disk: bytes | None) -> bytes | None:
        now = self.rt.clock.now_us()
        profile = self.rt.settings.profile_for(channel)
        key = (channel, rendition)
        file_newest = -1
        if on_disk is not None:
            try:
                state = parse_published(on_disk.decode())
            except ValueError:  # not a playlist the Broadcaster wrote: compute it
                state = None
            if state is not None and state.newest_end_us is not None:
                file_newest = state.newest_seq
                current = now - state.newest_end_us <= profile.segment_seconds * US
                if current and file_newest >= self._newest_served.get(key, -1):
                    return self._served(key, file_newest, on_disk)
        computed = self._compute_media(channel, rendition, now)
        if computed is None or computed[0] < file_newest:
            return on_disk
        return self._served(key, *computed)

    def _served(self, key: tuple[str, str], newest: int, body: bytes) -> bytes:
        with self._lock:
            self._newest_served[key] = max(self._newest_served.get(key, -1), newest)
        return body

    def _compute_media(self, channel: str, rendition: str, now: int) -> tuple[int, bytes] | None:
        profile = self.rt.settings.profile_for(channel)
        timeline = self._timeline(channel, now, profile.segment_seconds)
        if timeline is None:
            return None
        window = timeline.window(now, self.rt.settings.broadcaster.window_segments)
        if not window:
            return None
        text = media_playlist(window, rendition=rendition, target_duration_s=profile.segment_seconds,
                              media_base=live_media_base(self.rt.settings.storage))  # fmt: skip
        return window[-1].seq, text.encode()

    def _timeline(self, channel: str, now: int, segment_seconds: int) -> Timeline | None:
        # Re-read as often as the Broadcaster does: the past a window lists never changes.
        refresh_us = round(self.rt.settings.broadcaster.poll_seconds * US)
        with self._lock:
            cached = self._timelines.get(channel)
            if cached is not None and now - cached[0] < refresh_us:
                return cached[1]
            lookback = lookback_us(self.rt.settings.broadcaster.window_segments, segment_seconds)
            try:
                with self.rt.db.session() as session:
                    timeline = schedule.load_timeline(session, channel, ending_after_us=now - lookback)
            except (SQLAlchemyError, VVTVError) as exc:
                log.warning("origin: timeline of %s unavailable, serving the playlists on disk: %s", channel, exc)
                return None
            self._timelines[channel] = (now, timeline)
            return timeline

    def _master(self, playlist: ChannelPlaylist) -> bytes | None:
        variants = self._variants.get(playlist.channel)
        if variants is None:
            profile_name = self.rt.settings.channel(playlist.channel).profile
            try:
                slate = find_slate(self.rt, profile_name)
            except (SQLAlchemyError, VVTVError) as exc:
                log.warning("origin: master playlist of %s unavailable: %s", playlist.channel, exc)
                return None
            if slate is None:  # never set up, so never on air
                return None
            variants = variants_for(slate.renditions, self.rt.settings.profiles[profile_name])
            self._variants[playlist.channel] = variants
        return master_playlist(variants, prefix=playlist.prefix).encode()
