"""Play before download: find the video on a page, start it as a person would, watch a few
seconds and measure what actually played.

The measurements (the resolution played, whether currentTime keeps pace with
the page's clock, waiting events, dropped frames, the duration, any media
error) and the real media URL seen on the network make a PlaybackReport;
`shortfall()` says why it falls below the channel's standard, if it does.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from pydantic import BaseModel

from vvtv.config import DiscoverySettings
from vvtv.discovery.browser import BrowserPage, NetworkRecord, PageFailed, PageFrame
from vvtv.discovery.human import Human

# Marks the largest <video> of a frame (also inside open shadow roots) and remembers it.
FIND_VIDEO_SCRIPT = r"""
() => {
  const all = [];
  const walk = (root) => {
    for (const v of root.querySelectorAll('video')) all.push(v);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  let best = null, bestArea = -1;
  for (const v of all) {
    const r = v.getBoundingClientRect();
    if (r.width * r.height > bestArea) { best = v; bestArea = r.width * r.height; }
  }
  if (!best) return null;
  if (window.__vvtvVideo && window.__vvtvVideo !== best) window.__vvtvVideo.removeAttribute('data-vvtv-video');
  window.__vvtvVideo = best;
  best.setAttribute('data-vvtv-video', '');
  if (!best.__vvtv) {
    const m = best.__vvtv = { waiting: 0, playing: 0 };
    best.addEventListener('waiting', () => m.waiting++);
    best.addEventListener('playing', () => m.playing++);
  }
  return bestArea;
}
"""

# Marks the most likely play control: a button labelled play, else something styled as one.
FIND_PLAY_SCRIPT = r"""
() => {
  document.querySelectorAll('[data-vvtv-play]').forEach((e) => e.removeAttribute('data-vvtv-play'));
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 4 && r.height > 4; };
  const label = (el) => [el.getAttribute('aria-label'), el.getAttribute('title'), el.textContent].join(' ');
  const cls = (el) => [typeof el.className === 'string' ? el.className : '', el.id].join(' ');
  const buttons = [...document.querySelectorAll('button, [role=button], input[type=button]')].filter(visible);
  const styled = [...document.querySelectorAll('a, div, span, svg, img')].filter(visible);
  const pick =
    buttons.find((el) => /\bplay\b|▶|►/i.test(label(el)) && !el.disabled) ||
    buttons.find((el) => /(^|[-_\s])(big-?)?play([-_\s]|btn|button|$)/i.test(cls(el))) ||
    styled.find((el) => /(^|[-_\s])(big-?)?play(-?(btn|button|icon))([-_\s]|$)/i.test(cls(el)));
  if (!pick) return false;
  pick.setAttribute('data-vvtv-play', '');
  return true;
}
"""

SAMPLE_SCRIPT = r"""
() => {
  const v = window.__vvtvVideo;
  if (!v || !v.isConnected) return null;
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {
    t: performance.now() / 1000, current_time: v.currentTime, paused: v.paused, ended: v.ended,
    width: v.videoWidth, height: v.videoHeight, duration: isFinite(v.duration) ? v.duration : null,
    error: v.error ? `media error ${v.error.code}${v.error.message ? ': ' + v.error.message : ''}` : null,
    dropped: q ? q.droppedVideoFrames : 0, frames: q ? q.totalVideoFrames : 0,
    src: v.currentSrc || '', waiting: v.__vvtv ? v.__vvtv.waiting : 0,
  };
}
"""

# What a person does when clicking did not start the video: try again the way the page's own button would.
SCRIPT_PLAY = r"""
async () => {
  const v = window.__vvtvVideo;
  try { await v.play(); return null; } catch (first) {
    v.muted = true;
    try { await v.play(); return null; } catch (second) { return String(second); }
  }
}
"""

PATIENCE_SECONDS = 1.0  # how long to look for a <video> before trying a play control
MANIFEST_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "application/dash+xml")
MANIFEST_SUFFIXES = (".m3u8", ".mpd")


class Sample(BaseModel):
    t: float  # the page's clock, seconds
    current_time: float
    paused: bool
    ended: bool
    width: int
    height: int
    duration: float | None
    error: str | None
    dropped: int
    frames: int
    src: str
    waiting: int


class PlaybackReport(BaseModel):
    """What the browser measured while watching; stored with the Plan."""

    played: bool
    started_by: str  # "autoplay", "click", "script", or "none" when it failed before being started
    width: int = 0
    height: int = 0
    duration_s: float | None = None
    watched_s: float = 0.0  # by the page's clock
    advanced_s: float = 0.0  # how far currentTime moved meanwhile
    stalls: int = 0  # waiting events while watching
    dropped_frames: int = 0
    total_frames: int = 0
    error: str | None = None
    media_url: str | None = None
    media_kind: str | None = None  # "hls", "dash" or "progressive"
    frame_url: str = ""

    @property
    def advance_ratio(self) -> float:
        return self.advanced_s / self.watched_s if self.watched_s > 0 else 0.0

    @property
    def dropped_ratio(self) -> float:
        return self.dropped_frames / self.total_frames if self.total_frames else 0.0


def shortfall(report: PlaybackReport, standard: DiscoverySettings) -> str | None:
    """Why the playback falls short of the channel's standard, with the measured figures; None if it does not."""
    if not report.played:
        return f"the video did not play ({report.error or 'currentTime never advanced'})"
    if report.height < standard.min_height:
        return f"below HD: played at {report.width}x{report.height}, the minimum is {standard.min_height} lines"
    if report.advance_ratio < standard.min_advance_ratio:
        return (f"not smooth: currentTime advanced {report.advanced_s:.1f} s in {report.watched_s:.1f} s "
                f"({report.advance_ratio:.0%}, the minimum is {standard.min_advance_ratio:.0%})")  # fmt: skip
    if report.stalls > standard.max_stalls:
        return f"not smooth: {report.stalls} stalls in {report.watched_s:.1f} s (at most {standard.max_stalls})"
    if report.dropped_ratio > standard.max_dropped_ratio:
        return (f"not smooth: {report.dropped_frames} of {report.total_frames} frames dropped "
                f"(at most {standard.max_dropped_ratio:.0%})")  # fmt: skip
    return None


def media_from_network(network: list[NetworkRecord], current_src: str) -> tuple[str | None, str | None]:
    """The media URL the player really fetched: the first manifest (HLS/DASH), else the progressive file."""
    for record in network:
        path = urlsplit(record.url).path.lower()
        if record.content_type in MANIFEST_TYPES or path.endswith(MANIFEST_SUFFIXES):
            return record.url, "dash" if path.endswith(".mpd") or "dash" in record.content_type else "hls"
    media = [r for r in network if r.resource_type == "media" or r.content_type.startswith("video/")]
    for record in media:
        if record.url == current_src:
            return record.url, "progressive"
    if media:
        return media[0].url, "progressive"
    return None, None


async def _largest_video(page: BrowserPage) -> PageFrame | None:
    best: tuple[float, PageFrame] | None = None
    for frame in page.frames():
        area = await frame.evaluate(FIND_VIDEO_SCRIPT)
        if area is not None and (best is None or area > best[0]):
            best = (area, frame)
    return best[1] if best else None


async def _find_video(page: BrowserPage, human: Human, seconds: float) -> tuple[PageFrame | None, bool]:
    """The frame holding the page's main video, and whether a play control had to be clicked for it.

    Players built by JavaScript may create the <video> late, or only when play
    is clicked: after a short look without one, a visible play control is clicked.
    """
    deadline = time.monotonic() + seconds
    look_until = time.monotonic() + min(PATIENCE_SECONDS, seconds)
    clicked = False
    while True:
        frame = await _largest_video(page)
        if frame or time.monotonic() >= deadline:
            return frame, clicked
        if not clicked and time.monotonic() >= look_until:
            clicked = await _click_play_control(page, human)
        await asyncio.sleep(0.25)


async def _sample(frame: PageFrame) -> Sample | None:
    raw = await frame.evaluate(SAMPLE_SCRIPT)
    return Sample.model_validate(raw) if raw else None


async def _click_play_control(page: BrowserPage, human: Human) -> bool:
    for frame in page.frames():
        if await frame.evaluate(FIND_PLAY_SCRIPT):
            box = await frame.box("[data-vvtv-play]")
            if box:
                await human.click(box)
                return True
    return False


async def _bring_into_view(page: BrowserPage, frame: PageFrame, human: Human) -> None:
    box = await frame.box("[data-vvtv-video]")
    if box is None:
        return
    _, height = page.viewport
    if box.y < 0 or box.y + box.height > height:
        await human.scroll(box.y - max((height - box.height) / 2, 40))


async def _wait_for_progress(frame: PageFrame, since: Sample, seconds: float) -> Sample | None:
    """The first sample showing playback under way (or an error), None if nothing moved in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = await _sample(frame)
        if now is None:
            return None
        if now.error or (not now.paused and now.current_time > since.current_time):
            return now
    return None


async def _start(
    page: BrowserPage, frame: PageFrame, human: Human, before: Sample, *, clicked: bool, patience: float
) -> tuple[Sample | None, str]:
    """Get the video going the way a person would; the first sample under way (or failed), and how.

    After each try it waits up to `patience` seconds for playback: a busy machine or a slow
    server may take a while to buffer the first frames.
    """
    progress = await _wait_for_progress(frame, before, 0.4)
    if progress and progress.error and not clicked:
        return progress, "none"  # failed before anyone pressed play
    if progress:
        return progress, "click" if clicked else "autoplay"
    if not await _click_play_control(page, human):
        box = await frame.box("[data-vvtv-video]")
        if box:
            await human.click(box)
    progress = await _wait_for_progress(frame, before, patience)
    if progress:
        return progress, "click"
    # Clicking did nothing: start it the way the page's own play button would.
    await frame.evaluate(SCRIPT_PLAY)
    return await _wait_for_progress(frame, before, patience), "script"


async def watch(page: BrowserPage, human: Human, standard: DiscoverySettings) -> PlaybackReport:
    """Find the video, start it like a person, watch `standard.watch_seconds`, and report."""
    frame, clicked = await _find_video(page, human, standard.find_video_seconds)
    if frame is None:
        raise PageFailed("no video found on the page")
    await _bring_into_view(page, frame, human)
    before = await _sample(frame)
    if before is None:
        raise PageFailed("the video was removed from the page")
    progress, started_by = await _start(
        page, frame, human, before, clicked=clicked, patience=standard.find_video_seconds
    )
    report = PlaybackReport(played=False, started_by=started_by, frame_url=frame.url)
    last = progress or await _sample(frame) or before
    if progress is not None and not progress.error:
        last = await _watch_for(frame, progress, standard.watch_seconds)
        report.played = last.current_time > progress.current_time
        report.watched_s = round(last.t - progress.t, 3)
        report.advanced_s = round(last.current_time - progress.current_time, 3)
        report.stalls = last.waiting - progress.waiting
        report.dropped_frames, report.total_frames = last.dropped, last.frames
    report.width, report.height = last.width, last.height
    report.duration_s = last.duration
    report.error = last.error
    report.media_url, report.media_kind = media_from_network(page.network, last.src)
    return report


async def _watch_for(frame: PageFrame, start: Sample, seconds: float) -> Sample:
    """Watch for `seconds` (or until the video ends or fails); the last sample."""
    last = start
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        sample = await _sample(frame)
        if sample is None:
            break
        last = sample
        if sample.ended or sample.error:
            break
    return last
