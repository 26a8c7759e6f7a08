"""What the player tests read from the page: one sample of the player at one moment."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page

PLAYING = """() => { const v = window.vvtvPlayer.video;
  return v.currentTime > 0 && !v.paused && v.readyState >= 3; }"""
# One evaluate call per sample, so the picture, the time and the label belong to one moment.
SAMPLE = """() => {
  const player = window.vvtvPlayer, video = player.video;
  let fingerprint = null;
  if (video.readyState >= 2) {
    if (!window.fingerprintCanvas) {
      window.fingerprintCanvas = document.createElement('canvas');
      window.fingerprintCanvas.width = 16;
      window.fingerprintCanvas.height = 9;
    }
    const context = window.fingerprintCanvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, 16, 9);
    fingerprint = Array.from(context.getImageData(0, 0, 16, 9).data).filter((_, i) => i % 4 !== 3);
  }
  let ahead = 0;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= video.currentTime && video.currentTime <= video.buffered.end(i)) {
      ahead = video.buffered.end(i) - video.currentTime;
    }
  }
  return { wall: performance.now(), time: video.currentTime, date: player.playingDateMs(),
           label: document.querySelector('#now .title').textContent, fingerprint: fingerprint,
           ahead: ahead, dropped: video.getVideoPlaybackQuality().droppedVideoFrames };
}"""


@dataclass(frozen=True, kw_only=True)
class Sample:
    wall_s: float  # the page's clock
    time_s: float  # video.currentTime
    date_us: int | None  # the moment on screen (hls.js playingDate)
    label: str
    fingerprint: tuple[int, ...] | None
    buffered_ahead_s: float
    dropped_frames: int


def snapshot(page: Page) -> Sample:
    raw = page.evaluate(SAMPLE)
    return Sample(
        wall_s=raw["wall"] / 1000,
        time_s=raw["time"],
        date_us=round(raw["date"] * 1000) if raw["date"] is not None else None,
        label=raw["label"],
        fingerprint=tuple(raw["fingerprint"]) if raw["fingerprint"] else None,
        buffered_ahead_s=raw["ahead"],
        dropped_frames=raw["dropped"],
    )


@dataclass(frozen=True, kw_only=True)
class PlayerEvent:
    """One line of window.vvtvPlayer.events, the page's own record of what happened."""

    type: str  # playing, waiting, stalled, hlsError, recover, ...
    at_ms: float  # the page's clock
    fatal: bool = False  # hlsError only
    details: str = ""  # hlsError only: hls.js ErrorDetails


def player_events(page: Page) -> list[PlayerEvent]:
    return [
        PlayerEvent(type=e["type"], at_ms=e["at"], fatal=e.get("fatal", False), details=e.get("details", ""))
        for e in page.evaluate("() => window.vvtvPlayer.events")
    ]
