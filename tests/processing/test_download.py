"""Download with yt-dlp: progress, the finished file only, and addresses checked on every request."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import factory_media as media
import pytest
from discovery.sitekit import Reply, SiteServer
from factory_support import media_server

from vvtv.errors import InputError, RejectedError
from vvtv.processing.download import DownloadLimits, _Abort, _GuardedYoutubeDL, check_fetchable, download

LIMITS = DownloadLimits(max_bytes=100_000_000, max_media_seconds=3600, stall_seconds=5, max_seconds=60,
                        allowed_hosts=["127.0.0.1"])  # fmt: skip


def test_download_reports_progress_and_leaves_only_the_finished_file(media_server, tmp_path: Path):  # noqa: ANN001
    base, root = media_server
    clip = media.pal_25(root / "clip.mp4")
    seen: list[tuple[int, int | None]] = []
    folder = tmp_path / "job"
    folder.mkdir()

    got = download(base + "/clip.mp4", folder, LIMITS, on_progress=lambda done, total: seen.append((done, total)))

    assert got.path.read_bytes() == clip.read_bytes() and got.size_bytes == clip.stat().st_size
    assert [p.name for p in folder.iterdir()] == [got.path.name], "no partial file or folder left"
    assert seen and seen[-1] == (clip.stat().st_size, clip.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_response_redirected_to_a_refused_address_is_dropped(media_server):  # noqa: ANN001
    base, root = media_server
    (root / "inside.html").write_text("<html>only for the machine itself</html>")
    # The site is allowed by the name "localhost"; it redirects to 127.0.0.1, which is not allowed.
    with _GuardedYoutubeDL({"quiet": True}, ["localhost"]) as ydl:
        with pytest.raises(_Abort, match="host 127.0.0.1 is a loopback address"):
            ydl.urlopen(base.replace("127.0.0.1", "localhost") + "/redirect/127.0.0.1/inside.html")
        assert ydl.urlopen(base.replace("127.0.0.1", "localhost") + "/redirect/localhost/inside.html").read()


@pytest.fixture
def started_programs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The program of every process this process starts (recorded, then started for real)."""
    seen: list[str] = []
    real_init = subprocess.Popen.__init__

    def init(self: subprocess.Popen, args: object, *rest: object, **kwargs: object) -> None:
        seen.append(Path(str(args if isinstance(args, str) else args[0])).name)
        real_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    return seen


def test_a_live_hls_playlist_is_refused_before_any_segment_and_without_ffmpeg(  # noqa: ANN001
    media_server, tmp_path: Path, started_programs
):
    base, root = media_server
    live = root / "live"
    live.mkdir()
    media.encode(live / "index.m3u8", media.picture("480x270"), media.tone(),
                 args=[*media.X264, *media.AAC, "-f", "hls", "-hls_time", "2"])  # fmt: skip
    playlist = (live / "index.m3u8").read_text()
    (live / "index.m3u8").write_text(playlist.replace("#EXT-X-ENDLIST", ""))  # still being written: live
    folder = tmp_path / "job"
    folder.mkdir()
    started_programs.clear()

    with pytest.raises(RejectedError, match="a live stream"):
        download(base + "/live/index.m3u8", folder, LIMITS)

    assert "ffmpeg" not in started_programs, started_programs
    assert not list(folder.iterdir())


def test_a_vod_hls_playlist_is_fetched_by_yt_dlp_itself(media_server, tmp_path: Path, started_programs):  # noqa: ANN001
    base, root = media_server
    vod = root / "vod"
    vod.mkdir()
    hls = ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    media.encode(vod / "index.m3u8", media.picture("480x270"), media.tone(), args=[*media.X264, *media.AAC, *hls])
    folder = tmp_path / "job"
    folder.mkdir()
    started_programs.clear()

    got = download(base + "/vod/index.m3u8", folder, LIMITS)

    assert got.size_bytes == sum(p.stat().st_size for p in vod.glob("*.ts"))
    assert "ffmpeg" not in started_programs, started_programs


def test_a_format_only_an_outside_downloader_could_fetch_is_refused() -> None:
    info = {"protocol": "rtmp", "live_status": "not_live"}
    with pytest.raises(RejectedError, match="protocol rtmp"):
        check_fetchable(info)
    with pytest.raises(RejectedError, match="protocol http_dash_segments"):
        check_fetchable({"protocol": "https+http_dash_segments", "live_status": None})
    for status in ("is_live", "is_upcoming", "post_live"):
        with pytest.raises(RejectedError, match="live"):
            check_fetchable({"protocol": "m3u8_native", "live_status": status})
    check_fetchable({"protocol": "m3u8_native", "live_status": "not_live"})


def test_a_redirect_to_a_port_that_is_not_allowed_is_refused_before_it_is_fetched(tmp_path: Path) -> None:
    inside = SiteServer(routes=lambda path: Reply(content_type="video/mp4", body=bytes(50_000)))
    with inside:
        jump = Reply(status=302, headers={"Location": f"{inside.url}/clip.mp4"})
        with SiteServer(routes=lambda path: jump) as outside:
            limits = replace(LIMITS, allowed_hosts=[outside.url.removeprefix("http://")])  # that port only
            with pytest.raises(InputError) as refused:
                download(f"{outside.url}/clip.mp4", tmp_path, limits)
    port = inside.url.rsplit(":", 1)[1]
    assert str(refused.value) == (f"download of {outside.url}/clip.mp4 refused: 127.0.0.1:{port}: host 127.0.0.1 "
                                  "is a loopback address (127.0.0.1); add it to factory.allowed_hosts to allow it")
    assert inside.requests == [] and outside.requests
    assert list(tmp_path.iterdir()) == []
