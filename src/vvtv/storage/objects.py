"""Object storage for media (S3 or anything speaking its API: MinIO, Ceph, R2): the only module that uses boto3.

With `storage.media_url = "s3://bucket/prefix"` every finished asset folder is uploaded under
`prefix/<its path in the media folder>/`, and the live playlists point viewers at
`storage.media_public_url` (a CDN in front of the bucket) instead of the origin. An asset is
published atomically: segments first, then each rendition's playlist, the master playlist last,
and the Asset row is recorded only after all of it is there, so nothing refers to a half-uploaded
asset. Credentials come from boto3's usual chain (environment, ~/.aws, an instance role).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vvtv.broadcast.playlists import ORIGIN_MEDIA
from vvtv.config import StorageSettings
from vvtv.errors import ConfigError, StorageError

MASTER_PLAYLIST = "master.m3u8"
SEGMENT_CACHE = "public, max-age=31536000, immutable"  # an asset never changes once published
PLAYLIST_CACHE = "public, max-age=3600"
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".jpg": "image/jpeg",
         ".json": "application/json"}


@dataclass(frozen=True, kw_only=True)
class Bucket:
    name: str
    prefix: str  # without leading or trailing slash; may be empty

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative


def parse_media_url(url: str) -> Bucket:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"storage.media_url: {url!r} is not s3://bucket/prefix")
    return Bucket(name=parts.netloc, prefix=parts.path.strip("/"))


def public_base(settings: StorageSettings) -> str:
    """Where viewers fetch published media: media_public_url, else the bucket itself (path style)."""
    if settings.media_public_url:
        return settings.media_public_url.rstrip("/")
    bucket = parse_media_url(settings.media_url)
    endpoint = settings.media_endpoint_url.rstrip("/") or f"https://s3.{settings.media_region}.amazonaws.com"
    return "/".join(part for part in (endpoint, bucket.name, bucket.prefix) if part)


def live_media_base(settings: StorageSettings) -> str:
    """What the live playlists put before an asset's path: the bucket (or its CDN), else the origin's folder."""
    return public_base(settings) if settings.media_url else ORIGIN_MEDIA


def _upload_order(folder: Path) -> list[Path]:
    """Every file, segments and posters first, then rendition playlists, the master playlist last."""
    files = [p for p in folder.rglob("*") if p.is_file()]

    def rank(path: Path) -> tuple[int, str]:
        if path.name == MASTER_PLAYLIST and path.parent == folder:
            return 2, ""
        return (1 if path.suffix == ".m3u8" else 0), path.as_posix()

    return sorted(files, key=rank)


class ObjectStore:
    def __init__(self, settings: StorageSettings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = parse_media_url(settings.media_url)
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.media_endpoint_url or None,
            region_name=settings.media_region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60),
        )

    def publish_folder(self, folder: Path, relative: str) -> list[str]:
        """Upload the finished folder under the key `relative` (its path in the media folder); returns the keys,
        in upload order. Uploading again is harmless: same keys, same bytes."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        keys = []
        for path in _upload_order(folder):
            key = self.bucket.key(f"{relative}/{path.relative_to(folder).as_posix()}")
            content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            cache = PLAYLIST_CACHE if path.suffix == ".m3u8" else SEGMENT_CACHE
            try:
                self.client.upload_file(str(path), self.bucket.name, key,
                                        ExtraArgs={"ContentType": content_type, "CacheControl": cache})  # fmt: skip
            except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
                raise StorageError(f"object storage s3://{self.bucket.name}/{key}: upload failed: {exc}") from exc
            keys.append(key)
        return keys


    def unpublish(self, relative: str) -> int:
        """Delete everything under the key `relative`, the master playlist first so no player starts it
        meanwhile; returns how many objects were deleted."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self.bucket.key(relative) + "/"
        try:
            keys = [item["Key"] for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket.name, Prefix=prefix) for item in page.get("Contents", [])]  # fmt: skip
            keys.sort(key=lambda key: key != prefix + MASTER_PLAYLIST)
            for start in range(0, len(keys), 1000):  # the most one DeleteObjects takes
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket.name, Delete={"Objects": batch, "Quiet": True})
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"object storage s3://{self.bucket.name}/{prefix}: delete failed: {exc}") from exc
        return len(keys)


def unpublish_asset(settings: StorageSettings, relative: str) -> None:
    """Delete a retired asset's objects when media goes to object storage; nothing to do otherwise."""
    if settings.media_url:
        ObjectStore(settings).unpublish(relative)


def publish_asset(settings: StorageSettings, media_dir: Path, folder: Path) -> None:
    """Upload a finished asset folder when media goes to object storage; nothing to do otherwise."""
    if settings.media_url:
        ObjectStore(settings).publish_folder(folder, folder.relative_to(media_dir).as_posix())


def published_url(settings: StorageSettings, url_path: str) -> str | None:
    """Where an asset file the origin does not hold is published (an origin on another machine than the
    Factory redirects there); None when media is not in object storage or the path is not an asset file."""
    parts = url_path.split("/")
    if not settings.media_url or parts[0] != "assets" or len(parts) < 3:
        return None
    if any(not part or part.startswith(".") or "\\" in part or "\x00" in part for part in parts):
        return None
    return f"{public_base(settings)}/{url_path}"
