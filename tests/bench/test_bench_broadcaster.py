"""The Broadcaster benchmark's parts, run at a tiny scale, produce their figures.

Structure only: a benchmark's speed is never asserted in a test.
"""

from __future__ import annotations

from pathlib import Path

from benchfiles import load_bench
from conftest import TINY


def test_air_time_and_channels_on_time_produce_their_figures(tmp_path: Path) -> None:
    bench = load_bench("broadcaster")
    library = bench.make_library(tmp_path / "cache", "tiny", TINY, clips=2, clip_seconds=8)
    manifest = library.root / "library.json"
    made_at = manifest.stat().st_mtime_ns
    assert bench.make_library(tmp_path / "cache", "tiny", TINY, clips=2, clip_seconds=8).root == library.root
    assert manifest.stat().st_mtime_ns == made_at, "the cached library was made again"
    assert [a.kind.value for a in library.assets] == ["slate", "programme", "programme"]
    assert library.airing.stat().st_size > 0
    work = tmp_path / "work"
    work.mkdir()

    vvtv = bench.air_time(library, 5, work)
    assert vvtv.broadcaster.wall_s >= 5 and vvtv.programmer.wall_s >= 5
    assert vvtv.broadcaster.cpu_s >= 0 and vvtv.programmer.cpu_s >= 0
    assert vvtv.segments_published >= 1
    baseline = bench.live_encode(library, 5, work)
    assert baseline.frames > 0 and baseline.cpu.cpu_s > 0
    assert "-re" in baseline.command and "libx264" in baseline.command
    report = bench.air_time_report(vvtv, baseline, TINY)
    assert report[-1].startswith("  ratio: a live encoder per channel spends")

    result = bench.channels_on_time(library, 3, 6, work)
    assert result.channels == 3
    assert result.cpu.wall_s >= 6
    assert result.boundaries >= 1
    assert result.playlists_checked == result.boundaries * 3 * len(TINY.renditions)
    assert len(result.lateness_ms) + result.late <= result.playlists_checked
    assert result.reported_max_ms is not None, "the broadcaster's heartbeat carries its lateness"
    assert bench.on_time_row(result).split()[0] == "3"
