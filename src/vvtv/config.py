"""Settings: defaults < config file < environment < command line.

The config file is `vvtv.toml` in the working directory, or the path in
`VVTV_CONFIG`. Environment variables are `VVTV_SECTION__KEY` (for example
`VVTV_ORIGIN__PORT=9000`). The command line passes `--set section.key=value`.
A bad value fails at start with a ConfigError naming the key and what is allowed.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vvtv.errors import ConfigError

CHANNEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class Rendition(BaseModel):
    """One rung of the ABR ladder. Every rendition shares the profile's GOP and segment grid."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    width: int = Field(ge=64, le=7680)
    height: int = Field(ge=64, le=4320)
    video_kbps: int = Field(ge=50, le=100_000)
    audio_kbps: int = Field(default=128, ge=32, le=512)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even (yuv420p needs even dimensions)")
        return value


class Profile(BaseModel):
    """The broadcast standard an Asset is made to. One per channel."""

    fps: int = Field(default=25, ge=10, le=60)
    segment_seconds: int = Field(default=4, ge=1, le=12)
    keyframe_seconds: int = Field(default=2, ge=1, le=12)
    x264_preset: str = "veryfast"
    loudness_lufs: float = Field(default=-14.0, ge=-40, le=-5)
    true_peak_dbtp: float = Field(default=-1.0, ge=-9, le=0)
    audio_sample_rate: int = 48_000
    renditions: list[Rendition] = Field(
        default_factory=lambda: [
            Rendition(name="1080p", width=1920, height=1080, video_kbps=4500, audio_kbps=160),
            Rendition(name="720p", width=1280, height=720, video_kbps=2500),
            Rendition(name="480p", width=854, height=480, video_kbps=1000, audio_kbps=96),
        ],
        min_length=1,
    )

    @model_validator(mode="after")
    def _grid(self) -> "Profile":
        if self.segment_seconds % self.keyframe_seconds:
            raise ValueError("segment_seconds must be a multiple of keyframe_seconds")
        names = [r.name for r in self.renditions]
        if len(set(names)) != len(names):
            raise ValueError(f"rendition names must be unique, got {names}")
        return self

    @property
    def top(self) -> Rendition:
        return max(self.renditions, key=lambda r: r.width * r.height)


DEMO_PROFILE = Profile(
    x264_preset="veryfast",
    renditions=[
        Rendition(name="360p", width=640, height=360, video_kbps=800, audio_kbps=128),
        Rendition(name="240p", width=426, height=240, video_kbps=350, audio_kbps=64),
    ],
)


class ComplianceSettings(BaseModel):
    """Who may watch a channel: an age gate in front of its playlists and segments (origin/gate.py)."""

    # 0: no gate. Otherwise a viewer proves this age before the origin hands out a viewing token.
    min_age: int = Field(default=0, ge=0, le=25)
    # birthdate: the gate asks for a date of birth; confirm: the viewer confirms being old enough.
    gate: Literal["birthdate", "confirm"] = "birthdate"


class GeoSettings(BaseModel):
    """Where a channel may be watched (origin/geo.py): an allow- or block-list of ISO 3166-1 alpha-2 codes."""

    mode: Literal["off", "allow", "block"] = "off"
    countries: list[str] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        codes = [code.upper() for code in value]
        bad = [code for code in codes if len(code) != 2 or not code.isascii() or not code.isalpha()]
        if bad:
            raise ValueError(f"country codes are two letters (ISO 3166-1 alpha-2), got {bad}")
        return codes

    @model_validator(mode="after")
    def _listed(self) -> "GeoSettings":
        if self.mode != "off" and not self.countries:
            raise ValueError(f"mode {self.mode!r} needs at least one country code in countries")
        return self


class AdSettings(BaseModel):
    """Ad breaks at programme boundaries (broadcast/adbreaks.py) and what they are estimated to earn."""

    # A break is due at the first programme boundary this long after the previous break; 0: no breaks.
    every_minutes: float = Field(default=0, ge=0, le=24 * 60)
    break_seconds: int = Field(default=30, ge=4, le=600)
    # Estimated revenue per thousand ad impressions, in `currency`.
    cpm: float = Field(default=0, ge=0, le=10_000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
class Daypart(BaseModel):
    """A part of the day with what suits it. Hours are local to programming.timezone; a part whose
    end is not after its start runs past midnight (23 to 6)."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    start_hour: float = Field(ge=0, lt=24)
    end_hour: float = Field(ge=0, le=24)
    tags: list[str] = Field(default_factory=list)  # preferred tags or categories
    energy: Literal["low", "medium", "high"] | None = None
    min_minutes: float = Field(default=0, ge=0)
    max_minutes: float = Field(default=24 * 60, gt=0)

    @model_validator(mode="after")
    def _lengths(self) -> "Daypart":
        if self.min_minutes >= self.max_minutes:
            raise ValueError(f"daypart {self.name}: min_minutes must be below max_minutes")
        self.tags = [t.lower() for t in self.tags]
        return self

    def hours(self) -> list[tuple[float, float]]:
        """The part as one or two [start, end) spans within 0-24."""
        if self.end_hour > self.start_hour:
            return [(self.start_hour, self.end_hour)]
        return [(self.start_hour, 24.0), (0.0, self.end_hour)]

    def contains(self, hour: float) -> bool:
        return any(start <= hour < end for start, end in self.hours())


def _default_dayparts() -> list[Daypart]:
    return [
        Daypart(name="morning", start_hour=6, end_hour=10, tags=["nature", "news", "science"], energy="medium",
                max_minutes=15),
        Daypart(name="daytime", start_hour=10, end_hour=19, tags=["science", "art", "documentary"], energy="medium"),
        Daypart(name="prime", start_hour=19, end_hour=23, tags=["music", "film", "comedy"], energy="high",
                min_minutes=2),
        Daypart(name="late-night", start_hour=23, end_hour=6, tags=["ambient", "nature", "music"], energy="low"),
    ]  # fmt: skip


class ScoreWeights(BaseModel):
    """How much each scoring component counts (0 turns one off)."""

    model_config = {"extra": "forbid"}

    daypart: float = Field(default=1.0, ge=0, le=100)
    diversity: float = Field(default=1.0, ge=0, le=100)
    quality: float = Field(default=0.5, ge=0, le=100)
    freshness: float = Field(default=0.5, ge=0, le=100)
    audience: float = Field(default=2.0, ge=0, le=100)


class ExplorationSettings(BaseModel):
    model_config = {"extra": "forbid"}

    # With this probability a pick goes, uniformly, to one of the eligible programmes that aired least.
    epsilon: float = Field(default=0.15, ge=0, le=1)


class RerankSettings(BaseModel):
    """The optional LLM rerank of the best candidates (only when llm.base_url is set)."""

    model_config = {"extra": "forbid"}

    enabled: bool = True
    candidates: int = Field(default=20, ge=2, le=100)
    timeout_seconds: float = Field(default=5, gt=0, le=120)
    # The LLM sees what aired in this span before the pick, to avoid more of the same.
    lineup_minutes: float = Field(default=60, ge=0, le=24 * 60)


class ProgrammingSettings(BaseModel):
    """How the Programmer chooses (see programming/): scores, then Gumbel-top-k sampling."""

    model_config = {"extra": "forbid"}

    # "scored": the rules below; "fifo": ready order, as a plain playout system does.
    strategy: Literal["scored", "fifo"] = "scored"
    timezone: str = "UTC"  # dayparts are in this zone's local time
    weights: ScoreWeights = ScoreWeights()
    dayparts: list[Daypart] = Field(default_factory=_default_dayparts)
    # Diversity looks back this many entries for the same category, source or tags.
    diversity_window: int = Field(default=5, ge=0, le=100)
    # A programme does not air again within this many hours while another is eligible.
    min_repeat_hours: float = Field(default=6, ge=0, le=24 * 30)
    # Freshness halves every this many hours after a programme became ready.
    freshness_half_life_hours: float = Field(default=48, gt=0, le=24 * 365)
    temperature: float = Field(default=0.3, gt=0, le=100)
    top_k: int = Field(default=3, ge=1, le=100)  # entries sampled per round
    exploration: ExplorationSettings = ExplorationSettings()
    # Viewer retention is shrunk towards the channel's mean as if this many average viewings were added,
    # so a programme seen by two viewers does not swing the schedule.
    audience_prior_viewings: float = Field(default=5, ge=0, le=10_000)
    # Viewings older than this many days no longer count (tastes change), and housekeeping removes them.
    audience_days: float = Field(default=30, gt=0, le=3650)
    # Words in a programme's tags or title that say its energy; anything else is medium.
    energy_words: dict[Literal["low", "high"], list[str]] = Field(
        default_factory=lambda: {
            "low": ["ambient", "calm", "relax", "meditation", "sleep", "slow", "nature", "lullaby"],
            "high": ["action", "dance", "sport", "party", "rock", "electronic", "race", "comedy"],
        }
    )
    seed: int = 0  # with the channel and the day, seeds the sampling so a day can be replayed
    rerank: RerankSettings = RerankSettings()

    @model_validator(mode="after")
    def _check(self) -> "ProgrammingSettings":
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: {self.timezone!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        names = [d.name for d in self.dayparts]
        if len(set(names)) != len(names):
            raise ValueError(f"dayparts: names must be unique, got {names}")
        spans = sorted(span for d in self.dayparts for span in d.hours())
        for (_, end), (start, _) in zip(spans, spans[1:]):
            if start < end:
                raise ValueError("dayparts: parts overlap; each hour belongs to one part at most")
        return self

    def daypart_at(self, hour: float) -> Daypart | None:
        return next((d for d in self.dayparts if d.contains(hour)), None)


class ChannelSettings(BaseModel):
    name: str = Field(pattern=CHANNEL_NAME_PATTERN)
    title: str = "VVTV"
    profile: str = "broadcast"
    brief: str = "Creative Commons music, nature, science and art videos that suit a calm, curious 24/7 channel."
    # For IPTV apps (/channels.m3u): the logo (an absolute URL, or a path on the origin) and the group.
    logo: str = "/static/logo.png"
    group: str = "VVTV"
    compliance: ComplianceSettings = ComplianceSettings()
    geo: GeoSettings = GeoSettings()
    ads: AdSettings = AdSettings()
    # Where the Curator searches for this channel and what for; unset: discovery.start_sites and
    # discovery.queries. An empty list of sites leaves the channel without discovery.
    sites: list[str] | None = None
    queries: list[str] | None = Field(default=None, min_length=1)
    # This channel's own programming settings over the [programming] section, e.g. {"temperature": 0.5}.
    programming: dict[str, Any] = Field(default_factory=dict)


class StorageSettings(BaseModel):
    # Empty means SQLite in the data directory; postgresql://user:password@host/db for several machines.
    url: str = ""
    # Empty: media stays in the data directory, served by the origin. "s3://bucket/prefix": finished assets
    # are also uploaded there (storage/objects.py) and the live playlists point viewers at media_public_url.
    media_url: str = Field(default="", pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?)?$")
    # An S3-compatible server (MinIO, ...); empty: AWS S3 in media_region.
    media_endpoint_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    media_region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]+$")
    # Where viewers fetch the published media, e.g. a CloudFront URL; empty: the bucket's own URL.
    media_public_url: str = Field(default="", pattern=r"^(https?://\S+)?$")


class ToolSettings(BaseModel):
    # Empty means: the ffmpeg that the imageio-ffmpeg wheel ships (it has libx264 and libvmaf).
    ffmpeg: str = ""
    ffprobe: str = "ffprobe"

    def ffmpeg_path(self) -> str:
        if self.ffmpeg:
            return self.ffmpeg
        env = os.environ.get("IMAGEIO_FFMPEG_EXE")
        if env:
            return env
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()

    def ffprobe_path(self) -> str:
        found = shutil.which(self.ffprobe)
        if not found:
            raise ConfigError(f"tools.ffprobe: {self.ffprobe!r} is not on PATH (install Debian's ffmpeg package)")
        return found


class BroadcasterSettings(BaseModel):
    window_segments: int = Field(default=6, ge=3, le=60)
    # Fresh programme time ahead (vvtv.broadcast.buffer) below this is recorded (buffer-low), makes the
    # programmer interleave reruns between first airings, and the curator discover at once.
    buffer_target_minutes: float = Field(default=30, gt=0, le=24 * 60)
    # How far ahead the programmer keeps the timeline filled with programmes.
    horizon_minutes: float = Field(default=120, gt=0, le=7 * 24 * 60)
    # The emergency loop is planned only this far ahead: it is extended as time
    # passes and replaced as soon as new programmes are ready.
    emergency_lookahead_minutes: float = Field(default=5, gt=0, le=24 * 60)
    slate_seconds: int = Field(default=12, ge=4, le=600)
    # How often the timeline is re-read from the database, in seconds.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # RTMP output of every channel, e.g. "rtmp://127.0.0.1/live/{channel}"; empty: HLS only.
    rtmp_url: str = Field(default="", pattern=r"^(rtmps?://[^\s]+)?$")


class OriginSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    default_channel: str = "main"
    # /healthz reports a channel stale (503) once its playlists are older than this many segments.
    stale_segments: float = Field(default=2.0, gt=0, le=100)
    # How many upcoming entries the guide API lists after the one on air.
    guide_next: int = Field(default=3, ge=1, le=50)
    # Signs viewing tokens of gated channels (HMAC-SHA256). Empty: a random key made once in
    # data_dir/run/token.key; set it when origins on several machines serve the same channels.
    token_secret: str = ""
    # A token's life; the player's token cookie is renewed with every playlist it loads.
    token_seconds: int = Field(default=900, ge=30, le=86_400)
    # A MaxMind-format country database (GeoLite2-Country.mmdb, GeoIP2-Country.mmdb); needed by geo rules.
    geoip_database: Path | None = None
    # Peers (addresses or networks) whose X-Forwarded-For is believed: your reverse proxy or CDN.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Base URL written into /channels.m3u and /epg.xml; empty: the URL the request came in on.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value


class DemoSettings(BaseModel):
    # Synthetic programmes made at first start so a fresh machine shows a real channel.
    programmes: int = Field(default=6, ge=0, le=50)
    min_seconds: int = Field(default=30, ge=4, le=600)
    max_seconds: int = Field(default=90, ge=4, le=600)

    @model_validator(mode="after")
    def _range(self) -> "DemoSettings":
        if self.min_seconds > self.max_seconds:
            raise ValueError("min_seconds must not exceed max_seconds")
        return self


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class FactorySettings(BaseModel):
    """How the Factory turns approved plans into Assets (see processing/factory.py)."""

    # Smallest accepted picture: the shorter side of the displayed frame, so 720 means 720p
    # for landscape and 720x1280 for a vertical phone video.
    min_height: int = Field(default=720, ge=64, le=4320)
    min_seconds: float = Field(default=10, gt=0)
    max_seconds: float = Field(default=4 * 3600, gt=0)
    max_download_bytes: int = Field(default=8_000_000_000, ge=1_000_000)
    # A download that sends nothing for this long has stalled; the whole download may take at most
    # download_max_seconds.
    download_stall_seconds: float = Field(default=30, gt=0, le=600)
    download_max_seconds: float = Field(default=3600, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    # A job whose work stands still this long (no download bytes, ffmpeg's media time not moving) is
    # stopped, its ffmpeg killed, and retried while attempts remain; its lease is renewed only while it moves.
    job_stall_seconds: float = Field(default=300, gt=0)
    # A job is stopped (and retried) once it has run job_deadline_seconds, plus job_deadline_per_media_second
    # for every second of its source once that is known (the download counts: keep this above
    # download_max_seconds).
    job_deadline_seconds: float = Field(default=7200, gt=0)
    job_deadline_per_media_second: float = Field(default=10, ge=0)
    # A worker renews its lease every lease_seconds / 3; a crashed worker's job is taken over
    # once the lease has run out.
    lease_seconds: float = Field(default=60, ge=3, le=3600)
    # Wait before retry n: retry_backoff_seconds * 2^(n-1), at most retry_backoff_max_seconds.
    retry_backoff_seconds: float = Field(default=30, ge=0)
    retry_backoff_max_seconds: float = Field(default=900, ge=0)
    poll_seconds: float = Field(default=2, gt=0, le=300)
    vmaf_threshold: float = Field(default=85, ge=0, le=100)
    # VMAF scores two neighbouring frames out of every this many (50: one a second at 25 fps);
    # scoring every frame would cost about as much as the encode itself.
    vmaf_subsample: int = Field(default=50, ge=2, le=500)
    # The one retry after a VMAF score below the threshold uses this slower x264 preset.
    vmaf_retry_preset: str = "slow"
    # Loudness normalization aims this far below the profile's true-peak ceiling, because AAC encoding
    # raises peaks a little.
    true_peak_margin_db: float = Field(default=1.0, ge=0, le=6)
    # What happens to a downloaded source once its Asset is ready (an operator's local file is
    # never touched).
    keep_sources: Literal["delete", "archive"] = "delete"
    # What happens to a failed job's files: removed, or kept for inspection under factory/quarantine.
    on_failure: Literal["delete", "quarantine"] = "delete"
    # A job does not start while the media folder's disk has less free space than this.
    min_free_bytes: int = Field(default=2_000_000_000, ge=0)
    # Hosts a plan's URLs may point at although they resolve to a private address (tests, a LAN archive).
    allowed_hosts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ranges(self) -> "FactorySettings":
        if self.min_seconds >= self.max_seconds:
            raise ValueError("min_seconds must be less than max_seconds")
        if self.retry_backoff_seconds > self.retry_backoff_max_seconds:
            raise ValueError("retry_backoff_seconds must not exceed retry_backoff_max_seconds")
        if self.vmaf_retry_preset not in X264_PRESETS:
            raise ValueError(f"vmaf_retry_preset must be one of {X264_PRESETS}")
        return self


class DiscoverySettings(BaseModel):
    """The Curator: its browser, its manners and its standards."""

    # Empty: found on PATH (chromium, chromium-browser, google-chrome).
    chromium_path: str = ""
    headless: bool = True
    # Multiplies every human-like delay: 1 is a person's pace, 0 turns pacing off (tests, benchmarks).
    pacing: float = Field(default=1.0, ge=0, le=10)
    seed: int = 1
    # Hosts (or host:port) that may be private or loopback addresses. The demo site is one.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1:8091"])
    # Where scheduled discoveries search: URLs (the generic profile) or names of YAML site profiles.
    # Unset: the demo site when the demo-site role runs, else none (a channel's own `sites` stand first).
    start_sites: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8091/"])
    site_profiles_dir: Path | None = None
    queries: list[str] = Field(default_factory=lambda: ["creative commons music"], min_length=1)
    max_plans: int = Field(default=10, ge=1, le=1000)  # approved plans per scheduled discovery
    schedule_minutes: float = Field(default=60, gt=0)
    # How often the buffer is checked; below broadcaster.buffer_target_minutes a discovery starts at once,
    # but never sooner than min_gap_minutes after the previous one.
    buffer_check_seconds: float = Field(default=30, gt=0)
    min_gap_minutes: float = Field(default=5, ge=0)
    min_interval_seconds: float = Field(default=2.0, ge=0, le=600)  # between two pages of one domain
    page_budget: int = Field(default=60, ge=1, le=100_000)  # pages per domain per discovery
    max_result_pages: int = Field(default=3, ge=1, le=100)
    min_height: int = Field(default=720, ge=1, le=4320)  # below this the video is not HD
    watch_seconds: float = Field(default=5.0, ge=0.5, le=120)
    # How long to wait for a page's <video> to appear, and for it to play once started.
    find_video_seconds: float = Field(default=6.0, gt=0, le=120)
    min_advance_ratio: float = Field(default=0.75, gt=0, le=1)  # currentTime vs wall clock while watching
    max_stalls: int = Field(default=1, ge=0)
    max_dropped_ratio: float = Field(default=0.2, ge=0, le=1)
    page_timeout_seconds: float = Field(default=20, gt=0, le=600)
    max_page_bytes: int = Field(default=20_000_000, ge=10_000)  # a larger document is not a web page
    min_duration_seconds: float = Field(default=5, ge=0)
    max_duration_seconds: float = Field(default=4 * 3600, gt=0)
    require_open_licence: bool = True
    min_score: float = Field(default=0.5, ge=0, le=1)
    restart_after_pages: int = Field(default=100, ge=1)  # a fresh browser now and then keeps memory flat
    # A browser using more than this (its processes' PSS) is replaced before the next page.
    browser_max_memory_mb: int = Field(default=2048, ge=100)
    # The account Chromium runs as when the Curator runs as root, so it keeps its sandbox and cannot
    # read the database. Empty: vvtv-browser (made by `make up`/`make test`), else nobody.
    browser_user: str = ""

    @model_validator(mode="after")
    def _durations(self) -> "DiscoverySettings":
        if self.min_duration_seconds >= self.max_duration_seconds:
            raise ValueError("min_duration_seconds must be below max_duration_seconds")
        return self

    def chromium_executable(self) -> str:
        if self.chromium_path:
            if not Path(self.chromium_path).is_file():
                raise ConfigError(f"discovery.chromium_path: no file at {self.chromium_path}")
            return self.chromium_path
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
            found = shutil.which(name)
            if found:
                return found
        raise ConfigError("discovery.chromium_path: no Chromium on PATH (apt-get install chromium, or set the path)")


class LLMSettings(BaseModel):
    """The LLM judge, through Ollama's HTTP API. An empty base_url means no LLM: the deterministic judge decides."""

    base_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/\S*)?)?$")
    model: str = Field(default="llama3.1:8b", min_length=1)
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    # The circuit breaker opens after this many failures within the window, and probes after the cool-down.
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_window_seconds: float = Field(default=300, gt=0)
    breaker_cooldown_seconds: float = Field(default=120, gt=0)
    # The deterministic judge's fit to the brief: sentence embeddings when the `embeddings` extra is
    # installed; false keeps the model (about 450 MB, a few seconds of CPU to load) out of memory
    # on a small machine, and word overlap decides.
    embeddings: bool = True


class HealingSettings(BaseModel):
    """What the channel repairs by itself beyond restarting roles (see src/vvtv/healing/)."""

    # The RTMP output's ffmpeg is restarted when its output time has not moved for this long.
    restream_stall_seconds: float = Field(default=15, ge=2, le=600)
    # Quality auto-adjust, over the Factory's last quality_window_jobs encodes of a profile:
    # this many VMAF retries step the x264 preset one slower (more quality per bit) ...
    quality_window_jobs: int = Field(default=10, ge=1, le=1000)
    vmaf_failures_to_step: int = Field(default=3, ge=1, le=1000)
    # ... and a median encode slower than this (seconds per second of media) steps it one faster.
    max_encode_seconds_per_media_second: float = Field(default=2.0, gt=0, le=100)
    # The Curator pauses while the 1-minute load average per core is above this: well above what the
    # Factory's own encodes cause (x264 runs more threads than cores), so only a machine in real trouble.
    max_load_per_core: float = Field(default=6.0, gt=0, le=1000)
    # Housekeeping (run by the Factory between jobs, and at once when the disk runs low):
    housekeeping_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)
    # assets last aired (or retired) longer ago than this can no longer air: files removed, asset retired;
    # schedule rows that ended longer ago are pruned. Nothing on air or ahead is ever touched.
    retention_days: float = Field(default=7, gt=0, le=3650)
    event_retention_days: float = Field(default=30, gt=0, le=3650)

    @model_validator(mode="after")
    def _window(self) -> "HealingSettings":
        if self.vmaf_failures_to_step > self.quality_window_jobs:
            raise ValueError("vmaf_failures_to_step must not exceed quality_window_jobs")
        return self


class DemoSiteSettings(BaseModel):
    """The built-in demo video website (`vvtv demo-site`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8091, ge=0, le=65535)


class ControlSettings(BaseModel):
    # The bearer token of the origin's control API (/api/control/...) and of `vvtvctl --url`;
    # unset: the control API is off. Set it in the environment (VVTV_CONTROL__TOKEN), not in a file others read.
    token: SecretStr | None = None

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (for example: openssl rand -hex 24)")
        return value


class SupervisorSettings(BaseModel):
    # Plain `vvtv up` runs the whole loop: the demo site for the Curator to find videos on.
    roles: list[str] = Field(
        default_factory=lambda: ["programmer", "broadcaster", "origin", "demo", "factory", "demo-site", "curator"]
    )
    max_backoff_seconds: float = Field(default=30, gt=0)
    # A role whose heartbeat has not advanced for this long while its process lives is hung:
    # killed and restarted. Each is above the role's longest quiet stretch when healthy (the
    # Curator heartbeats after every link it visits, the Factory every few seconds of a job).
    hang_seconds: dict[str, float] = Field(
        default_factory=lambda: {"broadcaster": 20, "programmer": 60, "factory": 300, "curator": 600}
    )

    @field_validator("hang_seconds")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {role: seconds for role, seconds in value.items() if seconds <= 0}
        if bad:
            raise ValueError(f"must be more than 0 seconds: {bad}")
        return value


def _default_profiles() -> dict[str, Profile]:
    return {"broadcast": Profile(), "demo": DEMO_PROFILE}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VVTV_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path("var")
    storage: StorageSettings = StorageSettings()
    tools: ToolSettings = ToolSettings()
    profiles: dict[str, Profile] = Field(default_factory=_default_profiles)
    channels: list[ChannelSettings] = Field(
        default_factory=lambda: [ChannelSettings(name="main")], min_length=1
    )
    broadcaster: BroadcasterSettings = BroadcasterSettings()
    origin: OriginSettings = OriginSettings()
    demo: DemoSettings = DemoSettings()
    factory: FactorySettings = FactorySettings()
    supervisor: SupervisorSettings = SupervisorSettings()
    control: ControlSettings = ControlSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    llm: LLMSettings = LLMSettings()
    healing: HealingSettings = HealingSettings()
    demo_site: DemoSiteSettings = DemoSiteSettings()
    programming: ProgrammingSettings = ProgrammingSettings()

    @model_validator(mode="after")
    def _curator_finds_the_demo_site(self) -> "Settings":
        # Out of the box the Curator browses the demo site wherever demo_site puts it, so
        # moving the demo site (VVTV_DEMO_SITE__PORT) needs no other change; set values stand.
        # Without the demo-site role nothing listens there: no site is configured, and the
        # curator idles saying so instead of searching an address that never answers.
        address = f"{self.demo_site.host}:{self.demo_site.port}"
        demo_site_runs = "demo-site" in self.supervisor.roles
        if "start_sites" not in self.discovery.model_fields_set:
            self.discovery.start_sites = [f"http://{address}/"] if demo_site_runs else []
        if "allowed_hosts" not in self.discovery.model_fields_set:
            self.discovery.allowed_hosts = [address]
        if demo_site_runs and "allowed_hosts" not in self.factory.model_fields_set:
            self.factory.allowed_hosts = [address]  # so that the Factory can make what the Curator found there
        return self

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channels: names must be unique, got {names}")
        for channel in self.channels:
            if channel.profile not in self.profiles:
                raise ValueError(
                    f"channels.{channel.name}.profile: {channel.profile!r} is not one of {sorted(self.profiles)}"
                )
        if self.origin.default_channel not in names:
            raise ValueError(f"origin.default_channel: {self.origin.default_channel!r} is not one of {names}")
        geo = [c.name for c in self.channels if c.geo.mode != "off"]
        if geo and self.origin.geoip_database is None:
            raise ValueError(f"channels {geo} have geo rules: origin.geoip_database must name a MaxMind .mmdb file")
        for channel in self.channels:
            try:
                merge_programming(self.programming, channel.programming)
            except ValidationError as exc:
                raise ValueError(f"channels.{channel.name}.programming: {describe_validation_error(exc)}") from None
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: command line (init) > environment > config file > defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    # Derived paths: one place decides where things live.
    @property
    def database_url(self) -> str:
        return self.storage.url or f"sqlite:///{self.data_dir.resolve() / 'vvtv.db'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir.resolve() / "media"

    @property
    def run_dir(self) -> Path:
        return self.data_dir.resolve() / "run"

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise ConfigError(f"no channel named {name!r}; channels are {[c.name for c in self.channels]}")

    def profile_for(self, channel: str) -> Profile:
        return self.profiles[self.channel(channel).profile]

    def sites_for(self, channel: str) -> list[str]:
        """Where the Curator searches for this channel: its own sites, else discovery.start_sites."""
        sites = self.channel(channel).sites
        return self.discovery.start_sites if sites is None else sites

    def queries_for(self, channel: str) -> list[str]:
        return self.channel(channel).queries or self.discovery.queries
    def programming_for(self, channel: str, *overrides: dict[str, Any]) -> ProgrammingSettings:
        """The channel's programming: [programming], then the channel's own, then each override given."""
        return merge_programming(self.programming, self.channel(channel).programming, *overrides)


def merge_programming(base: ProgrammingSettings, *overrides: dict[str, Any]) -> ProgrammingSettings:
    """`base` with each override applied in turn; keys may be nested dicts or dotted ("weights.audience").

    Raises pydantic's ValidationError naming the key when a value or a key is not allowed.
    """
    merged = base.model_dump()
    for override in overrides:
        for key, value in override.items():
            node = merged
            parts = key.split(".")
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
                node[parts[-1]] = {**node[parts[-1]], **value}
            else:
                node[parts[-1]] = value
    return ProgrammingSettings.model_validate(merged)


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each key and what is wrong with it."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}; got {e.get('input')!r}" for e in exc.errors()
    )


def config_file() -> Path | None:
    path = os.environ.get("VVTV_CONFIG")
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"VVTV_CONFIG: no config file at {path}")
        return Path(path)
    default = Path("vvtv.toml")
    return default if default.is_file() else None


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn `--set a.b=c` pairs into the nested dict pydantic takes as init values."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected section.key=value")
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _parse_value(value)
    return result


def _parse_value(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def load_settings(overrides: list[str] | None = None, **values: Any) -> Settings:
    """Build the settings, turning validation errors into one readable ConfigError."""
    init = parse_overrides(overrides or [])
    init.update(values)
    try:
        return Settings(**init)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "settings"
            allowed = error.get("ctx", {})
            hint = f" (allowed: {allowed})" if allowed and "error" not in allowed else ""
            lines.append(f"{key}: {error['msg']}{hint}; got {error.get('input')!r}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
