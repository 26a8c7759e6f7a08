"""Roles on different machines: two real `vvtv up`, each with a data folder of its own and disjoint roles,
share one PostgreSQL and one S3 bucket (moto_server, the stand-in for S3). The Factory machine makes the
programmes and publishes them to the bucket; the other airs them, its playlists pointing at the bucket."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from livesystem import VVTV, LiveSystem
from s3server import CREDENTIALS, create_public_bucket
from vvtv.storage.db import Database
from vvtv.storage.models import Asset, AssetKind

PLAYLIST = "/channels/main/90p.m3u8"


def test_a_factory_machine_and_an_air_machine_make_one_channel(tmp_path: Path, postgres, s3) -> None:  # noqa: ANN001
    url = postgres.new_database()
    create_public_bucket(s3.endpoint_url, "vvtv-channel")
    shared = {"VVTV_STORAGE__URL": url, "VVTV_STORAGE__MEDIA_URL": "s3://vvtv-channel/media",
              "VVTV_STORAGE__MEDIA_ENDPOINT_URL": s3.endpoint_url, **CREDENTIALS}  # fmt: skip
    factory = LiveSystem(data_dir=tmp_path / "factory" / "var", env_overrides=shared,
                         up_args=["--roles", "factory,demo"])
    air = LiveSystem(data_dir=tmp_path / "air" / "var", env_overrides=shared,
                     up_args=["--roles", "programmer,broadcaster,origin"])  # fmt: skip
    bucket_url = f"{s3.endpoint_url}/vvtv-channel/media/"
    factory.start()
    air.start()
    try:
        # On air: the air machine's playlist lists a programme segment that only the factory machine made.
        deadline = time.monotonic() + 240
        programme_uri = None
        while programme_uri is None:
            assert time.monotonic() < deadline, f"no programme aired; log tail:\n{air.log_path.read_text()[-3000:]}"
            assert factory.process.poll() is None and air.process.poll() is None
            response = air.get(PLAYLIST)
            if response is not None and response.status_code == 200:
                uris = [line for line in response.text.splitlines() if line and not line.startswith("#")]
                assert all(u.startswith(bucket_url) for u in uris), f"segments not from the bucket: {uris}"
                programme_uri = next((u for u in uris if "/assets/slate-" not in u), None)
            time.sleep(0.5)
        segment = httpx.get(programme_uri, timeout=10)
        assert segment.status_code == 200 and segment.content[:1] == b"\x47", "an MPEG-TS segment from the bucket"

        asset_path = urlsplit(programme_uri).path.removeprefix("/vvtv-channel/media/").rsplit("/", 2)[0]
        assert (factory.data_dir / "media" / asset_path).is_dir()
        assert not (air.data_dir / "media" / asset_path).exists(), "the air machine never had the files"
        # The origin of the air machine sends requests for an asset's files to the bucket.
        master = httpx.get(f"{air.url}/{asset_path}/master.m3u8", follow_redirects=True, timeout=10)
        assert master.status_code == 200 and master.history[0].status_code == 302
        assert master.text == (factory.data_dir / "media" / asset_path / "master.m3u8").read_text()
    finally:
        factory.stop()
        air.stop()
    db = Database(url)
    with db.session() as session:
        kinds = {a.kind for a in session.scalars(select(Asset))}
    assert kinds == {AssetKind.SLATE, AssetKind.PROGRAMME}
    db.dispose()


def test_an_unknown_role_stops_vvtv_up_with_the_roles_named(tmp_path: Path) -> None:
    result = subprocess.run([VVTV, "up", "--roles", "factory,broadcastr"], capture_output=True, text=True,
                            env={**os.environ, "VVTV_DATA_DIR": str(tmp_path / "var")}, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "supervisor.roles: unknown role(s) ['broadcastr']; roles are [" in result.stderr
