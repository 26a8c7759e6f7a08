"""Alembic environment: the engine comes from Database.migrate(), not from an ini file."""

from alembic import context
from sqlalchemy import text

from vvtv.storage.models import Base

# Any constant: the key of the PostgreSQL advisory lock that migrations take.
MIGRATION_LOCK = 0x76767476

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    # Processes or machines starting at once take turns: the first migrates, the others then find the
    # schema current.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        # The sqlite3 module opens no transaction before DDL by itself: take the write lock now.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
