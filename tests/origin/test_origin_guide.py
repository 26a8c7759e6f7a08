"""read_guide: the entry on air, the recent ones a lagging player may still show, and the next few."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalogue import lay_out

from vvtv.clock import US, FakeClock, iso
from vvtv.config import ChannelSettings, load_settings
from vvtv.origin.guide import read_guide
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind, AssetStatus, EntryKind

SEGMENT_US = 4 * US
LOOKBACK_US = 30 * US


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    channels = [ChannelSettings(name="main", profile="demo"), ChannelSettings(name="other", profile="demo")]
    runtime = Runtime.open(load_settings(data_dir=tmp_path, channels=channels), FakeClock())
    yield runtime
    runtime.db.dispose()


def add_asset(rt: Runtime, title: str, segments: int, *, kind: AssetKind = AssetKind.PROGRAMME,
              poster: str | None = None) -> Asset:  # fmt: skip
    """An Asset row only: the guide reads the schedule, never the files."""
    now = rt.clock.now_us()
    with rt.db.session() as session:
        asset = Asset(
            kind=kind, status=AssetStatus.READY, profile="demo", title=title, path=f"assets/{title}",
            renditions=[], segment_durations_us=[SEGMENT_US] * segments, duration_us=SEGMENT_US * segments,
            poster=poster, created_at_us=now, ready_at_us=now,
        )  # fmt: skip
        session.add(asset)
    return asset


def guide_at(rt: Runtime, channel: str, now_us: int, next_count: int = 2):  # noqa: ANN201
    with rt.db.session() as session:
        return read_guide(session, channel, now_us, lookback_us=LOOKBACK_US, next_count=next_count)


def test_on_air_recent_and_next(rt: Runtime) -> None:
    t0 = rt.clock.now_us()
    a, b, c, d, slate = (add_asset(rt, name, 3) for name in ("Alpha", "Bravo", "Charlie", "Delta", "Slate"))
    lay_out(rt, "main", t0, [(a, EntryKind.PROGRAMME), (b, EntryKind.PROGRAMME), (slate, EntryKind.EMERGENCY),
                             (c, EntryKind.PROGRAMME), (d, EntryKind.PROGRAMME)])  # fmt: skip
    # Each entry lasts 12 s: Alpha [0, 12), Bravo [12, 24), Slate [24, 36), Charlie [36, 48), Delta [48, 60).
    guide = guide_at(rt, "main", t0 + 30 * US)
    assert guide.on_air.title == "Slate" and guide.on_air.kind == "emergency"
    assert (guide.on_air.start_us, guide.on_air.end_us) == (t0 + 24 * US, t0 + 36 * US)
    assert guide.on_air.start == iso(t0 + 24 * US)
    # Alpha ended 18 s ago and Bravo 6 s ago: both within the 30 s lookback, oldest first.
    assert [item.title for item in guide.recent] == ["Alpha", "Bravo"]
    assert [item.title for item in guide.next] == ["Charlie", "Delta"]
    assert [item.ordinal for item in guide.next] == [3, 4]
    # Later, Alpha falls out of the lookback.
    later = guide_at(rt, "main", t0 + 43 * US)
    assert [item.title for item in later.recent] == ["Bravo", "Slate"]
    assert later.on_air.title == "Charlie"
    assert [item.title for item in later.next] == ["Delta"]


def test_an_entry_is_on_air_from_its_first_microsecond_to_before_its_end(rt: Runtime) -> None:
    t0 = rt.clock.now_us()
    a, b = add_asset(rt, "Alpha", 1), add_asset(rt, "Bravo", 1)
    lay_out(rt, "main", t0, [(a, EntryKind.PROGRAMME), (b, EntryKind.PROGRAMME)])
    assert guide_at(rt, "main", t0).on_air.title == "Alpha"
    assert guide_at(rt, "main", t0 + SEGMENT_US - 1).on_air.title == "Alpha"
    assert guide_at(rt, "main", t0 + SEGMENT_US).on_air.title == "Bravo"


def test_before_the_first_entry_and_after_the_last(rt: Runtime) -> None:
    t0 = rt.clock.now_us()
    a = add_asset(rt, "Alpha", 2)
    lay_out(rt, "main", t0, [(a, EntryKind.PROGRAMME)])
    before = guide_at(rt, "main", t0 - US)
    assert before.on_air is None and before.recent == []
    assert [item.title for item in before.next] == ["Alpha"]
    # The timeline ran out: nothing on air, the last entry is recent.
    after = guide_at(rt, "main", t0 + 10 * US)
    assert after.on_air is None and after.next == []
    assert [item.title for item in after.recent] == ["Alpha"]


def test_channels_are_separate_and_an_empty_one_has_an_empty_guide(rt: Runtime) -> None:
    t0 = rt.clock.now_us()
    lay_out(rt, "main", t0, [(add_asset(rt, "Alpha", 2), EntryKind.PROGRAMME)])
    guide = guide_at(rt, "other", t0 + US)
    assert (guide.channel, guide.on_air, guide.recent, guide.next) == ("other", None, [], [])


def test_poster_url_and_asset_kind(rt: Runtime) -> None:
    t0 = rt.clock.now_us()
    with_poster = add_asset(rt, "Alpha", 2, poster="assets/000001-alpha beta/poster.jpg")
    slate = add_asset(rt, "Slate", 2, kind=AssetKind.SLATE)
    lay_out(rt, "main", t0, [(with_poster, EntryKind.PROGRAMME), (slate, EntryKind.EMERGENCY)])
    guide = guide_at(rt, "main", t0 + US)
    assert guide.on_air.poster_url == "/assets/000001-alpha%20beta/poster.jpg"
    assert guide.on_air.asset_kind == "programme" and guide.on_air.asset_id == with_poster.id
    assert guide.next[0].poster_url is None and guide.next[0].asset_kind == "slate"
