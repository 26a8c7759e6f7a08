"""The records that pass between stages (see ARCHITECTURE.md).

Times are integer microseconds since the Unix epoch (UTC), as in vvtv.clock.
Schema changes go through a new Alembic migration in storage/migrations/versions.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, int: BigInteger}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as the value string, checked by the database where it can.
    return Enum(cls, values_callable=lambda c: [m.value for m in c], native_enum=False, length=16)


class PlanStatus(str, enum.Enum):
    APPROVED = "approved"  # judged fit, waiting for the Factory
    REJECTED = "rejected"  # judged unfit; reason says why
    PROCESSING = "processing"
    DONE = "done"  # became an Asset
    FAILED = "failed"  # the Factory could not make it; reason says why


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AssetKind(str, enum.Enum):
    PROGRAMME = "programme"
    SLATE = "slate"
    EVERGREEN = "evergreen"
    BREAK = "break"  # fills an ad break (broadcast/adbreaks.py)


class AssetStatus(str, enum.Enum):
    READY = "ready"
    RETIRED = "retired"


class EntryKind(str, enum.Enum):
    PROGRAMME = "programme"  # a first airing on this channel (fresh content)
    RERUN = "rerun"  # a programme that aired before, chosen again by the programming rules
    EMERGENCY = "emergency"  # the slate or evergreen loop filling a short buffer
    INJECTED = "injected"  # an operator's emergency injection
    BREAK = "break"  # an ad break, marked for ad insertion in the playlists (broadcast/adbreaks.py)


class Channel(Base):
    __tablename__ = "channels"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at_us: Mapped[int]
    # Bumped on every timeline change so broadcasters re-read only when needed.
    timeline_version: Mapped[int] = mapped_column(default=0)


class Plan(Base):
    """A video found and judged, not downloaded yet."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("page_url", name="uq_plans_page_url"),
        Index("ix_plans_media_url", "media_url"),
        Index("ix_plans_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), default="main")
    page_url: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    licence: Mapped[str | None] = mapped_column(Text)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Play-before-download measurements and judge scores.
    playback: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    judge: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at_us: Mapped[int]
    updated_at_us: Mapped[int]


class Job(Base):
    """One attempt, possibly retried, to turn a Plan into an Asset."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "next_attempt_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), unique=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    step: Mapped[str] = mapped_column(String(32), default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(Text, default="")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_us: Mapped[int | None]
    next_attempt_us: Mapped[int] = mapped_column(default=0)
    # Higher first: raised while the plan's channel is short of programmes (healing/urgent.py).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at_us: Mapped[int]
    updated_at_us: Mapped[int]

    plan: Mapped[Plan] = relationship()


class Asset(Base):
    """A normalized, quality-checked, HLS-packaged programme; immutable once ready.

    Files live under media_dir / path: one folder per rendition holding
    `index.m3u8` and `seg_00000.ts`, ... Every rendition has the same segment
    boundaries, so one list of durations serves them all.
    """

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_queue", "status", "kind", "ready_at_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(AssetKind))
    status: Mapped[AssetStatus] = mapped_column(_enum(AssetStatus))
    profile: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    source: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text)  # relative to the media folder
    # [{"name", "width", "height", "bandwidth", "codecs"}] in ladder order.
    renditions: Mapped[list[Any]]
    segment_durations_us: Mapped[list[Any]]
    duration_us: Mapped[int]
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    true_peak_dbtp: Mapped[float | None] = mapped_column(Float)
    vmaf: Mapped[float | None] = mapped_column(Float)
    poster: Mapped[str | None] = mapped_column(Text)  # relative to the media folder
    created_at_us: Mapped[int]
    ready_at_us: Mapped[int]


class ScheduleEntry(Base):
    """An Asset placed at an absolute start time on a channel's timeline.

    Entries of a channel are numbered by `ordinal` (0, 1, 2, ...); each starts
    where the previous ends, and `first_seq` is the channel-global number of
    its first segment, so media sequence numbers never depend on wall time.
    """

    __tablename__ = "schedule_entries"
    __table_args__ = (
        UniqueConstraint("channel", "ordinal", name="uq_entries_channel_ordinal"),
        Index("ix_entries_channel_start", "channel", "start_us"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.name"))
    ordinal: Mapped[int]
    start_us: Mapped[int]
    duration_us: Mapped[int]
    first_seq: Mapped[int]
    segment_count: Mapped[int] = mapped_column(Integer)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The programming score that chose it: {"total": t, "components": {name: {"value", "weight", "why"}}}.
    score: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at_us: Mapped[int]

    asset: Mapped[Asset] = relationship(lazy="joined")

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


class Event(Base):
    """An audit line: recovery, emergency fill, breaker opened, rejection reason."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_at", "at_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_us: Mapped[int]
    kind: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Heartbeat(Base):
    """The last sign of life of a running role, for status and recovery."""

    __tablename__ = "heartbeats"

    role: Mapped[str] = mapped_column(String(48), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    started_at_us: Mapped[int]
    at_us: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Viewing(Base):
    """One viewer watching one entry of a channel, counted from the segments they fetched.

    `viewer` is a salted hash (of a session cookie, or of address and user agent): nothing that
    names a person is stored. `watched_us` adds up the distinct segments fetched; the share of the
    programme watched is watched_us over the time from the first fetched segment to the entry's end.
    """

    __tablename__ = "viewings"
    __table_args__ = (
        UniqueConstraint("channel", "ordinal", "viewer", name="uq_viewings_channel_ordinal_viewer"),
        Index("ix_viewings_asset", "channel", "asset_id"),
        Index("ix_viewings_last", "last_us"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ordinal: Mapped[int]  # the ScheduleEntry watched
    asset_id: Mapped[int] = mapped_column(Integer)
    viewer: Mapped[str] = mapped_column(String(32))
    first_us: Mapped[int]  # when the first segment was fetched
    last_us: Mapped[int]
    first_index: Mapped[int] = mapped_column(Integer)  # the asset segment the viewer joined at
    segments: Mapped[int] = mapped_column(Integer)  # distinct segments fetched
    watched_us: Mapped[int]
    possible_us: Mapped[int]  # from the joined segment's start to the entry's end


class ProgrammingOverride(Base):
    """Programming settings changed at run time (`vvtvctl business-logic set`), over the file's.

    channel "*" applies to every channel; a channel's own row wins over it.
    """

    __tablename__ = "programming_overrides"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # dotted key -> value
    updated_at_us: Mapped[int]
