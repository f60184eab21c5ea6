"""Engines, sessions and schema migrations. Nothing is created at import time."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
WAL_TRIES = 100  # 10 s in all

SessionFactory = sessionmaker[Session]


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for the bot's database. Its errors never carry the statement's values: a failed write of
    an action holds its title and notes, and Bolt and the scheduler log the errors they catch."""
    parsed = make_url(url)
    kwargs = {**kwargs, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database that does not answer must not hold a Slack request past its 3-second window.
    options: dict[str, object] = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}
    if "poolclass" not in kwargs:
        options.update(pool_size=10, max_overflow=10)
    return create_engine(url, **options, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _write_ahead_log(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _write_ahead_log(cursor) -> None:  # type: ignore[no-untyped-def]
    """Turn the file to WAL. Replicas starting together on a new file each read it, then ask for it whole to
    change its mode: each holds what the other waits for, so SQLite answers one "locked" at once instead of
    waiting. The other finishes in a moment, and asked again the mode is already WAL."""
    for attempt in range(WAL_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.1)


def shown(url: str) -> str:
    """The URL as it may be printed or logged: the password masked, in its user part or given as a
    `password=` query parameter (which drivers accept too)."""
    parsed = make_url(url)
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "MASKED"})
    return parsed.render_as_string(hide_password=True).replace("password=MASKED", "password=***")


def secrets_in(url: str) -> list[str]:
    """The passwords a URL holds, for masking where a driver's message may quote them."""
    parsed = make_url(url)
    given = parsed.query.get("password")
    return [str(p) for p in (parsed.password, *(given if isinstance(given, tuple) else [given])) if p]


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply pending migrations (what `clinic-bot db upgrade` and `run` do)."""
    command.upgrade(alembic_config(url), revision)


def schema_is_current(url: str) -> bool:
    """Whether the database is at the newest migration, found without changing anything: a dry run must
    leave the database as it was, so it may neither migrate it nor create a SQLite file that is not there."""
    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(parsed.database).exists():  # type: ignore[arg-type]
        return False
    engine = create_engine(url)  # no pragmas: even the journal mode stays as it was
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()
    return current == set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
