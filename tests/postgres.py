"""A throwaway PostgreSQL cluster for the test suite.

The server binaries come from where Debian's postgresql packages put them, /usr/lib/postgresql/<major>/bin
(they are not all on PATH), or from the folder named by CLINIC_BOT_PG_BIN. Each cluster lives in a fresh
temporary folder: the data directory, the server log and the unix socket. It listens on 127.0.0.1 on a free
port, trusts every local and loopback connection, and skips fsync, so it starts in about a second.

PostgreSQL refuses to run as root. When the tests run as root (CI containers do), initdb, pg_ctl and the
server run as the unprivileged ``postgres`` system user: the child processes are started with
``subprocess``'s ``user=``/``group=``/``extra_groups=`` (setuid in the child, no shell, no su), and the
temporary folder is handed over to that user.

    with ThrowawayPostgres(find_pg_bin()) as cluster:
        url = cluster.create_database("scratch")
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

PG_BIN_ENV = "CLINIC_BOT_PG_BIN"
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_MAJOR = "15"
SUPERUSER = "postgres"
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")

# How long a start may take before we give up and show the server log.
START_TIMEOUT = 60.0
# Linux limits a unix socket path to 107 bytes; the server appends "/.s.PGSQL.<port>".
_MAX_SOCKET_DIR = 107 - len("/.s.PGSQL.65535")
# Variables that would point libpq-based tools (pg_ctl, pg_isready) somewhere else.
_PG_ENV_VARS = (
    "PGDATA",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGTARGETSESSIONATTRS",
)
# SQLSTATE 55006: object_in_use ("database ... is being accessed by other users").
_OBJECT_IN_USE = "55006"


def find_pg_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed.

    CLINIC_BOT_PG_BIN wins when set (and must then be right: a wrong value is an error, not a skip).
    Otherwise /usr/lib/postgresql/15/bin if present, else the highest major version found there.
    """
    configured = os.environ.get(PG_BIN_ENV)
    if configured:
        folder = Path(configured).expanduser()
        missing = [name for name in REQUIRED_BINARIES if not _is_executable(folder / name)]
        if missing:
            raise FileNotFoundError(
                f"{PG_BIN_ENV}={configured} does not hold the PostgreSQL server binaries "
                f"(missing: {', '.join(missing)})"
            )
        return folder
    if not DEBIAN_PG_ROOT.is_dir():
        return None
    candidates = [
        entry / "bin"
        for entry in DEBIAN_PG_ROOT.iterdir()
        if all(_is_executable(entry / "bin" / name) for name in REQUIRED_BINARIES)
    ]
    if not candidates:
        return None
    for folder in candidates:
        if folder.parent.name == PREFERRED_MAJOR:
            return folder
    return max(candidates, key=lambda folder: _version_key(folder.parent.name))


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(name: str) -> tuple[int, ...]:
    """'16' -> (16,), '9.6' -> (9, 6); folders that are not versions sort first."""
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


class PostgresError(RuntimeError):
    """The throwaway cluster could not be set up, started or stopped."""


class ThrowawayPostgres:
    """One private PostgreSQL cluster, removed again by stop() (or at interpreter exit)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = Path(bin_dir)
        missing = [name for name in REQUIRED_BINARIES if not _is_executable(self.bin_dir / name)]
        if missing:
            raise PostgresError(f"{self.bin_dir} lacks the PostgreSQL binaries: {', '.join(missing)}")
        self.port: int = _free_port()
        self._owner: pwd.struct_passwd | None = self._unprivileged_user() if os.geteuid() == 0 else None
        self._running = False
        self._ever_started = False
        self._removed = False
        self._creator_pid = os.getpid()
        # One temporary folder holds the data directory, the server log and the unix socket.
        self.base_dir: Path = self._make_base_dir()
        self.data_dir: Path = self.base_dir / "data"
        self.socket_dir: Path = self.base_dir
        self.log_file: Path = self.base_dir / "server.log"
        atexit.register(self._stop_at_exit)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ThrowawayPostgres:
        """Create the cluster (first time only) and start the server; returns self. No-op if running."""
        if self._removed:
            raise PostgresError("this cluster was stopped and removed; make a new ThrowawayPostgres")
        if self._running:
            return self
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        # The port was free when picked but something else may have taken it since; before the first
        # successful start we may still move to another port, afterwards the port is part of the URLs.
        attempts = 1 if self._ever_started else 3
        for attempt in range(attempts):
            try:
                self._start_server()
                return self
            except _PortInUseError:
                if attempt == attempts - 1:
                    raise
                self.port = _free_port()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and delete the temporary folder. Safe to call twice."""
        try:
            if self._running:
                self._stop_server("immediate")
        finally:
            self._running = False
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self._removed = True
            atexit.unregister(self._stop_at_exit)

    def restart(self, mode: str = "fast") -> None:
        """Stop the server and start it again on the same port and data directory.

        mode is pg_ctl's shutdown mode: "fast" (clean) or "immediate" (like a crash; the server runs
        crash recovery on the way up). Open connections are cut either way.
        """
        if self._removed:
            raise PostgresError("this cluster was stopped and removed; make a new ThrowawayPostgres")
        if self._running:
            self._stop_server(mode)
        self._start_server()

    def down(self) -> None:
        """Stop the server, cutting every connection; `up()` starts it again. (A fast shutdown: this cluster
        runs without fsync, so an immediate one could lose what was committed just before.)"""
        if self._running:
            self._stop_server("fast")

    def up(self) -> None:
        if not self._running:
            self._start_server()

    def __enter__(self) -> ThrowawayPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()  # __exit__ will not run; the error already carries the server log
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _stop_at_exit(self) -> None:
        # A process forked from the test session inherits the atexit hooks; only the creator cleans up.
        if os.getpid() == self._creator_pid:
            self.stop()

    # --- databases ------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE "name" [TEMPLATE "template"]; returns url(name)."""
        statement = f"CREATE DATABASE {_quote_ident(name)}"
        if template is not None:
            statement += f" TEMPLATE {_quote_ident(template)}"
        engine = self._admin_engine()
        try:
            for attempt in range(3):
                # A template cannot be copied while anyone is connected to it, and the server waits 5 s
                # before saying so. A connection idling in some pool is the usual culprit: cut those first.
                if template is not None:
                    self._terminate_backends(engine, template)
                try:
                    with engine.connect() as connection:
                        connection.execute(text(statement))
                    break
                except DBAPIError as error:
                    if template is None or _sqlstate(error) != _OBJECT_IN_USE or attempt == 2:
                        raise
        finally:
            engine.dispose()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Cut every other connection to the database, then DROP DATABASE IF EXISTS."""
        engine = self._admin_engine()
        try:
            for attempt in range(3):
                self._terminate_backends(engine, name)
                try:
                    with engine.connect() as connection:
                        connection.execute(text(f"DROP DATABASE IF EXISTS {_quote_ident(name)}"))
                    return
                except DBAPIError as error:
                    # Someone reconnected between the two statements.
                    if _sqlstate(error) != _OBJECT_IN_USE or attempt == 2:
                        raise
                    time.sleep(0.05)
        finally:
            engine.dispose()

    def _admin_engine(self) -> Engine:
        return create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)

    @staticmethod
    def _terminate_backends(engine: Engine, dbname: str) -> None:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": dbname},
            )

    # --- running the binaries -------------------------------------------------------------------

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresError(
                "running as root, but there is no 'postgres' system user to run PostgreSQL as "
                "(PostgreSQL refuses to run as root); install the postgresql package or run as a normal user"
            ) from None

    def _make_base_dir(self) -> Path:
        parent = Path(tempfile.gettempdir())
        if not self._usable_parent(parent):
            parent = Path("/tmp")
            if not self._usable_parent(parent):
                raise PostgresError(
                    f"no temporary folder the {SUPERUSER} user can reach with a short enough path "
                    "for a unix socket; set TMPDIR to one"
                )
        base = Path(tempfile.mkdtemp(prefix="clinic-pg-", dir=parent))
        if self._owner is not None:
            os.chown(base, self._owner.pw_uid, self._owner.pw_gid)
        os.chmod(base, 0o700)
        return base

    def _usable_parent(self, parent: Path) -> bool:
        # mkdtemp adds "/clinic-pg-" and 8 random characters.
        if len(str(parent)) + len("/clinic-pg-") + 8 > _MAX_SOCKET_DIR or not parent.is_dir():
            return False
        if self._owner is None:
            return True
        # The postgres user must be able to walk down to the folder we hand over to it.
        for folder in [parent, *parent.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                return False
        return True

    def _environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _PG_ENV_VARS}
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        if self._owner is not None:
            env.update(HOME=self._owner.pw_dir, USER=SUPERUSER, LOGNAME=SUPERUSER)
        return env

    def _run(self, program: str, args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        owner = self._owner
        try:
            return subprocess.run(
                command,
                cwd=self.base_dir,  # the caller's folder may be unreadable for the postgres user
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                # As root: setuid/setgid to the postgres user in the child, with no supplementary groups.
                user=owner.pw_uid if owner else None,
                group=owner.pw_gid if owner else None,
                extra_groups=[] if owner else None,
            )
        except subprocess.TimeoutExpired as error:
            raise PostgresError(
                f"{shlex.join(command)} did not finish within {timeout:.0f} s\n{self._log_tail()}"
            ) from error

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            [
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _server_options(self) -> str:
        options = [
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        # pg_ctl hands -o to a shell, so the pieces are quoted.
        return shlex.join(options)

    def _start_server(self) -> None:
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        deadline = time.monotonic() + START_TIMEOUT
        result = self._run(
            "pg_ctl",
            [
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                self._server_options(),
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            ],
            timeout=START_TIMEOUT + 15,
        )
        if result.returncode != 0:
            new_log = self._log_since(log_offset)
            # pg_ctl may give up while a half-started server still holds the data directory.
            self._kill_leftover_server()
            error_type = (
                _PortInUseError
                if "Address already in use" in new_log or "could not create any TCP/IP sockets" in new_log
                else PostgresError
            )
            raise error_type(
                f"PostgreSQL did not start (pg_ctl exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- server log ---\n{self._log_tail()}"
            )
        self._running = True
        self._ever_started = True
        self._wait_until_ready(deadline)

    def _wait_until_ready(self, deadline: float) -> None:
        """pg_ctl -w watches the pid file; make sure the TCP listener answers too."""
        isready = self.bin_dir / "pg_isready"
        while True:
            if _is_executable(isready):
                probe = self._run(
                    "pg_isready",
                    ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres", "-t", "2"],
                    timeout=10,
                )
                if probe.returncode == 0:
                    return
            elif self._accepts_connections():
                return
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"PostgreSQL on port {self.port} did not accept connections within "
                    f"{START_TIMEOUT:.0f} s\n--- server log ---\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            return False
        finally:
            engine.dispose()

    def _stop_server(self, mode: str) -> None:
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        result = self._run("pg_ctl", ["-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop"], timeout=45)
        if result.returncode != 0:
            self._kill_leftover_server()
        self._running = False

    def _kill_leftover_server(self) -> None:
        """Last resort: kill the postmaster named in our own data directory's pid file."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        if not self._is_our_postmaster(pid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                os.kill(pid, 0)  # raises ProcessLookupError once it is gone
                time.sleep(0.05)
        # The postmaster's children notice their parent is gone and exit; the pid file is stale now.
        with contextlib.suppress(OSError):
            pid_file.unlink()

    def _is_our_postmaster(self, pid: int) -> bool:
        """Guard against a stale pid file whose pid now belongs to some other process."""
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return not Path("/proc/self").exists()  # no procfs to ask: trust our own pid file
        except OSError:
            return False
        return "postgres" in command_line and str(self.data_dir) in command_line

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, lines: int = 40) -> str:
        try:
            content = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(content.splitlines()[-lines:])


class _PortInUseError(PostgresError):
    pass
