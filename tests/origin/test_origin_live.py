"""The origin's own live playlists (origin/live.py): computed from the timeline with the
Broadcaster's functions when the Broadcaster's files are missing or behind, byte for byte
what the Broadcaster writes at the same time; the file while it is current; never a file
older than what was already served."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_programme

from vvtv.broadcast import schedule
from vvtv.broadcast.broadcaster import Broadcaster
from vvtv.broadcast.playlists import parse_published
from vvtv.origin.live import ChannelPlaylist, LivePlaylists
from vvtv.runtime import Runtime
from vvtv.storage.db import Database
from vvtv.storage.models import EntryKind

MEDIA = "channels/main/90p.m3u8"


@pytest.fixture
def on_air(runtime: Runtime) -> Broadcaster:
    """Two programmes of 6 s (segments of 4 s and 2 s) then one of 12 s, from now on."""
    assets = [make_programme(runtime, 6), make_programme(runtime, 6), make_programme(runtime, 12)]
    broadcaster = Broadcaster(runtime)
    now = runtime.clock.now_us()
    with runtime.db.session() as session:
        for position, asset in enumerate(assets):
            schedule.append_entry(
                session, "main", asset, kind=EntryKind.PROGRAMME, reason="test", now_us=now,
                start_us=now if position == 0 else None,
            )  # fmt: skip
        schedule.bump_version(session, "main")
    return broadcaster


def _file(runtime: Runtime, url_path: str) -> bytes | None:
    path = runtime.settings.media_dir / url_path
    return path.read_bytes() if path.exists() else None


def _broadcast(runtime: Runtime, broadcaster: Broadcaster) -> None:
    now = runtime.clock.now_us()
    broadcaster.refresh(now)
    broadcaster.tick(now)


def test_a_current_file_is_served_as_it_is(runtime: Runtime, on_air: Broadcaster) -> None:
    runtime.clock.advance(4.5)
    _broadcast(runtime, on_air)
    live = LivePlaylists(runtime)
    on_disk = _file(runtime, MEDIA)
    assert live.answer(live.match(MEDIA), on_disk) is on_disk


@pytest.mark.parametrize("files", ["stale", "missing"])
def test_behind_or_missing_it_is_what_the_broadcaster_writes_at_that_time(
    runtime: Runtime, on_air: Broadcaster, files: str
) -> None:
    runtime.clock.advance(4.5)
    _broadcast(runtime, on_air)  # lists segment 0 of the first programme
    runtime.clock.advance(10)  # the broadcaster is down for 10 s: three boundaries pass
    if files == "missing":
        for path in (runtime.settings.media_dir / "channels" / "main").iterdir():
            path.unlink()
        (runtime.settings.media_dir / "live.m3u8").unlink()
    live = LivePlaylists(runtime)
    answers = {path: live.answer(live.match(path), _file(runtime, path))
               for path in [MEDIA, "channels/main/72p.m3u8", "channels/main/live.m3u8", "live.m3u8"]}  # fmt: skip
    _broadcast(runtime, on_air)
    if files == "missing":  # what a broadcaster starting now writes
        Broadcaster(runtime)
    for path, answer in answers.items():
        assert answer == _file(runtime, path), path
    assert parse_published(answers[MEDIA].decode()).newest_seq == 3  # the second programme's last


def test_never_a_file_older_than_what_was_served(runtime: Runtime, on_air: Broadcaster) -> None:
    runtime.clock.advance(4.5)
    _broadcast(runtime, on_air)
    older = _file(runtime, MEDIA)  # newest segment: 0, which ended at 4 s
    runtime.clock.advance(2)  # 6.5 s: segment 1 (2 s long) has ended too
    live = LivePlaylists(runtime)
    # Its newest segment ended only 2.5 s ago: it looks current, but a short segment has ended since.
    assert live.answer(live.match(MEDIA), older) is older
    newer = live.answer(live.match(MEDIA), None)
    assert parse_published(newer.decode()).newest_seq == 1
    assert live.answer(live.match(MEDIA), older) == newer


def test_without_the_database_the_file_is_served_or_nothing(runtime: Runtime, on_air: Broadcaster,
                                                             tmp_path: Path) -> None:  # fmt: skip
    runtime.clock.advance(4.5)
    _broadcast(runtime, on_air)
    runtime.clock.advance(10)
    stale = _file(runtime, MEDIA)
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    live = LivePlaylists(Runtime(settings=runtime.settings, db=unmigrated, clock=runtime.clock))
    assert live.answer(live.match(MEDIA), stale) is stale
    assert live.answer(live.match(MEDIA), None) is None
    assert live.answer(live.match("live.m3u8"), None) is None
    unmigrated.dispose()


def test_which_urls_are_channel_playlists(runtime: Runtime) -> None:
    live = LivePlaylists(runtime)
    assert live.match("live.m3u8") == ChannelPlaylist(channel="main", rendition=None, prefix="channels/main/")
    assert live.match("channels/main/live.m3u8") == ChannelPlaylist(channel="main", rendition=None)
    assert live.match(MEDIA) == ChannelPlaylist(channel="main", rendition="90p")
    for other in ["channels/nope/90p.m3u8", "channels/main/1080p.m3u8", "assets/x/90p/index.m3u8",
                  "channels/main/x/90p.m3u8", "channels/main/90p.ts"]:  # fmt: skip
        assert live.match(other) is None, other
