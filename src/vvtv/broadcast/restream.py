"""RTMP output: one channel's live segments remuxed to an RTMP server (NGINX-RTMP, Twitch, YouTube).

No encoding here either: the channel's published segments are fed, in
timeline order, into one ffmpeg that copies them to FLV over RTMP. Each
programme restarts its timestamps, so ffmpeg is told to treat any jump over
a second as a discontinuity and to carry the timeline on (-dts_delta_threshold).
The restreamer starts a segment behind the live edge so ffmpeg's real-time
reading (-re) always has a cushion, and restarts ffmpeg when it dies or when
its output stalls (healing.restream_stall_seconds without progress: a server
that stopped reading but kept the connection open).

An RTMP URL carries a secret: the stream key (Twitch, YouTube: everything
after the application's name) and maybe a password. Events, logs and the
heartbeat show the URL with both hidden (`shown_url`), and ffmpeg's own
messages are scrubbed of them before they are kept.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from vvtv.broadcast import schedule
from vvtv.broadcast.timeline import Timeline
from vvtv.clock import US
from vvtv.errors import ConfigError, ToolError
from vvtv.processing.ffmpeg import FedFFmpeg
from vvtv.processing.package import SEGMENT_PATTERN
from vvtv.runtime import Runtime

MAX_BACKOFF_SECONDS = 30
HIDDEN = "***"


def url_secrets(url: str) -> list[str]:
    """The parts of an RTMP URL that must never be shown: the stream key, its query, a password."""
    parts = urlsplit(url)
    _app, _, key = parts.path.lstrip("/").partition("/")
    return [secret for secret in (key, parts.query, parts.password or "") if secret]


def hide_secrets(text: str, url: str) -> str:
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def restream_args(url: str) -> list[str]:
    return [
        "-re", "-f", "mpegts", "-dts_delta_threshold", "1", "-i", "pipe:0",
        "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
        "-f", "flv", "-flvflags", "no_duration_filesize", url,
    ]  # fmt: skip


class Restreamer:
    def __init__(self, rt: Runtime, channel: str, url: str) -> None:
        self.rt = rt
        self.channel = channel
        self.url = url
        self.shown_url = hide_secrets(url, url)
        self.rendition = rt.settings.profile_for(channel).top.name
        self.stall_seconds = rt.settings.healing.restream_stall_seconds
        self.ffmpeg: FedFFmpeg | None = None
        self.failures = 0  # restarts, of which `stalls` because the output stood still
        self.stalls = 0
        self.segments_sent = 0
        self._thread = threading.Thread(target=self._run, name=f"restream-{channel}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self.ffmpeg:
                self.ffmpeg.stop()

    def _loop(self) -> None:
        rt = self.rt
        poll_us = round(rt.settings.broadcaster.poll_seconds * US)
        timeline, version, next_reload = Timeline([]), -1, 0
        next_seq: int | None = None
        while not rt.stop.is_set():
            now = rt.clock.now_us()
            if now >= next_reload:
                with rt.db.session() as session:
                    current = schedule.timeline_versions(session).get(self.channel, 0)
                    if current != version:
                        timeline = schedule.load_timeline(session, self.channel, ending_after_us=now - 60 * US)
                        version = current
                next_reload = now + poll_us
            window = timeline.window(now, rt.settings.broadcaster.window_segments)
            if window and (self.ffmpeg is None or not self.ffmpeg.alive):
                if not self._restart():
                    continue
                next_seq = window[max(len(window) - 2, 0)].seq
            if window and next_seq is not None:
                if next_seq < window[0].seq:  # fell behind the window: rejoin near the edge
                    next_seq = window[-1].seq
                for segment in window:
                    if segment.seq < next_seq:
                        continue
                    path = rt.settings.media_dir / segment.entry.asset_path / self.rendition / (
                        SEGMENT_PATTERN % segment.index
                    )
                    if not self.ffmpeg.write(path.read_bytes()):
                        break
                    next_seq = segment.seq + 1
                    self.segments_sent += 1
            wake = timeline.next_boundary_us(rt.clock.now_us()) or rt.clock.now_us() + poll_us
            rt.stop.wait(max(min(wake, next_reload) - rt.clock.now_us(), 0) / US + 0.01)

    def _restart(self) -> bool:
        """Start (or start again) the ffmpeg; False while backing off after a failure."""
        if self.ffmpeg is not None:
            self.failures += 1
            stalled = self.ffmpeg.stalled
            self.stalls += stalled
            backoff = min(2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
            why = f"stalled (no progress for {self.stall_seconds:g} s)" if stalled else "stopped"
            self.rt.record_event(
                "restream-restart",
                f"RTMP output to {self.shown_url} {why}; restarting in {backoff} s",
                channel=self.channel,
                cause="stalled" if stalled else "exited",
                stderr=hide_secrets(self.ffmpeg.stderr_tail(), self.url)[-2000:],
            )
            self.ffmpeg = None
            if self.rt.stop.wait(backoff):
                return False
        try:
            self.ffmpeg = FedFFmpeg(restream_args(self.url), stall_seconds=self.stall_seconds)
        except ToolError as exc:  # its command line holds the key
            raise ToolError(hide_secrets(str(exc), self.url)) from None
        return True


def run(rt: Runtime) -> None:
    """The restream role: one restreamer per channel to broadcaster.rtmp_url ({channel} is replaced).

    A role of its own, so a failing RTMP server can never disturb the HLS output.
    """
    template = rt.settings.broadcaster.rtmp_url
    if not template:
        raise ConfigError("broadcaster.rtmp_url: empty, so there is nothing to restream to")
    restreamers = [Restreamer(rt, c.name, template.replace("{channel}", c.name)) for c in rt.settings.channels]
    for restreamer in restreamers:
        restreamer.start()
    started = rt.clock.now_us()
    while not rt.stop.wait(2.0):
        rt.heartbeat("restream", started, channels={
            r.channel: {"url": r.shown_url, "segments_sent": r.segments_sent, "restarts": r.failures,
                        "stalls": r.stalls}
            for r in restreamers
        })  # fmt: skip
    for restreamer in restreamers:
        restreamer.join(timeout=10)
