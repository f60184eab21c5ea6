"""The throwaway PostgreSQL cluster the suite runs against: it starts, copies templates, keeps data across a
restart, and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import pwd
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.postgres import PG_BIN_ENV, ThrowawayPostgres, find_pg_bin

MISSING_REASON = "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin; install the postgresql package"


def require_pg_bin() -> Path:
    """The PostgreSQL bin folder; skip without one, except on CI, where a missing PostgreSQL is a failure."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must not skip PostgreSQL: {MISSING_REASON}")
        pytest.skip(MISSING_REASON)
    return bin_dir


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres(require_pg_bin()) as running:
        yield running


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie waiting for a parent that never reaps it is not running either
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" not in status


def scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_find_pg_bin_honours_the_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = require_pg_bin()
    monkeypatch.setenv(PG_BIN_ENV, str(bin_dir))
    assert find_pg_bin() == bin_dir
    monkeypatch.setenv(PG_BIN_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=PG_BIN_ENV):
        find_pg_bin()


def test_the_cluster_starts_on_loopback_with_a_private_socket(cluster: ThrowawayPostgres) -> None:
    assert port_accepts(cluster.port)
    assert cluster.url() == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
    assert (cluster.data_dir / "PG_VERSION").is_file()
    assert (cluster.socket_dir / f".s.PGSQL.{cluster.port}").is_socket()
    assert scalar(cluster.url(), "SHOW fsync") == "off"
    assert scalar(cluster.url(), "SHOW server_encoding") == "UTF8"
    if os.geteuid() == 0:
        # PostgreSQL refuses root, so the cluster belongs to (and the server runs as) the postgres user.
        assert cluster.data_dir.stat().st_uid == pwd.getpwnam("postgres").pw_uid


def test_select_one_and_a_table_round_trip(cluster: ThrowawayPostgres) -> None:
    url = cluster.create_database(unique("roundtrip"))
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            assert connection.execute(text("select 1")).scalar_one() == 1
            connection.execute(text("CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)"))
            connection.execute(text("INSERT INTO note (body) VALUES (:body)"), {"body": "ward 7 — rota ✓"})
        with engine.connect() as connection:
            assert connection.execute(text("SELECT body FROM note")).scalar_one() == "ward 7 — rota ✓"
    finally:
        engine.dispose()


def test_a_database_made_from_a_template_starts_with_its_contents(cluster: ThrowawayPostgres) -> None:
    template, copy = unique("template"), unique("copy")
    template_url = cluster.create_database(template)
    engine = create_engine(template_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE clinic (name text)"))
            connection.execute(text("INSERT INTO clinic VALUES ('discharge')"))
        # The pooled connection to the template stays open: create_database copes with it.
        copy_url = cluster.create_database(copy, template=template)
    finally:
        engine.dispose()
    assert copy_url == cluster.url(copy)
    assert scalar(copy_url, "SELECT name FROM clinic") == "discharge"
    cluster.drop_database(copy)
    cluster.drop_database(copy)  # IF EXISTS: dropping twice is fine
    assert scalar(cluster.url(), f"SELECT count(*) FROM pg_database WHERE datname = '{copy}'") == 0


def test_drop_database_cuts_open_connections(cluster: ThrowawayPostgres) -> None:
    name = unique("busy")
    engine = create_engine(cluster.create_database(name))
    try:
        connection = engine.connect()
        connection.execute(text("select 1"))
        connection.commit()
        cluster.drop_database(name)
        assert scalar(cluster.url(), f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == 0
        with pytest.raises(OperationalError):
            connection.execute(text("select 1"))
        connection.close()
    finally:
        engine.dispose()


def test_restart_keeps_data_and_the_port(cluster: ThrowawayPostgres) -> None:
    url = cluster.create_database(unique("restart"))
    port = cluster.port
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE kept (value int)"))
            connection.execute(text("INSERT INTO kept VALUES (42)"))
        started = time.monotonic()
        cluster.restart()
        assert time.monotonic() - started < 15
        assert cluster.port == port
        with engine.connect() as connection:  # pre-ping replaces the pooled connection the restart cut
            assert connection.execute(text("SELECT value FROM kept")).scalar_one() == 42
        cluster.restart(mode="immediate")  # like a crash: the server recovers from its WAL
        with engine.connect() as connection:
            assert connection.execute(text("SELECT value FROM kept")).scalar_one() == 42
    finally:
        engine.dispose()


def test_stop_removes_everything_and_closes_the_port() -> None:
    cluster = ThrowawayPostgres(require_pg_bin())
    with cluster:
        assert scalar(cluster.url(), "select 1") == 1
        postmaster = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
        port, base_dir = cluster.port, cluster.base_dir
    assert not cluster.data_dir.exists()
    assert not base_dir.exists()
    assert not port_accepts(port)
    deadline = time.monotonic() + 5
    while process_alive(postmaster):
        assert time.monotonic() < deadline, f"postmaster {postmaster} still running after stop()"
        time.sleep(0.05)
    cluster.stop()  # idempotent
