"""Download with yt-dlp: progress, the finished file only, and addresses checked on every request."""

from __future__ import annotations

from pathlib import Path

import factory_media as media
import pytest
from factory_support import media_server

from vvtv.processing.download import DownloadLimits, _Abort, _GuardedYoutubeDL, download

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
