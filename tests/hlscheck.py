"""An independent checker of live media playlists across refreshes (RFC 8216).

It parses with the `m3u8` package, not with VVTV's own code, and remembers
every (media sequence number -> segment) it has seen, so it catches a
number that moves backwards or starts pointing at different content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

import m3u8


@dataclass(kw_only=True)
class Observed:
    media_sequence: int
    discontinuity_sequence: int
    uris: list[str]
    # Per segment: its discontinuity sequence number and program date-time, if any.
    dsns: list[int]
    dates: list[datetime | None]
    playlist: m3u8.M3U8  # as parsed


@dataclass
class LiveChecker:
    """Feed it each refresh of one media playlist; it raises AssertionError on the first violation."""

    base: str  # URL or directory the segment URIs are relative to
    check_files: bool = True
    seen_uri: dict[int, str] = field(default_factory=dict)
    seen_dsn: dict[int, int] = field(default_factory=dict)
    last: Observed | None = None
    refreshes: int = 0

    def feed(self, text: str) -> Observed:
        playlist = m3u8.loads(text)
        assert not playlist.is_endlist, "a live channel must not end"
        assert playlist.version and playlist.version >= 3, f"EXT-X-VERSION missing or too low: {playlist.version}"
        assert playlist.is_independent_segments, "EXT-X-INDEPENDENT-SEGMENTS missing"
        assert playlist.segments, "a published playlist lists at least one segment"
        target = playlist.target_duration
        dsn = playlist.discontinuity_sequence or 0
        dsns, dates, uris = [], [], []
        for segment in playlist.segments:
            assert round(segment.duration) <= target, f"EXTINF {segment.duration} above TARGETDURATION {target}"
            if segment.discontinuity:
                dsn += 1
                assert segment.program_date_time is not None, "a programme boundary carries PROGRAM-DATE-TIME"
            dsns.append(dsn)
            dates.append(segment.program_date_time)
            uris.append(segment.uri)
            # One stat: the kernel follows the URI's "..", as a web server mapping it to a file would.
            if self.check_files:
                path = os.path.join(self.base, segment.uri)
                assert os.path.isfile(path), f"listed segment does not exist: {segment.uri}"
        observed = Observed(
            media_sequence=playlist.media_sequence,
            discontinuity_sequence=playlist.discontinuity_sequence or 0,
            uris=uris,
            dsns=dsns,
            dates=dates,
            playlist=playlist,
        )
        self._compare(observed)
        for offset, uri in enumerate(uris):
            seq = observed.media_sequence + offset
            assert self.seen_uri.setdefault(seq, uri) == uri, (
                f"media sequence {seq} changed content: {self.seen_uri[seq]} -> {uri}"
            )
            assert self.seen_dsn.setdefault(seq, dsns[offset]) == dsns[offset], (
                f"segment {seq} changed discontinuity sequence: {self.seen_dsn[seq]} -> {dsns[offset]}"
            )
        self.last = observed
        self.refreshes += 1
        return observed

    def _compare(self, new: Observed) -> None:
        old = self.last
        if old is None:
            return
        assert new.media_sequence >= old.media_sequence, (
            f"media sequence went back: {old.media_sequence} -> {new.media_sequence}"
        )
        assert new.discontinuity_sequence >= old.discontinuity_sequence, "DISCONTINUITY-SEQUENCE went back"
        fell_off = new.media_sequence - old.media_sequence
        if fell_off < len(old.uris):
            # The segments still listed lead the new window unchanged, with the same
            # discontinuity numbers: so DISCONTINUITY-SEQUENCE rose by exactly the
            # boundaries that fell off.
            kept = len(old.uris) - fell_off
            assert new.uris[:kept] == old.uris[fell_off:], "the part of the window still listed changed"
            assert new.dsns[:kept] == old.dsns[fell_off:], (
                f"DISCONTINUITY-SEQUENCE {new.discontinuity_sequence} does not match the boundaries that fell off"
            )


def check_boundaries(playlist: str | m3u8.M3U8) -> int:
    """Every programme boundary (another asset, or the asset starting over) carries a discontinuity."""
    if isinstance(playlist, str):
        playlist = m3u8.loads(playlist)
    boundaries = 0
    previous = None
    for segment in playlist.segments:
        folder, _, name = segment.uri.rpartition("/")
        asset = folder.rpartition("/")[0]
        index = int(name.removeprefix("seg_").removesuffix(".ts"))
        if previous is not None:
            new_programme = asset != previous[0] or index != previous[1] + 1
            assert segment.discontinuity == new_programme, (
                f"{segment.uri}: discontinuity {segment.discontinuity}, programme boundary {new_programme}"
            )
            boundaries += new_programme
        previous = (asset, index)
    return boundaries


def segment_url(base_url: str, uri: str) -> str:
    return urljoin(base_url, uri)
