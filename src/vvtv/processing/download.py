"""Download: yt-dlp, used as a library (the only module that imports it).

A plan's page URL or its captured media URL (a progressive file or an HLS
playlist) becomes one local file. Every request yt-dlp makes is checked by
netsafety first (http and https only, public addresses unless allowed), the
size and the time are capped, and the file lands under its final name only
when it is complete: yt-dlp writes `<name>.part` inside a `partial` folder,
and the finished file is moved out of it.

yt-dlp is kept from starting ffmpeg itself: only processing/ffmpeg.py runs
ffmpeg. yt-dlp hands live or unusual HLS to an ffmpeg of its own, which would
fetch the segments itself: past the address check, the size and time caps and
the stop, and orphaned when the Factory dies. So yt-dlp's native downloaders
are forced, yt-dlp is told of no ffmpeg at all (so it cannot fall back to one
either), no merging of separate video and audio formats, no fix-ups; and a
live stream or a format only an outside program could fetch is refused before
a byte of it is downloaded.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import yt_dlp
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import DownloadError

from vvtv.egress import EgressProxy
from vvtv.errors import InputError, RejectedError, ToolError
from vvtv.netsafety import check_public_url

DownloadProgress = Callable[[int, int | None], None]  # bytes done, total bytes when known
# yt-dlp's messages for failures that another attempt would not change.
ALLOW_LIST = "factory.allowed_hosts"  # named in the error when an address is refused
HTML5_EXTRACTOR = "HTML5MediaEmbed"  # a page's own <video> elements
PERMANENT_MARKERS = ("HTTP Error 4", "Unsupported URL", "No video formats found", "is not a valid URL")
# The protocols yt-dlp fetches by itself, through urlopen (so through the address check) and the progress hook.
NATIVE_PROTOCOLS = frozenset({"http", "https", "m3u8_native"})
# live_status values of a stream that has no end (yet): it would be fetched for ever.
LIVE_STATUSES = frozenset({"is_live", "is_upcoming", "post_live"})
# yt-dlp's ffmpeg_location: a path where no ffmpeg is, so yt-dlp believes it has none.
NO_FFMPEG = str(Path(tempfile.gettempdir()) / "vvtv-yt-dlp-has-no-ffmpeg")


@dataclass(kw_only=True)
class DownloadLimits:
    max_bytes: int
    max_media_seconds: float
    stall_seconds: float  # no data for this long: the download has stalled
    max_seconds: float  # the whole download, wall time
    allowed_hosts: Collection[str]


@dataclass(kw_only=True)
class Downloaded:
    path: Path
    title: str
    size_bytes: int


class _Abort(Exception):
    """Raised inside yt-dlp (a progress hook, a request) to stop it; carries the VVTV error to report.

    yt-dlp lets exceptions it does not know pass through unwrapped.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _GuardedYoutubeDL(yt_dlp.YoutubeDL):
    """A YoutubeDL that checks the address of every request before it is sent.

    Redirects are followed inside yt-dlp's HTTP handlers, out of reach of this check;
    so the final address of every response is checked too, and a response that
    ended on a private address is dropped unread.
    """

    def __init__(self, params: dict, allowed_hosts: Collection[str]) -> None:
        super().__init__({**params, "ffmpeg_location": NO_FFMPEG})
        self._allowed_hosts = allowed_hosts

    def __enter__(self) -> "_GuardedYoutubeDL":
        # Where yt-dlp asks "is there an ffmpeg?" without its params (the HLS downloader's fallback),
        # it reads this context variable, which its command line sets for --ffmpeg-location.
        self._no_ffmpeg = FFmpegPostProcessor._ffmpeg_location.set(NO_FFMPEG)
        return super().__enter__()

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        FFmpegPostProcessor._ffmpeg_location.reset(self._no_ffmpeg)

    def _check(self, url: str) -> None:
        try:
            check_public_url(url, self._allowed_hosts, setting=ALLOW_LIST)
        except InputError as exc:
            raise _Abort(exc) from None

    def urlopen(self, req):  # noqa: ANN001, ANN201 - yt-dlp's own signature
        self._check(req if isinstance(req, str) else req.url)
        response = super().urlopen(req)
        try:
            self._check(response.url)
        except _Abort:
            response.close()
            raise
        return response


class _Logger:
    """Keeps yt-dlp's messages for the error report instead of printing them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        if NO_FFMPEG not in message:  # "ffmpeg-location ... does not exist": as intended
            self.lines.append(message)

    def error(self, message: str) -> None:
        self.lines.append(message)


def _params(partial: Path, limits: DownloadLimits, hook: Callable[[dict], None], logger: _Logger) -> dict:
    return {
        "outtmpl": {"default": str(partial / "source.%(ext)s")},
        # One file that holds both picture and sound: merging separate formats would need ffmpeg.
        "format": "best[vcodec!=none]/best",
        "noplaylist": True,
        "playlist_items": "1",
        "socket_timeout": limits.stall_seconds,
        "retries": 1,
        "fragment_retries": 1,
        "extractor_retries": 0,
        "skip_unavailable_fragments": False,
        "fixup": "never",
        "external_downloader": {"default": "native"},
        "overwrites": True,
        "continuedl": False,
        "cachedir": False,
        "noprogress": True,
        "quiet": True,
        "no_warnings": False,
        "logger": logger,
        "progress_hooks": [hook],
    }


def check_fetchable(info: dict) -> None:
    """RejectedError unless yt-dlp can fetch the chosen format by itself and it has an end."""
    if info.get("is_live") or info.get("live_status") in LIVE_STATUSES:
        raise RejectedError(f"a live stream ({info.get('live_status') or 'is_live'}): only finished videos are taken")
    outside = [p for p in str(info.get("protocol") or "").split("+") if p not in NATIVE_PROTOCOLS]
    if outside:
        raise RejectedError(
            f"protocol {', '.join(outside)} is not fetched: only {', '.join(sorted(NATIVE_PROTOCOLS))} downloads are"
        )


def _classify(exc: DownloadError, logger: _Logger) -> Exception:
    """yt-dlp's error as a VVTV one: permanent (InputError) or worth retrying (ToolError)."""
    message = str(exc).removeprefix("ERROR: ").strip()
    if "Did not get any data blocks" in message:
        return InputError("download failed: the server sent an empty file")
    if any(marker in message for marker in PERMANENT_MARKERS):
        return InputError(f"download failed: {message}")
    return ToolError(f"download failed: {message}", stderr="\n".join(logger.lines))


def download(
    url: str,
    directory: Path,
    limits: DownloadLimits,
    *,
    on_progress: DownloadProgress | None = None,
) -> Downloaded:
    """Fetch `url` into `directory`; the result is there only when complete.

    InputError or RejectedError when the URL or the video cannot be had (no
    point retrying); ToolError for failures that may pass (a stall, a reset).
    """
    check_public_url(url, limits.allowed_hosts, setting=ALLOW_LIST)
    partial = directory / "partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()  # the wall-time cap is about real I/O, not the channel's clock

    def hook(status: dict) -> None:
        done = int(status.get("downloaded_bytes") or 0)
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if max(done, int(total or 0)) > limits.max_bytes:
            size = max(done, int(total or 0))
            raise _Abort(RejectedError(f"download exceeds the size cap: {size} bytes > {limits.max_bytes}"))
        if time.monotonic() - started > limits.max_seconds:
            raise _Abort(ToolError(f"download took longer than {limits.max_seconds:g} s"))
        if on_progress:
            on_progress(done, int(total) if total else None)

    logger = _Logger()
    # Every request, redirect hops included, goes through a proxy of the job's own that resolves each host
    # once and connects only to an address it has checked.
    egress = EgressProxy(limits.allowed_hosts, setting=ALLOW_LIST)
    egress.start()
    params = {**_params(partial, limits, hook, logger), "proxy": egress.url}
    try:
        with _GuardedYoutubeDL(params, limits.allowed_hosts) as ydl:
            info = ydl.extract_info(url, download=False)
            if info.get("_type") == "playlist":
                entries = [e for e in info.get("entries") or [] if e]
                if not entries:
                    raise InputError(f"{url}: no video found")
                info = entries[0]
            duration = info.get("duration")
            if duration and duration > limits.max_media_seconds:
                raise RejectedError(f"too long: {duration:.0f} s (maximum {limits.max_media_seconds:g} s)")
            if (info.get("filesize") or 0) > limits.max_bytes:
                raise RejectedError(f"download exceeds the size cap: {info['filesize']} bytes > {limits.max_bytes}")
            check_fetchable(info)
            ydl.process_info(info)
            fetched = Path(info.get("filepath") or ydl.prepare_filename(info))
    except _Abort as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise exc.error from None
    except DownloadError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        refused = egress.refusals()
        if refused:
            raise InputError(f"download of {url} refused: {refused[-1]}") from None
        raise _classify(exc, logger) from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        egress.stop()
    if not fetched.is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise ToolError(f"download of {url} finished without a file", stderr="\n".join(logger.lines))
    final = directory / fetched.name
    fetched.rename(final)
    shutil.rmtree(partial, ignore_errors=True)
    return Downloaded(path=final, title=_title(info), size_bytes=final.stat().st_size)


def _title(info: dict) -> str:
    title = str(info.get("title") or "")
    if info.get("extractor_key") == HTML5_EXTRACTOR:
        title = re.sub(r" \(\d+\)$", "", title)  # yt-dlp numbers a page's <video> elements: "Title (1)"
    return title
