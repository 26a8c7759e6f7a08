"""The Factory: approved Plans in, broadcast-standard Assets out, so the Broadcaster never encodes.

A job goes through these steps, each one's outcome recorded as an Event:

    fetch     the operator's local file, or yt-dlp from the plan's media URL or page URL
    analyse   ffprobe (streams, length, size) and the first pass (loudness, decode trial)
    encode    one ffmpeg run: the whole ladder packaged as HLS, the poster, the loudness
              gain, VMAF of every rendition and a meter on the encoded sound
    retry     only when VMAF is under the threshold: once more with a slower preset
    publish   the finished folder renamed into media/assets, then, in one transaction,
              the READY Asset, the job and the plan marked done (guarded by the lease)

Everything in between lives in the job's own workspace (data_dir/factory/jobs), so
nothing half-made is ever where the Broadcaster looks. Bad input (InputError) fails
the plan at once with its reason; anything else is retried with backoff until the
attempts run out.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

from vvtv.clock import US
from vvtv.config import FactorySettings, Profile, Settings
from vvtv.errors import ConfigError, InputError, RejectedError, VVTVError
from vvtv.healing.housekeeping import Housekeeper
from vvtv.healing.quality import EncodeOutcome, QualityGovernor
from vvtv.processing import jobs
from vvtv.processing.analysis import first_pass
from vvtv.processing.assets import record_asset
from vvtv.processing.download import DownloadLimits, download
from vvtv.processing.ffmpeg import local_input
from vvtv.processing.jobrun import JobRun, Overdue, ProgressListener, Stopped
from vvtv.processing.jobs import Lease, LeaseLost
from vvtv.processing.loudness import Loudness, meter_filter, normalization, parse_meter
from vvtv.processing.package import Checks, Packaged, Source, package, sync_path
from vvtv.processing.probe import Limits, MediaInfo, VideoInfo, admit, analyse
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, Plan
from vvtv.storage.objects import publish_asset

ROLE = "factory"
OPERATOR = "operator"  # Plan.judge of a programme added by hand: its page_url may be a local file
HEARTBEAT_SECONDS = 5.0
# An output whose picture is this much shorter than the source's means the source is damaged.
MIN_OUTPUT_SHARE = 0.9


DISK_CHECK_SECONDS = 2.0  # how often a running job looks at the free space again
TS_OVERHEAD = 1.1  # MPEG-TS packaging adds about 10% to the encoded rates


class DiskShort(VVTVError):
    """Not enough free space for the job (it is retried later, when there may be more)."""


def free_bytes(folder: Path) -> int:
    """Free space on the disk holding `folder`: the one place the Factory asks (tests stand in a small disk)."""
    return shutil.disk_usage(folder).free


class DiskRoom:
    """The media folder's disk: room for a job before it starts, kept while it runs.

    factory.min_free_bytes always stays free, for the Broadcaster and the database.
    """

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.media_dir
        self.reserve = settings.factory.min_free_bytes
        self._checked_at = 0.0

    def has_room(self, needed: int) -> bool:
        return free_bytes(self.folder) >= self.reserve + needed

    def require(self, needed: int, what: str) -> None:
        free = free_bytes(self.folder)
        if free < self.reserve + needed:
            raise DiskShort(f"disk short: {free} bytes free under {self.folder}, {what} needs {needed} "
                            f"beyond factory.min_free_bytes ({self.reserve})")  # fmt: skip

    def keep(self) -> None:
        """Called from a job's progress reports: another writer may be filling the disk meanwhile."""
        if time.monotonic() - self._checked_at >= DISK_CHECK_SECONDS:
            self._checked_at = time.monotonic()
            self.require(0, "the running job")


def outputs_bytes(profile: Profile, seconds: float) -> int:
    """What the encode of `seconds` of source writes at most: every rendition at its peak rates."""
    kbps = sum(r.video_kbps + r.audio_kbps for r in profile.renditions)
    return int(seconds * kbps * 1000 / 8 * TS_OVERHEAD)


@dataclass(kw_only=True)
class Outcome:
    asset_id: int | None = None
    error: str = ""
    final: bool = False  # the plan failed for good (no retry coming)


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "programme"


def factory_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "factory"


def workspace(settings: Settings, lease: Lease) -> Path:
    return factory_dir(settings) / "jobs" / f"job-{lease.job_id}-{lease.attempt}"


def asset_dir_prefix(plan_id: int) -> str:
    return f"{plan_id:06d}-"


# ----------------------------------------------------------------------------- the steps


def _limits(settings: FactorySettings) -> Limits:
    return Limits(
        min_short_side=settings.min_height, min_seconds=settings.min_seconds, max_seconds=settings.max_seconds
    )


def _download_limits(settings: FactorySettings) -> DownloadLimits:
    return DownloadLimits(
        max_bytes=settings.max_download_bytes, max_media_seconds=settings.max_seconds,
        stall_seconds=settings.download_stall_seconds, max_seconds=settings.download_max_seconds,
        allowed_hosts=settings.allowed_hosts,
    )  # fmt: skip


def is_url(text: str) -> bool:
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text) is not None


def _fetch(plan: Plan, directory: Path, settings: FactorySettings, run: JobRun) -> tuple[Path, str, bool]:
    """The source file, a title found on the way, and whether it was downloaded (ours to dispose of)."""
    if plan.judge == OPERATOR and not is_url(plan.page_url):
        path = Path(plan.page_url)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        return path, path.stem, False
    urls = [u for u in dict.fromkeys([plan.media_url, plan.page_url]) if u]
    error: Exception | None = None
    for url in urls:  # the captured media URL first; the page again if that link has gone stale
        try:
            got = download(url, directory, _download_limits(settings), on_progress=run.download_progress)
        except (RejectedError, Stopped, LeaseLost, Overdue):
            raise  # too big or too long (the page will not change that), or told to stop
        except Exception as exc:  # noqa: BLE001 - try the next URL, report the last failure
            error = exc
            continue
        return got.path, got.title, True
    assert error is not None
    raise error


def _picture_fixes(video: VideoInfo) -> list[str]:
    """Filters that make any source a plain progressive picture with square pixels."""
    fixes = []
    if video.interlaced:
        fixes.append("bwdif=mode=send_frame")
    if video.sample_aspect != 1:
        fixes += ["scale=trunc(iw*sar/2)*2:ih", "setsar=1"]
    return fixes


def _encode(
    source_path: Path, info: MediaInfo, video: VideoInfo, measured: Loudness | None, profile: Profile,
    directory: Path, settings: Settings, run: JobRun, *, preset: str | None = None,
) -> Packaged:  # fmt: skip
    audio_filters = []
    if measured is not None:
        ceiling = profile.true_peak_dbtp - settings.factory.true_peak_margin_db
        audio_filters = normalization(measured, target_lufs=profile.loudness_lufs, ceiling_dbtp=ceiling).filters
    source = Source(
        inputs=local_input(str(source_path)),
        video=video.stream,
        audio=info.audio.stream if info.audio else None,
        video_filters=_picture_fixes(video),
        audio_filters=audio_filters,
        duration_s=info.duration_s,
    )
    checks_dir = directory / "checks"
    checks_dir.mkdir(exist_ok=True)
    checks = Checks(vmaf_log_dir=checks_dir, vmaf_subsample=settings.factory.vmaf_subsample,
                    loudness_meter=meter_filter() if info.audio else None)  # fmt: skip
    poster_at = min((info.duration_s or 0) / 4, 60.0)
    return package(source, profile, directory / "asset", preset=preset, poster_at_s=poster_at, checks=checks,
                   on_progress=run.media_progress(info.duration_s), stall_seconds=run.stall_seconds,
                   timeout=run.seconds_left())  # fmt: skip


def _output_duration_check(packaged: Packaged, info: MediaInfo, video: VideoInfo) -> None:
    expected = video.duration_s or info.duration_s or 0
    made = packaged.duration_us / US
    if made < MIN_OUTPUT_SHARE * expected:
        raise RejectedError(f"truncated or damaged: the picture decodes for only {made:.1f} s of {expected:.1f} s")


def _clear_leftovers(rt: Runtime, lease: Lease) -> None:
    """Remove what earlier attempts at this job left: workspaces, and asset folders never recorded."""
    settings = rt.settings
    for old in (factory_dir(settings) / "jobs").glob(f"job-{lease.job_id}-*"):
        shutil.rmtree(old, ignore_errors=True)
    assets = settings.media_dir / "assets"
    with rt.db.session() as session:
        recorded = set(session.scalars(select(Asset.path).where(Asset.plan_id == lease.plan_id)))
    for folder in assets.glob(f"{asset_dir_prefix(lease.plan_id)}*"):
        if f"assets/{folder.name}" not in recorded:
            shutil.rmtree(folder, ignore_errors=True)


def _publish(
    rt: Runtime, run: JobRun, plan: Plan, packaged: Packaged, *, profile_name: str, title: str,
    loudness: Loudness | None, vmaf: float,
) -> int:  # fmt: skip
    """Rename the finished folder into place (and upload it), then record it: the Asset exists only once its
    files do."""
    settings = rt.settings
    final = settings.media_dir / "assets" / f"{asset_dir_prefix(plan.id)}{slug(title)}"
    final.parent.mkdir(parents=True, exist_ok=True)
    packaged.directory.rename(final)
    sync_path(final.parent)  # the new name on disk before the database calls it ready
    placed = replace(packaged, directory=final)
    try:
        publish_asset(settings.storage, settings.media_dir, final)  # to object storage, when media goes there
        with rt.db.session() as session:
            now = rt.clock.now_us()
            jobs.mark_done(session, run.lease, now)
            asset = record_asset(
                session, placed, media_dir=settings.media_dir, kind=AssetKind.PROGRAMME, profile=profile_name,
                title=title, now_us=now, plan_id=plan.id, source=plan.media_url or plan.page_url,
                description=plan.description, tags=list(plan.tags or []),
                loudness_lufs=loudness.integrated_lufs if loudness and not loudness.silent else None,
                true_peak_dbtp=loudness.true_peak_dbtp if loudness and not loudness.silent else None,
                vmaf=round(vmaf, 2),
                poster=final.joinpath(packaged.poster.name).relative_to(settings.media_dir).as_posix()
                if packaged.poster else None,
            )  # fmt: skip
            return asset.id
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise


def _dispose_source(settings: Settings, plan: Plan, source: Path) -> None:
    if settings.factory.keep_sources == "archive":
        archive = factory_dir(settings) / "archive"
        archive.mkdir(parents=True, exist_ok=True)
        source.rename(archive / f"{asset_dir_prefix(plan.id)}{source.name}")
    else:
        source.unlink(missing_ok=True)


def _record_analysis(rt: Runtime, lease: Lease, info: MediaInfo, video: VideoInfo, measured: Loudness | None) -> None:
    width, height = video.display_size
    sound = f"{info.audio.codec} {info.audio.layout}" if info.audio else "no sound"
    loudness = f", {measured.integrated_lufs:.1f} LUFS, {measured.true_peak_dbtp:.1f} dBTP" if measured else ""
    rt.record_event(
        "factory.analysed", f"plan {lease.plan_id}: {video.codec} {width}x{height} {video.frame_rate:.2f} fps"
        f"{' interlaced' if video.interlaced else ''}, {sound}{loudness}, {info.duration_s:.1f} s",
        plan=lease.plan_id, job=lease.job_id, container=info.container, duration_s=info.duration_s,
        video_codec=video.codec, width=width, height=height, frame_rate=video.frame_rate,
        variable_frame_rate=video.variable_frame_rate, interlaced=video.interlaced,
        audio_codec=info.audio.codec if info.audio else None, audio_layout=info.audio.layout if info.audio else None,
        loudness_lufs=measured.integrated_lufs if measured else None,
        true_peak_dbtp=measured.true_peak_dbtp if measured else None,
    )  # fmt: skip


def make_asset(rt: Runtime, run: JobRun, governor: QualityGovernor | None = None) -> int:
    """Every step of one job; returns the new Asset's id. Raises on any failure.

    With a governor (the factory role's), the x264 preset is the one it chose, and it is told how the encode went.
    """
    settings = rt.settings
    factory = settings.factory
    with rt.db.session() as session:
        plan = session.get(Plan, run.lease.plan_id)
        if plan is None:
            raise InputError(f"plan {run.lease.plan_id} does not exist")
    profile_name = settings.channel(plan.channel).profile
    profile = settings.profiles[profile_name]
    _clear_leftovers(rt, run.lease)
    directory = workspace(settings, run.lease)
    directory.mkdir(parents=True)
    room = DiskRoom(settings)
    run.also_check(room.keep)

    with run.step("fetch"):
        source_path, found_title, downloaded = _fetch(plan, directory, factory, run)
    title = plan.title or found_title
    with run.step("analyse"):
        info = analyse(str(source_path))
        video = admit(info, _limits(factory))
        run.allow_for_media(info.duration_s or 0.0)
        room.require(outputs_bytes(profile, info.duration_s or 0.0), "the encode")
        measured = first_pass(str(source_path), info, video, on_progress=run.media_progress(info.duration_s),
                              stall_seconds=run.stall_seconds, timeout=run.seconds_left()).loudness  # fmt: skip
    _record_analysis(rt, run.lease, info, video, measured)
    preset = governor.preset(profile_name) if governor else profile.x264_preset
    encode_started = time.monotonic()
    with run.step("encode"):
        packaged = _encode(source_path, info, video, measured, profile, directory, settings, run, preset=preset)
    top = profile.top.name
    if governor:
        governor.observe(profile_name, EncodeOutcome(
            media_seconds=info.duration_s or 0.0, encode_seconds=time.monotonic() - encode_started,
            vmaf_failed=packaged.vmaf[top] < factory.vmaf_threshold,
        ))  # fmt: skip
    if packaged.vmaf[top] < factory.vmaf_threshold:
        rt.record_event(
            "factory.vmaf-retry", f"plan {plan.id}: VMAF {packaged.vmaf[top]:.1f} of {top} is under "
            f"{factory.vmaf_threshold:g}; encoding again with the {factory.vmaf_retry_preset} preset",
            plan=plan.id, job=run.lease.job_id, vmaf=packaged.vmaf,
        )  # fmt: skip
        shutil.rmtree(packaged.directory)
        with run.step("retry"):
            packaged = _encode(source_path, info, video, measured, profile, directory, settings, run,
                               preset=factory.vmaf_retry_preset)  # fmt: skip
        if packaged.vmaf[top] < factory.vmaf_threshold:
            raise RejectedError(
                f"VMAF {packaged.vmaf[top]:.1f} of rendition {top} is under the threshold "
                f"{factory.vmaf_threshold:g}, also after a retry with the {factory.vmaf_retry_preset} preset"
            )
    _output_duration_check(packaged, info, video)
    output_loudness = parse_meter(packaged.log) if info.audio else None
    with run.step("publish"):
        asset_id = _publish(rt, run, plan, packaged, profile_name=profile_name, title=title or f"Programme {plan.id}",
                            loudness=output_loudness, vmaf=packaged.vmaf[top])  # fmt: skip
    rt.record_event(
        "factory.asset-ready", f"plan {plan.id} is asset {asset_id}: {title}", plan=plan.id, asset=asset_id,
        preset=preset,
        vmaf=packaged.vmaf, source_loudness_lufs=measured.integrated_lufs if measured else None,
        loudness_lufs=output_loudness.integrated_lufs if output_loudness else None,
        true_peak_dbtp=output_loudness.true_peak_dbtp if output_loudness else None,
    )  # fmt: skip
    if downloaded:
        _dispose_source(settings, plan, source_path)
    shutil.rmtree(directory, ignore_errors=True)
    return asset_id


# ----------------------------------------------------------------------------- outcomes


def _discard(settings: Settings, lease: Lease, *, quarantine: bool) -> None:
    directory = workspace(settings, lease)
    if quarantine and directory.exists():
        target = factory_dir(settings) / "quarantine" / directory.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        directory.rename(target)
    else:
        shutil.rmtree(directory, ignore_errors=True)


def _give_up(rt: Runtime, lease: Lease, reason: str) -> Outcome:
    settings = rt.settings
    if jobs.fail(rt.db, rt.clock, lease, reason):
        _discard(settings, lease, quarantine=settings.factory.on_failure == "quarantine")
        rt.record_event("factory.failed", f"plan {lease.plan_id} failed: {reason}",
                        plan=lease.plan_id, job=lease.job_id)  # fmt: skip
    return Outcome(error=reason, final=True)


def run_job(
    rt: Runtime, lease: Lease, *, listener: ProgressListener | None = None, retry: bool = True,
    on_tick: Callable[[], None] = lambda: None, governor: QualityGovernor | None = None,
) -> Outcome:  # fmt: skip
    """One attempt at a claimed job, settled whatever happens: done, retried later, failed or given back."""
    settings = rt.settings
    with JobRun(rt, lease, listener=listener, on_tick=on_tick) as run:
        try:
            return Outcome(asset_id=make_asset(rt, run, governor))
        except (Stopped, KeyboardInterrupt) as exc:
            jobs.release(rt.db, rt.clock, lease)
            _discard(settings, lease, quarantine=False)
            if isinstance(exc, KeyboardInterrupt):
                raise
            return Outcome(error="stopped")
        except LeaseLost as exc:
            # The new owner clears this attempt's files when it starts; ours may still be in use by it.
            rt.record_event("factory.lease-lost", str(exc), plan=lease.plan_id, job=lease.job_id)
            return Outcome(error=str(exc))
        except (InputError, ConfigError) as exc:
            return _give_up(rt, lease, str(exc))
        except Exception as exc:  # noqa: BLE001 - a tool, the disk or the network: worth another attempt
            # Our own errors say what failed; a stray Python error needs its type to make sense.
            reason = str(exc) if isinstance(exc, VVTVError) else f"{type(exc).__name__}: {exc}"
            if (overdue := run.overdue()) and overdue not in reason:  # ffmpeg killed at the deadline, say
                reason = f"{overdue} ({reason})"
            if not retry or lease.attempt >= lease.max_attempts:
                return _give_up(rt, lease, f"{reason} (attempt {lease.attempt} of {lease.max_attempts})")
            delay = jobs.backoff_seconds(lease.attempt, base=settings.factory.retry_backoff_seconds,
                                         cap=settings.factory.retry_backoff_max_seconds)  # fmt: skip
            if jobs.retry_later(rt.db, rt.clock, lease, reason, delay_seconds=delay):
                _discard(settings, lease, quarantine=False)
                rt.record_event("factory.retry", f"plan {lease.plan_id}: attempt {lease.attempt} failed, "
                                f"retrying in {delay:g} s: {reason}", plan=lease.plan_id, job=lease.job_id)  # fmt: skip
            return Outcome(error=reason)


# ----------------------------------------------------------------------------- the role


def _disk_ok(rt: Runtime) -> bool:
    """Room for a job to start: its download may take up to the download cap."""
    return DiskRoom(rt.settings).has_room(rt.settings.factory.max_download_bytes)


def run(rt: Runtime) -> None:
    """The factory worker: enqueue approved plans, take jobs one at a time, until told to stop."""
    owner = worker_id()
    started = rt.clock.now_us()
    factory = rt.settings.factory
    last_beat = 0.0
    disk_low = False
    housekeeper = Housekeeper(rt)  # the Factory fills the disk, so it also keeps it tidy, between jobs
    governor = QualityGovernor(rt)

    def beat(**data: object) -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
            rt.heartbeat(ROLE, started, worker=owner, **data)
            last_beat = time.monotonic()

    while not rt.stop.is_set():
        beat(state="idle")
        housekeeper.maybe_run()
        jobs.enqueue_approved(rt.db, rt.clock, max_attempts=factory.max_attempts)
        for lease in jobs.fail_abandoned(rt.db, rt.clock):
            _clear_leftovers(rt, lease)
            rt.record_event("factory.failed", f"plan {lease.plan_id}: its worker stopped answering on the last attempt",
                            plan=lease.plan_id, job=lease.job_id)  # fmt: skip
        if not _disk_ok(rt):
            if not disk_low:
                housekeeper.maybe_run(now=True)
                needed = factory.min_free_bytes + factory.max_download_bytes
                rt.record_event("factory.disk-low", f"less than {needed} bytes (factory.min_free_bytes + "
                                f"max_download_bytes) free under {rt.settings.media_dir}; no job starts until there "
                                "is more")  # fmt: skip
            disk_low = True
            rt.stop.wait(factory.poll_seconds)
            continue
        disk_low = False
        lease = jobs.claim(rt.db, rt.clock, owner=owner, lease_seconds=factory.lease_seconds)
        if lease is None:
            rt.stop.wait(factory.poll_seconds)
            continue
        run_job(rt, lease, on_tick=lambda: beat(state="working", job=lease.job_id), governor=governor)
