"""The database: engine, sessions and migrations applied on start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vvtv.errors import ConfigError, StorageError
from vvtv.storage.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    # WAL lets the broadcaster read while the programmer and factory write.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


# The PostgreSQL driver VVTV installs (psycopg 3); a bare postgresql:// URL means it,
# not SQLAlchemy's default of psycopg2, which is not installed.
POSTGRES_DRIVER = "psycopg"


def engine_url(url: str) -> str:
    """The URL as SQLAlchemy takes it: `postgresql://` gets the installed driver."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return f"postgresql+{POSTGRES_DRIVER}://" + url.removeprefix(bare)
    return url


def _private_file(database: str) -> None:
    """The SQLite file readable by its owner only (SQLite gives its -wal and -shm files the same mode).

    The browser runs as another account: a page that took it over must not read the channel's data.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for made in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if made.exists() and made.stat().st_uid == os.geteuid() and made.stat().st_mode & 0o077:
            made.chmod(0o600)


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"storage.url: {url!r} is not a database URL ({exc})") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            _private_file(parsed.database or "")
            engine = create_engine(parsed, connect_args={"timeout": 15})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        missing = getattr(exc, "name", None) or parsed.get_driver_name()
        raise ConfigError(
            f"storage.url: the database driver for {parsed.drivername!r} is not installed ({missing}); "
            f"for PostgreSQL use postgresql://... (psycopg 3, installed with VVTV)"
        ) from exc


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _create_engine(engine_url(url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upsert(self, model: type[Base], values: dict[str, Any]) -> None:
        """Insert the row, or update it where its primary key exists: one statement, so writers of
        the same key at the same moment cannot both insert (a read then an insert could)."""
        dialect_insert = postgresql_insert if self.is_postgresql else sqlite_insert
        keys = [column.name for column in inspect(model).primary_key]
        statement = dialect_insert(model).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in values if name not in keys}
        )
        with self.session() as session:
            session.execute(statement)

    def migrate(self) -> None:
        """Bring the schema up to the newest migration (idempotent, safe on every start)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        try:
            command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StorageError(f"database {self.url}: migration failed: {exc}") from exc

    def dispose(self) -> None:
        self.engine.dispose()
