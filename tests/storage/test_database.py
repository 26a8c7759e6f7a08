"""The database layer on SQLite and on a real PostgreSQL: migrations, types, drivers."""

from __future__ import annotations

import multiprocessing
import os
import subprocess

import pytest
from alembic.script import ScriptDirectory
from alembic.config import Config
from sqlalchemy import inspect, select, text

from livesystem import VVTV
from vvtv.errors import ConfigError
from vvtv.storage.db import MIGRATIONS, Database, engine_url
from vvtv.storage.models import Base, Event, Plan, PlanStatus

BIG_US = 1_795_000_000_123_456  # a 2026 time in microseconds: more than 32 bits


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    yield database
    database.dispose()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return head


def test_migrations_apply_and_match_the_models(db: Database) -> None:
    db.migrate()
    db.migrate()  # on every start: a second run changes nothing
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        tables = set(inspect(connection).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for table in Base.metadata.tables.values():
        with db.engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_records_round_trip_with_big_times_and_json(db: Database) -> None:
    db.migrate()
    with db.session() as session:
        session.add(Plan(page_url="https://example.org/a", status=PlanStatus.APPROVED, tags=["música", "ß"],
                         playback={"fps": 25.0, "stalls": [1, 2]}, created_at_us=BIG_US,
                         updated_at_us=BIG_US))  # fmt: skip
        session.add(Event(at_us=BIG_US, kind="test", message="x", data={"nested": {"n": 1}}))
    with db.session() as session:
        plan = session.scalars(select(Plan)).one()
        event = session.scalars(select(Event)).one()
    assert (plan.created_at_us, plan.tags, plan.playback, plan.status) == (
        BIG_US, ["música", "ß"], {"fps": 25.0, "stalls": [1, 2]}, PlanStatus.APPROVED)  # fmt: skip
    assert (event.at_us, event.data) == (BIG_US, {"nested": {"n": 1}})


def test_a_bare_postgresql_url_means_the_installed_driver(postgres) -> None:  # noqa: ANN001
    url = postgres.new_database().replace("postgresql+psycopg://", "postgresql://")
    assert engine_url(url).startswith("postgresql+psycopg://")
    database = Database(url)
    database.migrate()
    assert database.is_postgresql
    database.dispose()


def test_a_url_whose_driver_is_missing_fails_with_the_package_named() -> None:
    with pytest.raises(ConfigError, match=r"storage.url: the database driver for 'mysql\+mysqldb' is not installed"):
        Database("mysql+mysqldb://vvtv@127.0.0.1/vvtv").migrate()  # its first use: at start for every command
    with pytest.raises(ConfigError, match="storage.url: 'not a url' is not a database URL"):
        Database("not a url")


def _migrate(url: str) -> None:
    database = Database(url)
    database.migrate()
    database.dispose()


def test_machines_starting_at_once_migrate_one_after_the_other(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_migrate, args=(database_url,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    database = Database(database_url)
    with database.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    database.dispose()


def test_vvtv_up_with_a_url_whose_driver_is_missing_stops_at_start_naming_it(tmp_path) -> None:  # noqa: ANN001
    result = subprocess.run([VVTV, "up"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "VVTV_DATA_DIR": str(tmp_path / "var"),
                                 "VVTV_STORAGE__URL": "mysql+mysqldb://vvtv@127.0.0.1/vvtv"})  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "vvtv: error: storage.url: the database driver for 'mysql+mysqldb' is not installed" in result.stderr
