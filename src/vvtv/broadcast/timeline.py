"""A channel's timeline and which of its segments are published at a given time.

Pure functions of (entries, now): no I/O, no wall clock. Segment k of the
channel is published once its end time has passed; the live window is the
last W published segments. Because each entry carries the channel-global
number of its first segment (`first_seq`) and its ordinal, the media and
discontinuity sequence numbers come from the timeline, never from when a
process happened to start.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from vvtv.clock import US


def lookback_us(window_size: int, segment_seconds: int) -> int:
    """How far back a live window (plus the segments being published) reaches: the entries to load."""
    return (window_size + 2) * segment_seconds * US


@dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    ordinal: int
    start_us: int
    first_seq: int
    asset_id: int
    asset_path: str  # relative to the media folder
    title: str
    kind: str
    # Durations of the segments that air; a cut entry airs a prefix of its asset.
    segment_durations_us: tuple[int, ...]
    # Offsets from start_us at which each segment ends.
    segment_ends_us: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment_ends_us", tuple(accumulate(self.segment_durations_us)))

    @property
    def duration_us(self) -> int:
        return self.segment_ends_us[-1] if self.segment_ends_us else 0

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us

    @property
    def segment_count(self) -> int:
        return len(self.segment_durations_us)

    def published_count(self, now_us: int) -> int:
        """How many of this entry's segments have ended by now."""
        return bisect_right(self.segment_ends_us, now_us - self.start_us)


@dataclass(frozen=True, kw_only=True)
class PublishedSegment:
    seq: int  # channel-global media sequence number
    entry: TimelineEntry
    index: int  # segment number inside the asset

    @property
    def start_us(self) -> int:
        return self.entry.start_us + (self.entry.segment_ends_us[self.index - 1] if self.index else 0)

    @property
    def duration_us(self) -> int:
        return self.entry.segment_durations_us[self.index]

    @property
    def end_us(self) -> int:
        """The segment boundary at which it is published."""
        return self.entry.start_us + self.entry.segment_ends_us[self.index]

    @property
    def starts_programme(self) -> bool:
        return self.index == 0


class Timeline:
    """The entries of one channel, ordered by ordinal (and so by start time)."""

    def __init__(self, entries: list[TimelineEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.ordinal)
        self._starts = [e.start_us for e in self.entries]

    def on_air(self, now_us: int) -> TimelineEntry | None:
        i = bisect_right(self._starts, now_us) - 1
        if i >= 0 and now_us < self.entries[i].end_us:
            return self.entries[i]
        return None

    def upcoming(self, now_us: int, count: int) -> list[TimelineEntry]:
        i = bisect_left(self._starts, now_us + 1)
        return self.entries[i : i + count]

    def window(self, now_us: int, size: int) -> list[PublishedSegment]:
        """The last `size` published segments, oldest first."""
        segments: list[PublishedSegment] = []
        i = bisect_right(self._starts, now_us) - 1
        while i >= 0 and len(segments) < size:
            entry = self.entries[i]
            published = entry.published_count(now_us)
            for index in range(published - 1, -1, -1):
                segments.append(PublishedSegment(seq=entry.first_seq + index, entry=entry, index=index))
                if len(segments) == size:
                    break
            i -= 1
        segments.reverse()
        return segments

    def next_boundary_us(self, now_us: int) -> int | None:
        """When the next segment ends (and so the playlists change), after now."""
        i = max(bisect_right(self._starts, now_us) - 1, 0)
        for entry in self.entries[i:]:
            offset = now_us - entry.start_us
            k = bisect_right(entry.segment_ends_us, offset)
            if k < entry.segment_count:
                return entry.start_us + entry.segment_ends_us[k]
        return None
