"""ServedTree: a URL path reaches a file only inside the allowed roots of the media folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from vvtv.origin.paths import NotServed, content_type, media_tree


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A media folder with one asset and one channel, and a secret next to it."""
    media = tmp_path / "data" / "media"
    (media / "assets" / "000001-a" / "360p").mkdir(parents=True)
    (media / "assets" / "000001-a" / "360p" / "seg_00000.ts").write_bytes(b"G" * 188)
    (media / "assets" / "000001-a" / "poster.jpg").write_bytes(b"\xff\xd8")
    (media / "channels" / "main").mkdir(parents=True)
    (media / "channels" / "main" / "360p.m3u8").write_text("#EXTM3U\n")
    (media / "live.m3u8").write_text("#EXTM3U\n")
    (tmp_path / "data" / "vvtv.db").write_text("secret database")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.ts").write_text("secret")
    (tmp_path / "outside" / "secret.m3u8").write_text("secret")
    return media


def test_the_three_roots_are_served(media: Path) -> None:
    tree = media_tree(media)
    assert tree.resolve("live.m3u8") == media / "live.m3u8"
    assert tree.resolve("channels/main/360p.m3u8") == media / "channels" / "main" / "360p.m3u8"
    assert tree.resolve("assets/000001-a/360p/seg_00000.ts") == media / "assets" / "000001-a" / "360p" / "seg_00000.ts"
    assert tree.resolve("assets/000001-a/poster.jpg").name == "poster.jpg"


@pytest.mark.parametrize(
    "url_path",
    [
        "assets/../../vvtv.db",  # parent traversal
        "assets/000001-a/../../live.m3u8",  # traversal that would land inside, still refused
        "channels/./main/360p.m3u8",  # dot segment
        "/etc/passwd.m3u8",  # absolute path (leading slash)
        "channels//main/360p.m3u8",  # empty segment (`//`)
        "assets/000001-a/360p/seg_00000.ts\x00.m3u8",  # NUL byte
        "assets\\..\\..\\vvtv.db",  # backslash separators
        "vvtv.db",  # outside the allowed roots
        "media/live.m3u8",
        "assets/000001-a/360p",  # a folder, not a file
        "assets/000001-a/360p/missing.ts",  # missing file
        "assets/000001-a/360p/notes.txt",  # a type the origin does not serve
        "channels/main/.360p.m3u8.tmp1234",  # a writer's temp file (hidden)
        "live.m3u8/seg.ts",  # below a file
        "",
    ],
)
def test_refused_paths(media: Path, url_path: str) -> None:
    (media / "assets" / "000001-a" / "360p" / "notes.txt").write_text("x")
    (media / "channels" / "main" / ".360p.m3u8.tmp1234").write_text("#EXTM3U\n")
    with pytest.raises(NotServed):
        media_tree(media).resolve(url_path)


def test_symlinks_pointing_outside_are_refused(media: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (media / "assets" / "leak.ts").symlink_to(outside / "secret.ts")
    (media / "assets" / "leakdir").symlink_to(outside, target_is_directory=True)
    (media / "channels" / "main" / "leak.m3u8").symlink_to(outside / "secret.m3u8")
    # A symlink from one root into another root is outside its own root too.
    (media / "channels" / "main" / "cross.ts").symlink_to(media / "assets" / "000001-a" / "360p" / "seg_00000.ts")
    (media / "assets" / "loop.ts").symlink_to(media / "assets" / "loop.ts")
    tree = media_tree(media)
    for url_path in ["assets/leak.ts", "assets/leakdir/secret.ts", "channels/main/leak.m3u8", "channels/main/cross.ts",
                     "assets/loop.ts"]:  # fmt: skip
        with pytest.raises(NotServed):
            tree.resolve(url_path)


def test_a_top_level_live_playlist_symlinked_outside_is_refused(media: Path, tmp_path: Path) -> None:
    (media / "live.m3u8").unlink()
    (media / "live.m3u8").symlink_to(tmp_path / "outside" / "secret.m3u8")
    with pytest.raises(NotServed):
        media_tree(media).resolve("live.m3u8")


def test_symlinks_inside_their_root_are_followed(media: Path) -> None:
    (media / "assets" / "alias").symlink_to(media / "assets" / "000001-a", target_is_directory=True)
    assert media_tree(media).resolve("assets/alias/360p/seg_00000.ts").read_bytes() == b"G" * 188


def test_a_symlinked_media_folder_still_serves(media: Path, tmp_path: Path) -> None:
    link = tmp_path / "media-link"
    link.symlink_to(media, target_is_directory=True)
    assert media_tree(link).resolve("live.m3u8").read_text() == "#EXTM3U\n"


def test_content_types() -> None:
    assert content_type(Path("a/live.m3u8")) == "application/vnd.apple.mpegurl"
    assert content_type(Path("seg_00000.ts")) == "video/mp2t"
    assert content_type(Path("seg_00000.m4s")) == "video/iso.segment"
    assert content_type(Path("poster.JPG")) == "image/jpeg"
    assert content_type(Path("player.js")) == "text/javascript; charset=utf-8"
    assert content_type(Path("index.html")) == "text/html; charset=utf-8"
