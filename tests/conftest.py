"""Shared fixtures: a tiny broadcast profile so real encodes take a second, and runtimes on temp folders."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import pytest

from pgserver import PostgresCluster, start_cluster
from s3server import CREDENTIALS, S3StandIn, start_s3
from vvtv.clock import FakeClock
from vvtv.config import ChannelSettings, Profile, Rendition, Settings, load_settings
from vvtv.demo.programmes import demo_programme
from vvtv.processing.assets import record_asset
from vvtv.processing.package import package
from vvtv.runtime import Runtime
from vvtv.storage.models import Asset, AssetKind

TINY = Profile(
    x264_preset="ultrafast",
    renditions=[
        Rendition(name="90p", width=160, height=90, video_kbps=150, audio_kbps=32),
        Rendition(name="72p", width=128, height=72, video_kbps=100, audio_kbps=32),
    ],
)


def tiny_settings(data_dir: Path, **values) -> Settings:  # noqa: ANN003
    values.setdefault("profiles", {"tiny": TINY})
    values.setdefault("channels", [ChannelSettings(name="main", profile="tiny")])
    values.setdefault("broadcaster", {"slate_seconds": 8})
    return load_settings(data_dir=data_dir, **values)


@pytest.fixture(scope="session")
def postgres() -> PostgresCluster:
    """One real PostgreSQL for the whole run, started on first use, stopped by PID at the end."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> S3StandIn:
    """moto_server, the S3 stand-in, for the whole run; boto3 finds its test credentials in the environment."""
    server = start_s3(tmp_path_factory.mktemp("s3") / "moto.log")
    saved = {key: os.environ.get(key) for key in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind in turn: the storage, lease and restart tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vvtv.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(tmp_path: Path, fake_clock: FakeClock) -> Runtime:
    rt = Runtime.open(tiny_settings(tmp_path / "var"), fake_clock)
    yield rt
    rt.db.dispose()


_looks = itertools.count()


def make_programme(rt: Runtime, seconds: float, title: str | None = None, profile: str = "tiny") -> Asset:
    """A real packaged programme (distinct picture per call) recorded as READY."""
    index = next(_looks)
    settings = rt.settings
    p = settings.profiles[profile]
    programme = demo_programme(index, seconds, width=p.top.width, height=p.top.height, fps=p.fps)
    destination = settings.media_dir / "assets" / f"test-{uuid.uuid4().hex[:10]}"
    packaged = package(programme.source, p, destination)
    with rt.db.session() as session:
        return record_asset(
            session, packaged, media_dir=settings.media_dir, kind=AssetKind.PROGRAMME, profile=profile,
            title=title or programme.title, now_us=rt.clock.now_us(), source=f"test:{index}",
        )  # fmt: skip
