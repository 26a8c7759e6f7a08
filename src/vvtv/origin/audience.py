"""Who watches what: viewer statistics counted from the segment requests the origin serves.

A viewer is a session cookie the player page sets (`vvtv_viewer`), or, for players that
keep no cookies, the address and user agent of the request. Either is turned into a keyed
hash (a secret kept in the data folder, mixed with the day), so nothing that names a person
is stored and the same person cannot be followed from one day to the next.

Request handlers only append to a list in memory; `flush` (run off the event loop every few
seconds) works out which timeline entry each segment belonged to and adds it up into one
`Viewing` row per (channel, entry, viewer): when they joined, how many distinct segments
they fetched and so how long they watched, out of how long they could have. Programming
reads those rows back as starts, average watch time and retention (`programme_stats`).

Segment URLs name the asset, not the channel (channels share assets), so a segment counts
for the channel whose playlist the viewer fetched last; without one, for the channel that
had that asset on air at the time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vvtv.clock import US
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, ScheduleEntry, Viewing

log = logging.getLogger(__name__)

VIEWER_COOKIE = "vvtv_viewer"
COOKIE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# /assets/<asset folder>/<rendition>/seg_00012.ts, as the channel playlists point at them.
SEGMENT_URL = re.compile(r"^/(assets/[^/]+)/[^/]+/seg_(\d{1,7})\.ts$")
# /channels/<name>/<anything>.m3u8, and /live.m3u8 for the default channel.
CHANNEL_PLAYLIST_URL = re.compile(r"^/channels/([a-z0-9][a-z0-9_-]{0,31})/[^/]+\.m3u8$")
# A viewer's channel is the one whose playlist they fetched within this long.
CHANNEL_MEMORY_US = 60 * US
# Buffered requests are dropped past this many, so a flood cannot exhaust memory.
MAX_PENDING = 200_000
# Distinct segments seen per viewing are remembered this long after its last request.
SEEN_MEMORY_US = 3600 * US


def new_viewer_cookie() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, kw_only=True)
class SegmentRequest:
    viewer: str
    channel: str | None
    asset_path: str
    index: int
    at_us: int


@dataclass(kw_only=True)
class _Seen:
    """What one viewer fetched of one entry, kept in memory to count distinct segments."""

    indices: set[int] = field(default_factory=set)
    last_us: int = 0


class ViewerKeys:
    """Keyed, daily-changing hashes of cookies or address + user agent."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def in_folder(cls, folder: Path) -> "ViewerKeys":
        path = folder / "viewer-secret"
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_bytes(32)
            temp = path.with_name(f".{path.name}.tmp")
            temp.write_bytes(secret)
            temp.chmod(0o600)
            temp.replace(path)
        return cls(secret)

    def key(self, *, cookie: str | None, address: str, user_agent: str, now_us: int) -> str:
        day = now_us // (86_400 * US)  # the UTC day number: cheap on the request path
        who = f"cookie:{cookie}" if cookie and COOKIE_PATTERN.match(cookie) else f"peer:{address}|{user_agent[:256]}"
        return hmac.new(self._secret, f"{day}|{who}".encode(), hashlib.sha256).hexdigest()[:32]


class AudienceRecorder:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.keys = ViewerKeys.in_folder(rt.settings.run_dir)
        self._lock = threading.Lock()
        self._pending: list[SegmentRequest] = []
        self._channel_of: dict[str, tuple[str, int]] = {}  # viewer -> (channel, when)
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self.dropped = 0  # requests not counted because the buffer was full

    def request(self, path: str, viewer: str, now_us: int) -> None:
        """Note one served request (a playlist or a segment); anything else is ignored. Cheap: no I/O."""
        segment = SEGMENT_URL.match(path)
        if segment:
            with self._lock:
                channel, when = self._channel_of.get(viewer, (None, 0))
                if len(self._pending) >= MAX_PENDING:
                    self.dropped += 1
                    return
                self._pending.append(SegmentRequest(
                    viewer=viewer, channel=channel if now_us - when < CHANNEL_MEMORY_US else None,
                    asset_path=segment[1], index=int(segment[2]), at_us=now_us,
                ))  # fmt: skip
            return
        playlist = CHANNEL_PLAYLIST_URL.match(path)
        channel = playlist[1] if playlist else self.rt.settings.origin.default_channel if path == "/live.m3u8" else None
        if channel:
            with self._lock:
                self._channel_of[viewer] = (channel, now_us)

    def flush(self) -> int:
        """Add the buffered segment requests to the database; returns how many were counted."""
        with self._lock:
            pending, self._pending = self._pending, []
            now = self.rt.clock.now_us()
            self._channel_of = {v: (c, t) for v, (c, t) in self._channel_of.items() if now - t < CHANNEL_MEMORY_US}
        if not pending:
            return 0
        counted = 0
        with self.rt.db.session() as session:
            resolver = _EntryResolver(session, {c.name for c in self.rt.settings.channels}, pending)
            grouped: dict[tuple[str, int, str], list[tuple[SegmentRequest, ScheduleEntry]]] = defaultdict(list)
            for request in pending:
                entry = resolver.entry_for(request)
                if entry is not None:
                    grouped[(entry.channel, entry.ordinal, request.viewer)].append((request, entry))
            existing = _existing_viewings(session, grouped)
            for key, requests in grouped.items():
                counted += self._add(session, key, requests, existing.get(key))
        self._forget_old(now)
        return counted

    def _add(self, session: Session, key: tuple[str, int, str], requests: list, row: Viewing | None) -> int:  # noqa: ANN001
        channel, ordinal, viewer = key
        entry: ScheduleEntry = requests[0][1]
        durations = entry.asset.segment_durations_us[: entry.segment_count]
        seen = self._seen.setdefault(key, _Seen())
        new = {r.index for r, _ in requests if 0 <= r.index < len(durations)} - seen.indices
        first_us = min(r.at_us for r, _ in requests)
        last_us = max(r.at_us for r, _ in requests)
        seen.indices |= new
        seen.last_us = max(seen.last_us, last_us)
        if row is None:
            joined = min(seen.indices) if seen.indices else 0
            row = Viewing(
                channel=channel, ordinal=ordinal, asset_id=entry.asset_id, viewer=viewer, first_us=first_us,
                last_us=last_us, first_index=joined, segments=0, watched_us=0,
                possible_us=sum(durations[joined:]),
            )  # fmt: skip
            session.add(row)
        row.first_us = min(row.first_us, first_us)
        row.last_us = max(row.last_us, last_us)
        row.segments += len(new)
        row.watched_us += sum(durations[i] for i in new)
        if new and min(new) < row.first_index:  # a player that fetched an earlier segment late
            row.first_index = min(new)
            row.possible_us = sum(durations[row.first_index :])
        row.watched_us = min(row.watched_us, row.possible_us)
        return len(requests)

    def _forget_old(self, now_us: int) -> None:
        for key in [k for k, seen in self._seen.items() if now_us - seen.last_us > SEEN_MEMORY_US]:
            del self._seen[key]


def _existing_viewings(session: Session, keys) -> dict[tuple[str, int, str], Viewing]:  # noqa: ANN001
    """The rows already there for these (channel, ordinal, viewer) keys: one query per entry watched,
    not one per viewer."""
    viewers_of: dict[tuple[str, int], set[str]] = defaultdict(set)
    for channel, ordinal, viewer in keys:
        viewers_of[(channel, ordinal)].add(viewer)
    found = {}
    for (channel, ordinal), viewers in viewers_of.items():
        for row in session.scalars(select(Viewing).where(
            Viewing.channel == channel, Viewing.ordinal == ordinal, Viewing.viewer.in_(viewers)
        )):  # fmt: skip
            found[(row.channel, row.ordinal, row.viewer)] = row
    return found


class _EntryResolver:
    """Which timeline entry a segment request was part of. One flush holds thousands of requests for a
    few entries, so the entries of each (asset, channel) are read once, for the flush's whole span."""

    # A player lags the live edge by a few segments, so an entry is still watched a while after it ends.
    LAG_US = 5 * 60 * US

    def __init__(self, session: Session, channels: set[str], pending: list[SegmentRequest]) -> None:
        self.session = session
        self.channels = channels
        self.since_us = min(r.at_us for r in pending) - self.LAG_US
        self.until_us = max(r.at_us for r in pending)
        self._assets: dict[str, int | None] = {}
        self._entries: dict[tuple[int, str | None], list[ScheduleEntry]] = {}

    def entry_for(self, request: SegmentRequest) -> ScheduleEntry | None:
        asset_id = self._asset_id(request.asset_path)
        if asset_id is None:
            return None
        channel = request.channel if request.channel in self.channels else None
        key = (asset_id, channel)
        if key not in self._entries:
            query = select(ScheduleEntry).where(
                ScheduleEntry.asset_id == asset_id,
                ScheduleEntry.start_us <= self.until_us,
                ScheduleEntry.start_us + ScheduleEntry.duration_us > self.since_us,
            )
            if channel:
                query = query.where(ScheduleEntry.channel == channel)
            self._entries[key] = list(self.session.scalars(query.order_by(ScheduleEntry.start_us.desc())))
        for entry in self._entries[key]:  # the latest that had started, and had not ended a lag ago
            if entry.start_us <= request.at_us < entry.end_us + self.LAG_US:
                return entry
        return None

    def _asset_id(self, path: str) -> int | None:
        if path not in self._assets:
            self._assets[path] = self.session.scalar(select(Asset.id).where(Asset.path == path))
        return self._assets[path]


@dataclass(frozen=True, kw_only=True)
class AudienceStats:
    """How one programme did with viewers on one channel, over every time it aired."""

    asset_id: int
    starts: int  # distinct viewers per airing, added up
    watched_us: int
    possible_us: int

    @property
    def average_watch_s(self) -> float:
        return self.watched_us / US / self.starts if self.starts else 0.0

    @property
    def retention(self) -> float:
        """The share of the programme its viewers watched, from when each joined."""
        return self.watched_us / self.possible_us if self.possible_us else 0.0


def programme_stats(session: Session, channel: str, *, since_us: int = 0) -> dict[int, AudienceStats]:
    rows = session.execute(
        select(Viewing.asset_id, func.count(), func.sum(Viewing.watched_us), func.sum(Viewing.possible_us))
        .where(Viewing.channel == channel, Viewing.last_us >= since_us)
        .group_by(Viewing.asset_id)
    )
    return {
        asset_id: AudienceStats(asset_id=asset_id, starts=starts, watched_us=int(watched), possible_us=int(possible))
        for asset_id, starts, watched, possible in rows
    }
