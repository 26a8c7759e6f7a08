"""The one module that starts ffmpeg and ffprobe.

ffmpeg never reads the terminal (stdin is /dev/null), is killed on any
exception or timeout (and by the kernel when the process that started it
dies, so a killed worker leaves no orphan encoder writing files), and a
failure raises ToolError carrying its stderr.

A source file comes from anywhere, so ffmpeg and ffprobe read it with the
file protocol only (`local_input`, `probe`): a "video" that is really a
playlist or a list of other files cannot make them fetch a URL. (For a local
input ffmpeg already allows only file, crypto and data to what the file
refers to; saying so on the command line keeps it so whatever the build.)
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from vvtv.errors import InputError, ToolError
from vvtv.processes import die_with_parent

ProgressCallback = Callable[[float], None]  # media seconds done
LOCAL_FILES = "file"  # the protocols an untrusted source may be read with
# The containers an untrusted source may be (ffmpeg's demuxer names: "mov" is also mp4/m4a/3gp,
# "matroska" also webm). Not playlists (hls, dash, concat): one that names local files would
# make ffprobe and ffmpeg read, and the channel air, files of this machine.
MEDIA_CONTAINERS = "mov,matroska,mpegts,flv,avi,mpeg,ogg,asf,mxf,wav"
# What ffmpeg says when a file refers to something outside the whitelist.
OFF_WHITELIST = "not on whitelist"


@dataclass(kw_only=True)
class FFmpegReport:
    """What a finished ffmpeg run reported: its stderr and its last progress figures."""

    stderr: str
    frames: int  # video frames written by the first output that has video
    out_time_s: float  # media time reached by the outputs


@lru_cache(maxsize=1)
def ffmpeg_binary() -> str:
    """The ffmpeg with libx264 and libvmaf: VVTV_FFMPEG, else the imageio-ffmpeg wheel's."""
    explicit = os.environ.get("VVTV_TOOLS__FFMPEG") or os.environ.get("IMAGEIO_FFMPEG_EXE")
    if explicit:
        return explicit
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffprobe_binary() -> str:
    return os.environ.get("VVTV_TOOLS__FFPROBE") or "ffprobe"


def local_input(path: str) -> list[str]:
    """ffmpeg's arguments reading an untrusted local file: it may refer to nothing but local files."""
    return ["-protocol_whitelist", LOCAL_FILES, "-format_whitelist", MEDIA_CONTAINERS, "-i", path]


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float = 3600,
    on_progress: ProgressCallback | None = None,
    cwd: str | None = None,
    stall_seconds: float | None = None,
) -> str:
    """Run ffmpeg with `args`; return its stderr. Progress is read from `-progress pipe:1`."""
    report = run_ffmpeg_report(args, timeout=timeout, on_progress=on_progress, cwd=cwd, stall_seconds=stall_seconds)
    return report.stderr


def run_ffmpeg_report(
    args: Sequence[str],
    *,
    timeout: float = 3600,
    on_progress: ProgressCallback | None = None,
    cwd: str | None = None,
    stall_seconds: float | None = None,
) -> FFmpegReport:
    """Run ffmpeg with `args`; return its stderr and final progress. ToolError on failure.

    `on_progress` may raise (to cancel): ffmpeg is killed and the exception propagates.
    With `stall_seconds`, ffmpeg is killed when its media time has not moved for that
    long: stuck on a dead input it keeps reporting the same time, and waiting on one
    that never opens (a pipe nobody writes) it reports nothing at all; either way the
    stall shows long before `timeout`.
    """
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats", *args]
    stderr_lines: list[str] = []
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            cwd=cwd,
            preexec_fn=die_with_parent,
        )
    except OSError as exc:
        raise ToolError(f"ffmpeg could not start: {exc}", command=command) from exc
    # stderr is drained on a thread so a chatty ffmpeg never blocks on a full pipe.
    drain = threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True)
    drain.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    watch = _StallWatch(process, stall_seconds) if stall_seconds is not None else None
    frames, out_time_us = 0, 0
    try:
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if not value.isdigit():
                continue  # "N/A" before the first frame
            if key == "frame":
                frames = int(value)
            elif key == "out_time_us":
                if int(value) > out_time_us and watch:
                    watch.moved()
                out_time_us = int(value)
                if on_progress:
                    on_progress(out_time_us / 1_000_000)
        process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        timer.cancel()
        if watch:
            watch.stop()
        drain.join(timeout=5)
    stderr = "".join(stderr_lines)
    if watch and watch.stalled:
        raise ToolError(f"ffmpeg stalled: no progress for {stall_seconds:g} s", command=command, stderr=stderr)
    if process.returncode != 0:
        reason = "timed out" if process.returncode == -9 and not timer.is_alive() else f"exit {process.returncode}"
        raise ToolError(f"ffmpeg failed ({reason})", command=command, stderr=stderr)
    return FFmpegReport(stderr=stderr, frames=frames, out_time_s=out_time_us / 1_000_000)


class _StallWatch:
    """Kills a process (by its PID) once `moved()` has not been called for `stall_seconds`."""

    def __init__(self, process: subprocess.Popen, stall_seconds: float) -> None:
        self.stalled = False
        self._process = process
        self._stall_seconds = stall_seconds
        self._moved_at = time.monotonic()
        self._done = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def moved(self) -> None:
        self._moved_at = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(min(self._stall_seconds / 4, 0.5)):
            if time.monotonic() - self._moved_at > self._stall_seconds:
                self.stalled = True
                self._process.kill()
                return


def probe(path_or_url: str, *, timeout: float = 60, protocols: str = LOCAL_FILES) -> dict:
    """ffprobe's JSON (format and streams) for a file; InputError when it cannot be read.

    `protocols`: what it may be read with; a local file by default (a URL needs "http,tcp"),
    then only as one of the media containers.
    """
    containers = ["-format_whitelist", MEDIA_CONTAINERS] if protocols == LOCAL_FILES else []
    command = [
        ffprobe_binary(), "-v", "error", "-print_format", "json", "-protocol_whitelist", protocols, *containers,
        "-show_format", "-show_streams", path_or_url,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=die_with_parent)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"{path_or_url}: ffprobe timed out after {timeout:.0f} s") from exc
    except OSError as exc:
        raise ToolError(f"ffprobe could not start: {exc}", command=command) from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        refused = next((line for line in lines if OFF_WHITELIST in line), None)
        if refused:
            raise InputError(f"{path_or_url}: refers to other files or addresses (a playlist?), not a video: {refused}")
        detail = lines[-1] if lines else f"exit {done.returncode}"
        raise InputError(f"{path_or_url}: not a readable media file ({detail})")
    return json.loads(done.stdout or "{}")


class FedFFmpeg:
    """A long-running ffmpeg that reads its input from our writes to its stdin (the RTMP remux).

    Its stderr is drained on a thread into a short tail kept for error reports.
    With `stall_seconds`, a watchdog kills it once its output time has not moved
    for that long: a server that stops reading (without closing the connection)
    blocks ffmpeg on its write for good, and it would never exit by itself.
    """

    def __init__(self, args: Sequence[str], *, stall_seconds: float | None = None) -> None:
        progress = ["-progress", "pipe:1"] if stall_seconds is not None else []
        self.command = [ffmpeg_binary(), "-hide_banner", "-nostats", "-loglevel", "warning", *progress, *args]
        self._tail: collections.deque[str] = collections.deque(maxlen=20)
        try:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if stall_seconds is not None else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=die_with_parent,
            )
        except OSError as exc:
            raise ToolError(f"ffmpeg could not start: {exc}", command=self.command) from exc
        threading.Thread(target=self._drain, daemon=True).start()
        self._watch = _StallWatch(self.process, stall_seconds) if stall_seconds is not None else None
        if self._watch:
            threading.Thread(target=self._read_progress, args=(self._watch,), daemon=True).start()

    @property
    def stalled(self) -> bool:
        """Killed by the watchdog."""
        return self._watch is not None and self._watch.stalled

    def _drain(self) -> None:
        for line in self.process.stderr:
            self._tail.append(line.decode(errors="replace").rstrip())

    def _read_progress(self, watch: "_StallWatch") -> None:
        out_time_us = -1
        for line in self.process.stdout:
            key, _, value = line.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.isdigit() and int(value) > out_time_us:
                out_time_us = int(value)
                watch.moved()
        watch.stop()  # ffmpeg has gone

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def write(self, data: bytes) -> bool:
        """Feed bytes; False if ffmpeg has gone (its pipe is closed)."""
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return False
        return True

    def stderr_tail(self) -> str:
        if self.stalled:
            return "\n".join([*self._tail, "(stalled: no output progress; killed)"])
        return "\n".join(self._tail)

    def stop(self, timeout: float = 5) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
