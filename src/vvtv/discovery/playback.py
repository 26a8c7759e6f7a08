"""Play before download: find the video on a page, start it as a person would, watch a few
seconds and measure what actually played.

Finding it is what a person does on a real site: answer the consent dialog
(consent.py), wait a moment for a player, click what looks like play (a labelled
button, a big centred play symbol, the middle of a poster "facade", a <video> with
a poster and no source), in iframes too, and scroll on when the player is further
down the page (lazily loaded iframes). Every step is noted in `tried`.

The measurements (the resolution played, whether currentTime keeps pace with
the page's clock, waiting events, dropped frames, the duration, any media
error) and the real media URL seen on the network make a PlaybackReport: for a
player fed through Media Source Extensions (a blob: source) that is the HLS or DASH
manifest it fetched, with the HLS variant it played and whether the stream is live
(manifests.py). `shortfall()` says why it falls below the channel's standard, if it does.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from pydantic import BaseModel

from vvtv.config import DiscoverySettings
from vvtv.discovery.browser import Box, BrowserPage, NetworkRecord, PageFailed, PageFrame
from vvtv.discovery import consent
from vvtv.discovery.human import Human
from vvtv.discovery.manifests import Variant, live_reason, played_variant, variants

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

# Marks what a person would click to start the video, and says what it is: the site profile's
# play control, a button labelled play, something styled as one, the middle of a poster
# "facade" (a large picture that is clickable), or a <video> with a poster and no source.
FIND_PLAY_SCRIPT = r"""
(profileSelector) => {
  document.querySelectorAll('[data-vvtv-play]').forEach((e) => e.removeAttribute('data-vvtv-play'));
  const shown = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 4 && r.height > 4 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const words = (el) => [el.getAttribute('aria-label'), el.getAttribute('title'), el.textContent].join(' ');
  const name = (el) => (el.getAttribute('aria-label') || el.getAttribute('title') || el.textContent || '').trim().slice(0, 60);
  const cls = (el) => [el.getAttribute('class') || '', el.id].join(' ');
  const clickable = (el) => !!el && (getComputedStyle(el).cursor === 'pointer' ||
    !!el.closest('button, a[href], [role=button], [onclick]'));
  const mark = (el, what) => { el.setAttribute('data-vvtv-play', ''); return what; };
  if (profileSelector) {
    const own = [...document.querySelectorAll(profileSelector)].find(shown);
    if (own) return mark(own, `the site profile's play control ${JSON.stringify(name(own))}`);
  }
  const buttons = [...document.querySelectorAll('button, [role=button], input[type=button]')].filter(shown);
  const styled = [...document.querySelectorAll('a, div, span, svg, img')].filter(shown);
  const labelled = buttons.find((el) => /\bplay\b|▶|►/i.test(words(el)) && !el.disabled);
  if (labelled) return mark(labelled, `the play control ${JSON.stringify(name(labelled))}`);
  const named = buttons.find((el) => /(^|[-_\s])(big-?|large-?)?play([-_\s]|btn|button|$)/i.test(cls(el))) ||
    styled.find((el) => /(^|[-_\s])(big-?|large-?)?play(-?(btn|button|icon|overlay))([-_\s]|$)/i.test(cls(el)));
  if (named) return mark(named, `the play control styled ${JSON.stringify(cls(named).trim().slice(0, 60))}`);
  // A facade: a large picture (a background image or an <img>) that is clickable; a person clicks its middle.
  for (const el of document.querySelectorAll('div, a, button, figure, span, img')) {
    const r = el.getBoundingClientRect();
    if (r.width < 240 || r.height < 135 || !shown(el)) continue;
    const picture = el.tagName === 'IMG' || /url\(/.test(getComputedStyle(el).backgroundImage) ||
      [...el.querySelectorAll('img')].some((i) => i.getBoundingClientRect().width >= r.width * 0.8);
    if (!picture || r.width / r.height < 1.2 || r.width / r.height > 2.5) continue;  // not shaped like a video
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    const target = hit && el.contains(hit) ? hit : el;
    const link = target.closest('a[href]');
    if (link && !/^(#|javascript:)/i.test(link.getAttribute('href')) && link.pathname !== location.pathname) continue;
    if (clickable(target)) return mark(target, 'the middle of the poster');
  }
  const bare = [...document.querySelectorAll('video[poster]')].find((v) => shown(v) && !v.currentSrc &&
    !v.getAttribute('src') && !v.querySelector('source'));
  if (bare) return mark(bare, 'a video that has a poster and no source yet');
  return null;
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
    endless: v.duration === Infinity,
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

# Reads a manifest the player fetched (from the browser's cache, with the page's cookies), at most 1 MB.
FETCH_TEXT_SCRIPT = r"""
async (url) => {
  const response = await fetch(url, { credentials: 'include' });
  if (!response.ok || !response.body) return null;
  const reader = response.body.getReader(), parts = [];
  let size = 0;
  while (size < 1048576) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  reader.cancel();
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) { all.set(part.subarray(0, size - at), at); at += part.length; }
  return new TextDecoder().decode(all.subarray(0, Math.min(size, 1048576)));
}
"""

ROOM_BELOW_SCRIPT = "() => document.documentElement.scrollHeight - (window.scrollY + window.innerHeight)"

PATIENCE_SECONDS = 1.0  # how long to look for a <video> before trying a play control
MAX_CLICKS = 2  # facades clicked while no <video> exists (one may only reveal the next)
MAX_SCROLLS = 6  # screens scrolled down looking for a player further on
MANIFEST_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "application/dash+xml")
MANIFEST_SUFFIXES = (".m3u8", ".mpd")
SEGMENT_TYPES = ("video/mp2t", "video/iso.segment")  # pieces of a stream, never the media to hand the Factory
SEGMENT_SUFFIXES = (".ts", ".m4s", ".cmfv")


class Sample(BaseModel):
    t: float  # the page's clock, seconds
    current_time: float
    paused: bool
    ended: bool
    width: int
    height: int
    duration: float | None
    endless: bool  # the duration is Infinity: a live stream
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
    variant: Variant | None = None  # the HLS variant played, as its master playlist declares it
    live: str | None = None  # why it is a live stream; None for a recording
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
    """The media URL the player really fetched: the first manifest (HLS/DASH), else the progressive file.

    A player fed through MSE (a blob: source) fetches its media by XHR or fetch: its manifest is
    the media URL, never one of its segments.
    """
    for record in network:
        path = urlsplit(record.url).path.lower()
        if record.content_type in MANIFEST_TYPES or path.endswith(MANIFEST_SUFFIXES):
            return record.url, "dash" if path.endswith(".mpd") or "dash" in record.content_type else "hls"
    media = [r for r in network if (r.resource_type == "media" or r.content_type.startswith("video/"))
             and r.content_type not in SEGMENT_TYPES and not urlsplit(r.url).path.lower().endswith(SEGMENT_SUFFIXES)]  # fmt: skip
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


async def _find_video(page: BrowserPage, human: Human, seconds: float, tried: list[str], play_control: str | None
                      ) -> tuple[PageFrame | None, bool]:  # fmt: skip
    """The frame holding the page's main video, and whether something had to be clicked for it.

    Players built by JavaScript may create the <video> late, or only when a play control or
    poster is clicked, and players further down the page may load only when scrolled to: after
    a short look without one, the play control is clicked, else the page is scrolled a screen
    further, each followed by another look. Each step gives the player a little more time.
    """
    deadline = time.monotonic() + seconds
    next_step = time.monotonic() + min(PATIENCE_SECONDS, seconds)
    clicks = scrolls = 0
    while True:
        frame = await _largest_video(page)
        if frame or time.monotonic() >= deadline:
            if frame is None:
                tried.append(f"no <video> appeared within {seconds:g} s")
            return frame, clicks > 0
        if time.monotonic() >= next_step:
            acted = False
            if clicks < MAX_CLICKS and await _click_to_play(page, human, tried, play_control):
                clicks, acted = clicks + 1, True
            elif scrolls < MAX_SCROLLS and await _scroll_on(page, human):
                scrolls, acted = scrolls + 1, True
                tried.append("scrolled down to look for a player further on")
            if acted:
                next_step = time.monotonic() + PATIENCE_SECONDS
                deadline = max(deadline, next_step + PATIENCE_SECONDS)  # every step earns the player some time
            else:
                next_step = deadline  # nothing left to try: only a late player can still turn up
        await asyncio.sleep(0.25)


async def _scroll_on(page: BrowserPage, human: Human) -> bool:
    """Scroll about a screen further down, as a reader would; False at the end of the page."""
    room = await page.main.evaluate(ROOM_BELOW_SCRIPT)
    if not isinstance(room, (int, float)) or room < 40:
        return False
    await human.scroll(min(float(room), page.viewport[1] * 0.9))
    return True


async def _sample(frame: PageFrame) -> Sample | None:
    raw = await frame.evaluate(SAMPLE_SCRIPT)
    return Sample.model_validate(raw) if raw else None


async def _click_to_play(page: BrowserPage, human: Human, tried: list[str], play_control: str | None) -> bool:
    """Click what a person would to start the video, in any frame; dialogs that opened meanwhile go first."""
    tried.extend(await consent.clear_the_way(page, human))
    for frame in page.frames():
        what = await frame.evaluate(FIND_PLAY_SCRIPT, play_control)
        if not isinstance(what, str):
            continue
        box = await _in_view(page, frame, human, "[data-vvtv-play]")
        if box:
            await human.click(box)
            tried.append(f"clicked {what}")
            return True
    return False


async def _in_view(page: BrowserPage, frame: PageFrame, human: Human, selector: str) -> Box | None:
    """Where the element is once scrolled into the viewport (a person scrolls to what they mean to click)."""
    box = await frame.box(selector)
    if box is None:
        return None
    _, height = page.viewport
    if box.y < 0 or box.y + box.height > height:
        await human.scroll(box.y - max((height - box.height) / 2, 40))
        box = await frame.box(selector)
    return box


async def _current(page: BrowserPage, frame: PageFrame) -> tuple[PageFrame, Sample | None]:
    """The video being watched; when a click replaced it (a facade, a player built anew), the new one."""
    sample = await _sample(frame)
    if sample is None:
        found = await _largest_video(page)
        if found is not None:
            frame, sample = found, await _sample(found)
    return frame, sample


async def _wait_for_progress(
    page: BrowserPage, frame: PageFrame, since: Sample, seconds: float
) -> tuple[PageFrame, Sample | None]:
    """The first sample showing playback under way (or an error), None if nothing moved in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        frame, now = await _current(page, frame)
        if now is None:
            continue
        if now.src != since.src:
            since = since.model_copy(update={"current_time": 0.0, "src": now.src})  # a new source starts afresh
        if now.error or (not now.paused and now.current_time > since.current_time):
            return frame, now
    return frame, None


async def _start(
    page: BrowserPage, frame: PageFrame, human: Human, before: Sample, *, clicked: bool, patience: float,
    tried: list[str], play_control: str | None,
) -> tuple[PageFrame, Sample | None, str]:  # fmt: skip
    """Get the video going the way a person would; the first sample under way (or failed), and how.

    After each try it waits up to `patience` seconds for playback: a busy machine or a slow
    server may take a while to buffer the first frames.
    """
    frame, progress = await _wait_for_progress(page, frame, before, 0.4)
    if progress is None and clicked:
        frame, now = await _current(page, frame)
        if now is not None and not now.paused:  # asked to play by the click, still buffering: clicking would pause it
            frame, progress = await _wait_for_progress(page, frame, before, patience)
    if progress and progress.error and not clicked:
        return frame, progress, "none"  # failed before anyone pressed play
    if progress:
        return frame, progress, "click" if clicked else "autoplay"
    if not await _click_to_play(page, human, tried, play_control):
        box = await _in_view(page, frame, human, "[data-vvtv-video]")
        if box:
            await human.click(box)
            tried.append("clicked the video")
    frame, progress = await _wait_for_progress(page, frame, before, patience)
    if progress:
        return frame, progress, "click"
    # Clicking did nothing: start it the way the page's own play button would.
    tried.append("started the video by script")
    frame, now = await _current(page, frame)
    await frame.evaluate(SCRIPT_PLAY)
    frame, progress = await _wait_for_progress(page, frame, now or before, patience)
    return frame, progress, "script"


async def watch(
    page: BrowserPage, human: Human, standard: DiscoverySettings, tried: list[str], *, play_control: str | None = None
) -> PlaybackReport:
    """Find the video, start it like a person, watch `standard.watch_seconds`, and report.

    What was done on the way (dialogs answered, clicks, scrolls) is appended to `tried`, also
    when it fails (PageFailed, consent.AgeGate).
    """
    tried.extend(await consent.clear_the_way(page, human))
    frame, clicked = await _find_video(page, human, standard.find_video_seconds, tried, play_control)
    if frame is None:
        raise PageFailed("no video found on the page")
    await _in_view(page, frame, human, "[data-vvtv-video]")
    frame, before = await _current(page, frame)
    if before is None:
        raise PageFailed("the video was removed from the page")
    frame, progress, started_by = await _start(
        page, frame, human, before, clicked=clicked, patience=standard.find_video_seconds, tried=tried,
        play_control=play_control,
    )  # fmt: skip
    report = PlaybackReport(played=False, started_by=started_by, frame_url=frame.url)
    last = progress or (await _current(page, frame))[1] or before
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
    if last.endless:
        report.live = "the player's duration is Infinity"
    if report.media_kind in ("hls", "dash") and report.media_url:
        await _read_manifest(page, frame, report)
    return report


async def _fetch_text(frame: PageFrame, url: str) -> str:
    """A manifest's text as the page's player got it; empty when it cannot be read again."""
    try:
        text = await frame.evaluate(FETCH_TEXT_SCRIPT, url)
    except PageFailed:
        return ""
    return text if isinstance(text, str) else ""


async def _read_manifest(page: BrowserPage, frame: PageFrame, report: PlaybackReport) -> None:
    """The HLS variant played (its declared size stands in when the element reports none) and liveness."""
    assert report.media_url and report.media_kind
    text = await _fetch_text(frame, report.media_url)
    choices = variants(text, report.media_url)
    if choices:
        report.variant = played_variant(choices, [r.url for r in page.network])
        if report.variant and not report.height and report.variant.height:
            report.width, report.height = report.variant.width or 0, report.variant.height
        text = await _fetch_text(frame, (report.variant or choices[0]).url)
    report.live = report.live or live_reason(text, report.media_kind)


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
