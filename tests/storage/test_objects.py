"""Media in S3-compatible object storage, over HTTP against moto_server (the stand-in for S3)."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from conftest import make_programme, tiny_settings
from vvtv.clock import FakeClock
from vvtv.errors import ConfigError, StorageError
from vvtv.runtime import Runtime
from s3server import create_public_bucket
from vvtv.storage.objects import ObjectStore, public_base, published_url

_buckets = itertools.count()


def media_settings(tmp_path: Path, endpoint: str, *, create: bool = True) -> dict:
    bucket = f"vvtv-media-{next(_buckets)}"
    if create:
        create_public_bucket(endpoint, bucket)
    return {"media_url": f"s3://{bucket}/tv", "media_endpoint_url": endpoint}


def test_an_asset_is_published_master_playlist_last_and_served_over_http(tmp_path: Path, s3) -> None:  # noqa: ANN001
    rt = Runtime.open(tiny_settings(tmp_path / "var", storage=media_settings(tmp_path, s3.endpoint_url)), FakeClock())
    asset = make_programme(rt, 9)
    folder = rt.settings.media_dir / asset.path
    store = ObjectStore(rt.settings.storage)
    uploaded: list[str] = []
    store.client.meta.events.register("provide-client-params.s3.PutObject",
                                      lambda params, **_: uploaded.append(params["Key"]))  # fmt: skip
    keys = store.publish_folder(folder, asset.path)

    local = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(k.removeprefix(f"tv/{asset.path}/") for k in keys) == local
    assert uploaded == keys, "every file went up in one PUT, in the order given"
    assert keys[-1] == f"tv/{asset.path}/master.m3u8", "the master playlist is uploaded last"
    for rendition in ("90p", "72p"):
        playlist = keys.index(f"tv/{asset.path}/{rendition}/index.m3u8")
        segments = [i for i, k in enumerate(keys) if k.startswith(f"tv/{asset.path}/{rendition}/seg_")]
        assert segments and max(segments) < playlist, "a rendition's playlist only after all its segments"

    base = public_base(rt.settings.storage)
    assert base == f"{s3.endpoint_url}/{rt.settings.storage.media_url.removeprefix('s3://')}"
    master = httpx.get(f"{base}/{asset.path}/master.m3u8")
    assert master.status_code == 200 and master.text == (folder / "master.m3u8").read_text()
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    segment = httpx.get(f"{base}/{asset.path}/90p/seg_00000.ts")
    assert segment.status_code == 200 and segment.content == (folder / "90p" / "seg_00000.ts").read_bytes()
    assert segment.headers["content-type"] == "video/mp2t" and "immutable" in segment.headers["cache-control"]
    segment_path = f"{asset.path}/90p/seg_00000.ts"
    assert published_url(rt.settings.storage, segment_path) == f"{base}/{segment_path}"
    assert published_url(rt.settings.storage, "assets/../secret.ts") is None
    rt.db.dispose()


def test_an_upload_that_fails_names_the_object(tmp_path: Path, s3) -> None:  # noqa: ANN001
    settings = tiny_settings(tmp_path / "var", storage=media_settings(tmp_path, s3.endpoint_url, create=False))
    folder = tmp_path / "assets" / "a"
    folder.mkdir(parents=True)
    (folder / "master.m3u8").write_text("#EXTM3U\n")
    refusal = r"object storage s3://vvtv-media-\d+/tv/assets/a/master.m3u8: upload failed"
    with pytest.raises(StorageError, match=refusal):
        ObjectStore(settings.storage).publish_folder(folder, "assets/a")


def test_a_media_url_that_is_not_s3_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="storage.media_url"):
        tiny_settings(tmp_path, storage={"media_url": "/srv/media"})


def test_a_retired_asset_is_deleted_from_the_bucket_master_playlist_first(tmp_path: Path, s3) -> None:  # noqa: ANN001
    rt = Runtime.open(tiny_settings(tmp_path / "var", storage=media_settings(tmp_path, s3.endpoint_url)), FakeClock())
    kept, retired = make_programme(rt, 5), make_programme(rt, 5)
    store = ObjectStore(rt.settings.storage)
    for asset in (kept, retired):
        store.publish_folder(rt.settings.media_dir / asset.path, asset.path)
    deleted: list[str] = []

    def record(params: dict, **_: object) -> None:
        deleted.extend(item["Key"] for item in params["Delete"]["Objects"])

    store.client.meta.events.register("provide-client-params.s3.DeleteObjects", record)
    count = store.unpublish(retired.path)
    assert count == len(deleted) > 3 and deleted[0] == f"tv/{retired.path}/master.m3u8"
    base = public_base(rt.settings.storage)
    assert httpx.get(f"{base}/{retired.path}/90p/seg_00000.ts").status_code in (403, 404)
    assert httpx.get(f"{base}/{kept.path}/90p/seg_00000.ts").status_code == 200, "only that asset's objects"
    rt.db.dispose()
