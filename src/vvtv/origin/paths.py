"""Which files the origin may serve: URL path -> file, or NotServed.

The origin serves the media folder as static files, so this module is the one
place that stands between a URL and the file system. A path is served only if
every part of it is a plain name (no `..`, `.`, empty part, hidden name, NUL or
backslash), its first part is one of the allowed roots, its type is one we know,
and the file it resolves to (following symlinks) is a regular file still inside
that root. Anything else is "not served": the caller answers 404 and says
nothing about why, so the file system never leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# What the media folder hands out: playlists, segments, captions and posters, nothing a browser runs
# (a page or an SVG there, say with a name taken from a downloaded video, would run on the origin's address).
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
# The player's own files (origin/static) may also be pages, styles and scripts.
CONTENT_TYPES = {
    **MEDIA_TYPES,
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

PLAYLIST_SUFFIX = ".m3u8"


class NotServed(Exception):
    """The URL names nothing the origin serves (the reason stays on the server)."""


@dataclass(frozen=True, kw_only=True)
class ServedTree:
    """A folder served under a URL prefix, limited to some top-level names.

    `roots` are the first path parts allowed (folders such as "channels", or
    single files such as "live.m3u8"); an empty set allows the whole folder.
    `types`: the file name suffixes served.
    """

    folder: Path
    roots: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset(CONTENT_TYPES)

    def resolve(self, url_path: str) -> Path:
        """The file for a decoded URL path relative to this tree; NotServed otherwise."""
        parts = url_path.split("/")
        for part in parts:
            if not part or part.startswith(".") or "\x00" in part or "\\" in part:
                # Empty parts come from `//` or a leading `/` (an absolute path);
                # hidden names cover `..`, `.` and the writers' temp files.
                raise NotServed(url_path)
        if self.roots and parts[0] not in self.roots:
            raise NotServed(url_path)
        if Path(parts[-1]).suffix.lower() not in self.types:
            raise NotServed(url_path)
        folder = self.folder.resolve()
        # A file in a root folder must stay in that folder; a top-level file in the tree.
        boundary = folder / parts[0] if self.roots and len(parts) > 1 else folder
        try:
            # The boundary is resolved too, so a symlinked media folder still works,
            # while a symlink inside it pointing elsewhere does not.
            target = folder.joinpath(*parts).resolve(strict=True)
            inside = target.is_relative_to(boundary.resolve(strict=True))
        except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
            raise NotServed(url_path) from None
        if not inside or not target.is_file():
            raise NotServed(url_path)
        return target


def content_type(path: Path) -> str:
    return CONTENT_TYPES[path.suffix.lower()]


def media_tree(media_dir: Path) -> ServedTree:
    """What viewers may fetch from the media folder: the channels, the assets, and /live.m3u8."""
    roots = frozenset({"channels", "assets", "live.m3u8"})
    return ServedTree(folder=media_dir, roots=roots, types=frozenset(MEDIA_TYPES))
