"""Every tag VVTV writes is read back by an independent parser (the `m3u8` package)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import m3u8
import pytest

from vvtv.broadcast.playlists import VariantStream, master_playlist, media_playlist, write_atomically
from vvtv.broadcast.timeline import Timeline, TimelineEntry
from vvtv.clock import US

T0 = 1_767_225_600 * US


def entry(ordinal: int, start: int, first_seq: int, durations: list[float], path: str) -> TimelineEntry:
    return TimelineEntry(
        ordinal=ordinal, start_us=start, first_seq=first_seq, asset_id=ordinal, asset_path=path, title=path,
        kind="programme", segment_durations_us=tuple(round(d * US) for d in durations),
    )  # fmt: skip


@pytest.fixture
def timeline() -> Timeline:
    a = entry(0, T0, 0, [4, 4, 1.5], "assets/a")
    b = entry(1, a.end_us, 3, [4, 2], "assets/b")
    c = entry(2, b.end_us, 5, [4, 4, 4], "assets/c")
    return Timeline([a, b, c])


def test_media_playlist_round_trip(timeline: Timeline) -> None:
    now = T0 + round(16 * US)  # a: 0-9.5, b: 9.5-15.5, c: 15.5-27.5 -> c's first segment not yet ended
    window = timeline.window(now, 4)
    parsed = m3u8.loads(media_playlist(window, rendition="90p", target_duration_s=4))
    assert parsed.version == 6
    assert parsed.target_duration == 4
    assert parsed.media_sequence == 1
    assert parsed.discontinuity_sequence == 0
    assert parsed.is_independent_segments
    assert not parsed.is_endlist
    assert [s.uri for s in parsed.segments] == [
        "../../assets/a/90p/seg_00001.ts",
        "../../assets/a/90p/seg_00002.ts",
        "../../assets/b/90p/seg_00000.ts",
        "../../assets/b/90p/seg_00001.ts",
    ]
    assert [s.duration for s in parsed.segments] == [4, 1.5, 4, 2]
    assert [s.discontinuity for s in parsed.segments] == [False, False, True, False]
    dates = [s.program_date_time for s in parsed.segments]
    assert dates[0] == datetime.fromtimestamp((T0 + 4 * US) / US, tz=timezone.utc)
    assert dates[2] == datetime.fromtimestamp((T0 + 9.5 * US) / US, tz=timezone.utc)


def test_discontinuity_sequence_counts_boundaries_before_the_window(timeline: Timeline) -> None:
    now = T0 + round(27.5 * US)
    parsed = m3u8.loads(media_playlist(timeline.window(now, 3), rendition="x", target_duration_s=4))
    assert parsed.media_sequence == 5
    assert parsed.discontinuity_sequence == 2
    assert not any(s.discontinuity for s in parsed.segments)


def test_nothing_published_before_the_first_segment_ends(timeline: Timeline) -> None:
    assert timeline.window(T0 + 3 * US, 6) == []
    assert timeline.next_boundary_us(T0) == T0 + 4 * US
    assert timeline.on_air(T0 + 10 * US).ordinal == 1
    assert timeline.on_air(T0 + 100 * US) is None


def test_master_playlist_round_trip() -> None:
    variants = [
        VariantStream(name="720p", width=1280, height=720, bandwidth=2_900_000, codecs="avc1.64001f,mp4a.40.2", fps=25),
        VariantStream(name="1080p", width=1920, height=1080, bandwidth=5_100_000, codecs="avc1.640028,mp4a.40.2", fps=25),
    ]
    parsed = m3u8.loads(master_playlist(variants, prefix="channels/main/"))
    assert parsed.is_variant and parsed.is_independent_segments and parsed.version == 6
    infos = [(p.uri, p.stream_info.bandwidth, p.stream_info.resolution, p.stream_info.codecs, p.stream_info.frame_rate)
             for p in parsed.playlists]  # fmt: skip
    assert infos == [
        ("channels/main/1080p.m3u8", 5_100_000, (1920, 1080), "avc1.640028,mp4a.40.2", 25.0),
        ("channels/main/720p.m3u8", 2_900_000, (1280, 720), "avc1.64001f,mp4a.40.2", 25.0),
    ]


def test_write_atomically_leaves_no_temp_files(tmp_path) -> None:
    target = tmp_path / "deep" / "x.m3u8"
    write_atomically(target, "one")
    write_atomically(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["x.m3u8"]


def test_write_atomically_makes_world_readable_files_whatever_the_umask(tmp_path) -> None:
    target = tmp_path / "x.m3u8"
    previous = os.umask(0o077)
    try:
        write_atomically(target, "one")
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o644
