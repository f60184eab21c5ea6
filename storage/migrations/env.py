"""Alembic environment: migrations run online against the URL the bot was configured with.

Every replica applies pending migrations as it starts, so several may try at once. Only one may apply them:
the others wait for it, then read the revision it reached and find nothing left to do. On PostgreSQL that is
an advisory lock held by the migrating connection (freed if its process dies); on SQLite, one exclusive
transaction around all of them (SQLite runs DDL inside a transaction, so none applies half-way either),
with foreign keys off while tables are rebuilt and checked once at the end."""

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, event, func, pool, select
from sqlalchemy.sql import ColumnElement

from storage.db import make_engine
from storage.models import Base

config = context.config

# Any constant shared by every process of the bot, other than the scheduler's pass lock.
MIGRATION_LOCK = 0x636C6D67


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        _exclusive_transactions(engine)
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            _hold(connection, func.pg_advisory_lock(MIGRATION_LOCK))
        try:
            sqlite = connection.dialect.name == "sqlite"
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                # Alembic takes SQLite's DDL as outside transactions and commits each migration alone; with
                # the transactions begun here it is not, and all pending ones go in one.
                transactional_ddl=True if sqlite else None,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_references(connection)
        finally:
            if postgres:
                _hold(connection, func.pg_advisory_unlock(MIGRATION_LOCK))
    engine.dispose()


def _hold(connection: Connection, call: ColumnElement[Any]) -> None:
    """Take or give back the session-level lock in a transaction of its own, so that the migrations' own
    transaction starts only once the lock is held (and so reads the revision the last holder left)."""
    connection.execute(select(call))
    connection.commit()


def _check_references(connection: Connection) -> None:
    """Refuse (and so roll back) migrations that left a row referring to one that is not there."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migrations would leave {len(broken)} broken reference(s), first {tuple(broken[0])}")


def _exclusive_transactions(engine: Engine) -> None:
    """The sqlite3 driver begins no transaction before DDL and a deferred one before writes; here every
    transaction begins EXCLUSIVE, before the revision is read, so a second process waits for the first."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        # SQLite changes a table's columns by copying it to a new table and dropping the old one: with
        # foreign keys enforced, that drop would delete (or unlink) every row that refers to the table.
        # Alembic's own advice is to turn them off while migrating; `_check_references` checks after.
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    @event.listens_for(engine, "begin")
    def _begin_exclusive(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")


run_migrations()
