"""`clinic-bot` as an operator runs it: a real process, a production HTTP server, Socket Mode, and clear
start-up errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import select, text

from bot.demo.driver import sign
from tests.conftest import BOT_TOKEN, LEAD, OWNER, SIGNING_SECRET, no_postgres
from tests.helpers import text_of, wait_dms
from tests.socket_mode_server import SocketModeServer

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clinic_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[1]), **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_once(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    process = clinic_bot(*args, env=env, cwd=cwd)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_healthy(port: int, process: subprocess.Popen[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"clinic-bot exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return json.loads(response.read())
        except (OSError, HTTPError):
            time.sleep(0.1)
    raise AssertionError("clinic-bot never became healthy")


@pytest.fixture
def bot_env(slack, database_url) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
    }


@pytest.fixture
def http_bot(bot_env, tmp_path) -> Iterator[int]:
    port = free_port()
    process = clinic_bot(
        "run",
        "--mode",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-scheduler",
        env=bot_env,
        cwd=tmp_path,
    )
    try:
        wait_healthy(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def post_signed(
    port: int, body: str, content_type: str, secret: str = SIGNING_SECRET, **headers: str
) -> tuple[int, str]:
    request = Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        headers={"Content-Type": content_type, **sign(secret, body), **headers},
        method="POST",
    )
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def command_payload(text: str, user: str, response_url: str) -> dict[str, str]:
    return {
        "team_id": "T0001",
        "channel_id": "C0CLINIC",
        "user_id": user,
        "command": "/clinic",
        "text": text,
        "response_url": response_url,
        "trigger_id": "t-1",
    }


def command_form(text: str, user: str, response_url: str) -> str:
    return urlencode(command_payload(text, user, response_url))


def test_http_mode_serves_signed_commands_and_dms_the_owner_without_a_scheduler(http_bot, slack):
    status, body = post_signed(
        http_bot, command_form("help", LEAD, slack.response_url("h")), "application/x-www-form-urlencoded"
    )
    assert status == 200 and "/clinic status" in body

    status, _ = post_signed(
        http_bot,
        command_form(f"add <@{OWNER}> Call the rota team by friday", LEAD, slack.response_url("a")),
        "application/x-www-form-urlencoded",
    )
    assert status == 200
    [dm] = wait_dms(slack, OWNER)
    assert "Call the rota team" in text_of(dm)


def test_http_mode_refuses_a_badly_signed_request(http_bot):
    status, _ = post_signed(
        http_bot, command_form("help", LEAD, "http://x"), "application/x-www-form-urlencoded", secret="wrong"
    )
    assert status == 401


def test_http_mode_answers_a_malformed_timestamp_with_401_not_500(http_bot):
    status, _ = post_signed(
        http_bot,
        command_form("help", LEAD, "http://x"),
        "application/x-www-form-urlencoded",
        **{"X-Slack-Request-Timestamp": "not-a-number"},
    )
    assert status == 401


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7Bnot+json",
        "payload=%FF%FE",
        "payload=[1,",
        "payload=%5B%5D",
        "payload=" + quote(json.dumps({"type": "view_submission", "view": None})),
    ],
)
def test_http_mode_answers_a_malformed_payload_without_a_500(http_bot, body):
    status, _ = post_signed(http_bot, body, "application/x-www-form-urlencoded")
    assert 400 <= status < 500


def test_http_mode_refuses_a_body_far_larger_than_slack_ever_sends_before_reading_it(http_bot):
    """A public URL gets requests from anyone: a huge body must not be held in memory to find it unsigned.
    The answer comes from the declared length alone, before any of the body is read."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", http_bot, timeout=10)
    connection.putrequest("POST", "/slack/events")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", "1500000")
    connection.endheaders()
    connection.send(b"payload=" + b"a" * 1000)  # the rest never comes
    assert connection.getresponse().status == 413
    connection.close()
    status, body = post_signed(
        http_bot, command_form("help", LEAD, "http://x"), "application/x-www-form-urlencoded"
    )  # and it goes on serving
    assert status == 200 and "/clinic status" in body


def test_healthz_reports_the_database_and_the_scheduler(http_bot, bot_env, tmp_path):
    def health() -> dict:
        with urlopen(f"http://127.0.0.1:{http_bot}/healthz", timeout=5) as response:
            assert response.status == 200
            return json.loads(response.read())

    assert health() == {
        "status": "ok",
        "database": "ok",
        "scheduler": "never_ran",  # this process serves Slack only
        "last_pass_age_seconds": None,
        "oldest_unsent_age_seconds": None,
        "unsent_after_failures": 0,
    }
    tick = clinic_bot("tick", env=bot_env, cwd=tmp_path)  # a pass by another process
    assert tick.wait(timeout=60) == 0
    after = health()
    assert after["scheduler"] == "ok" and 0 <= after["last_pass_age_seconds"] < 60


def test_http_mode_stops_gracefully_on_sigterm(bot_env, tmp_path):
    port = free_port()
    process = clinic_bot("run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port), env=bot_env, cwd=tmp_path)
    try:
        wait_healthy(port, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)

    # The stop ran to its end: claimed messages handed back, the scheduler stopped, then a clean exit.
    assert process.returncode == 0, err
    assert '"event": "stopped"' in err
    assert "Traceback" not in err


def test_socket_mode_answers_commands_and_interactions(slack, bot_env, tmp_path):
    server = SocketModeServer().start()
    slack.socket_mode_url = server.url
    env = {**bot_env, "SLACK_APP_TOKEN": "xapp-1-test"}
    env.pop("SLACK_SIGNING_SECRET")
    process = clinic_bot("run", "--no-scheduler", env=env, cwd=tmp_path)
    try:
        server.wait_connected()
        help_answer = server.send("slash_commands", command_payload("help", LEAD, "http://x"))
        assert "/clinic status" in json.dumps(help_answer)

        server.send(
            "slash_commands",
            command_payload(f"add <@{OWNER}> Socket thing by friday", LEAD, slack.response_url("s")),
        )
        [dm] = wait_dms(slack, OWNER)
        assert "Socket thing" in text_of(dm)
    finally:
        process.terminate()
        process.wait(timeout=15)
        server.stop()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "nonsense"}, "SLACK_BOT_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "mysql://x"},
            "DATABASE_URL",
        ),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET: is set but empty"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "  "}, "SLACK_SIGNING_SECRET: is set but empty"),
        ({"SLACK_BOT_TOKEN": " ", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN: is set but empty"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_SIGNING_SECRET_PREVIOUS": ""},
            "SLACK_SIGNING_SECRET_PREVIOUS: is set but empty",
        ),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN: is set but empty"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "DIGEST_DAY": "monthly"}, "DIGEST_DAY"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "WORKING_DAYS": "mon,thunder"}, "WORKING_DAYS"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PATIENT_ID_PATTERNS": r'["\bMRN[0-9]{8}\b"]'},
            "PATIENT_ID_PATTERNS",
        ),
    ],
)
def test_run_without_the_right_settings_says_which_in_one_line(env, message, tmp_path):
    result = run_once("run", env=env, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    if "PATIENT_ID_PATTERNS" in message:
        assert "double each backslash" in lines[0]


def test_a_user_token_given_as_the_bot_token_is_refused_naming_it(tmp_path):
    """The User OAuth Token (xoxp-) sits on the same page as the bot's; Slack accepts it, and the bot would
    post as that person."""
    env = {"SLACK_BOT_TOKEN": "xoxp-1111-2222-3333-abcdef", "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}

    result = run_once("db", "upgrade", env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("clinic-bot: setting SLACK_BOT_TOKEN") and "xoxb-" in line, line
    assert "abcdef" not in line
    assert not (tmp_path / "c.db").exists()


@pytest.mark.parametrize("command", [["run", "--mode", "http"], ["scheduler"], ["tick"]])
@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked"])
def test_a_bot_token_slack_refuses_stops_start_up_in_one_line_and_sends_nothing(
    command, error, user, slack, bot_env, tmp_path
):
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    slack.reset()
    slack.fail_next("auth.test", error=error)

    result = run_once(*command, env=bot_env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("clinic-bot: SLACK_BOT_TOKEN") and error in last, result.stderr
    assert "Traceback" not in result.stderr and BOT_TOKEN not in result.stderr
    assert slack.calls_to("chat.postMessage") == []


def test_run_starts_when_slack_cannot_say_whether_the_token_is_good(slack, bot_env, tmp_path):
    slack.fail_next("auth.test", status=503)
    port = free_port()
    process = clinic_bot("run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port), env=bot_env, cwd=tmp_path)
    try:
        assert wait_healthy(port, process)["status"] == "ok"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert '"event": "token_not_checked"' in err


@pytest.mark.parametrize(
    "written", ["clinic:s3cret-pw@127.0.0.1:{port}/clinic", "clinic@127.0.0.1:{port}/clinic?password=s3cret-pw"]
)
def test_an_unreachable_postgresql_stops_start_up_in_one_line_without_its_password(tmp_path, written):
    url = "postgresql+psycopg://" + written.format(port=free_port())
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "DATABASE_URL": url}

    for command in (["run", "--mode", "http"], ["db", "upgrade"]):
        result = run_once(*command, env=env, cwd=tmp_path)

        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("clinic-bot: DATABASE_URL") and "127.0.0.1" in line and "***" in line, line
        assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_port_already_in_use_stops_start_up_in_one_line_before_anything_is_sent(user, slack, bot_env, tmp_path):
    """Another process on the port: `run` must stop before its scheduler sends anything, or a supervisor
    restarting it would have it chase people on every try without ever serving Slack."""
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    slack.reset()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_once(
            "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port), env=bot_env, cwd=tmp_path
        )

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"clinic-bot: --port {port}") and "in use" in last, result.stderr
    assert slack.calls_to("chat.postMessage") == []


def test_a_postgresql_user_that_may_not_create_tables_stops_start_up_in_one_line(postgres, tmp_path):
    """Since PostgreSQL 15 a user may not create tables in `public` unless granted: the usual state of a
    database an IT team hands over."""
    if postgres is None:
        no_postgres()
    name, role = f"r_{uuid.uuid4().hex[:10]}", f"clinic_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(name)
    admin = postgres._admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": url.replace("//postgres@", f"//{role}@"),
    }
    try:
        for command in (["db", "upgrade"], ["run", "--mode", "http"]):
            result = run_once(*command, env=env, cwd=tmp_path)

            assert result.returncode == 2, result.stderr
            assert "Traceback" not in result.stderr, result.stderr
            last = result.stderr.strip().splitlines()[-1]  # after Alembic's logs of connecting
            assert last.startswith("clinic-bot: DATABASE_URL") and "permission denied" in last, result.stderr
    finally:
        postgres.drop_database(name)
        with admin.connect() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run", "--mode", "http"]])
def test_a_database_url_naming_a_driver_that_is_not_installed_stops_in_one_line(command, tmp_path):
    """`postgresql+psycopg2://` is the form most SQLAlchemy guides give; the bot comes with psycopg 3."""
    url = "postgresql+psycopg2://clinic:s3cret-pw@127.0.0.1:1/clinic"
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "DATABASE_URL": url}

    result = run_once(*command, env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("clinic-bot: setting DATABASE_URL") and "postgresql+psycopg://" in line, line
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgresql_url_that_names_no_driver_is_taken_with_the_one_installed(scheme, tmp_path):
    """`postgres://` is what Heroku and many hosts hand out, `postgresql://` what psql takes."""
    url = f"{scheme}://clinic:s3cret-pw@127.0.0.1:{free_port()}/clinic"

    result = run_once("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("clinic-bot: DATABASE_URL: cannot use the database at postgresql+psycopg://"), line
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_workspace_chase_defaults_with_the_sponsor_before_the_lead_are_refused_at_start_up(tmp_path):
    """`/clinic chase` refuses sponsor_after <= lead_after; from the environment, the same pair would make every
    lead's change fail over values the lead never typed."""
    database = tmp_path / "clinic.db"
    env = {"DATABASE_URL": f"sqlite:///{database}", "CHASE_LEAD_AFTER_DAYS": "10", "CHASE_SPONSOR_AFTER_DAYS": "7"}

    result = run_once("db", "upgrade", env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "CHASE_SPONSOR_AFTER_DAYS (7)" in line and "CHASE_LEAD_AFTER_DAYS (10)" in line, line
    assert not database.exists(), "a refused setting changes nothing"


def test_a_sqlite_file_that_cannot_be_written_stops_start_up_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'a-file' / 'clinic.db'}"

    result = run_once("scheduler", env={"SLACK_BOT_TOKEN": BOT_TOKEN, "DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("clinic-bot: DATABASE_URL") and "unable to open database file" in line, line


def test_socket_mode_starts_while_slack_is_down_and_connects_once_it_is_back(slack, bot_env, tmp_path):
    """The scheduler's messages wait Slack out; the process must not exit and leave them unsent."""
    server = SocketModeServer().start()
    slack.socket_mode_url = server.url
    slack.fail_next("apps.connections.open", status=503, error="service_unavailable", times=2)
    env = {**bot_env, "SLACK_APP_TOKEN": "xapp-1-test"}
    env.pop("SLACK_SIGNING_SECRET")
    process = clinic_bot("run", "--no-scheduler", env=env, cwd=tmp_path)
    try:
        server.wait_connected()
        assert process.poll() is None
        assert "/clinic status" in json.dumps(server.send("slash_commands", command_payload("help", LEAD, "http://x")))
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
        server.stop()
    assert '"event": "socket_mode_not_connected"' in err and '"event": "socket_mode_connected"' in err


def test_an_app_token_slack_refuses_stops_socket_mode_start_up_in_one_line_and_sends_nothing(
    user, slack, bot_env, tmp_path
):
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    slack.reset()
    env = {**bot_env, "SLACK_APP_TOKEN": "xapp-1-revoked"}  # the stand-in opens no Socket Mode: invalid_auth

    result = run_once("run", env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("clinic-bot: SLACK_APP_TOKEN") and "invalid_auth" in last, result.stderr
    assert "Traceback" not in result.stderr and "xapp-1-revoked" not in result.stderr
    assert slack.calls_to("chat.postMessage") == []


def test_db_upgrade_creates_the_schema(tmp_path):
    result = run_once("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()


def test_tick_delivers_what_is_left_in_the_outbox(bot_env, slack, tmp_path):
    result = run_once("tick", "--now", "2026-11-24T10:00", env=bot_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "pass done" in result.stdout


def test_tick_as_if_later_deletes_nothing_for_age_and_is_not_the_last_pass(user, slack, db, bot_env, tmp_path):
    """`--now` says when to plan for; what is old enough to delete, and whether the scheduler is alive, go
    by the real time."""
    from storage.models import Action, Heartbeat

    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    assert "Closed *#1" in user.command(LEAD, "done 1").text

    result = run_once("tick", "--now", "2027-01-04T15:00", env={**bot_env, "RETENTION_DAYS": "30"}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    db.expire_all()
    assert [a.title for a in db.scalars(select(Action))] == ["Audit the rota"]
    assert db.scalars(select(Heartbeat)).all() == []


def test_tick_dry_run_says_who_would_hear_what_and_sends_nothing(user, slack, bot_env, tmp_path):
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    before = len(slack.calls_to("chat.postMessage"))

    result = run_once("tick", "--now", "2026-11-30T15:00", "--dry-run", env=bot_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"would send to {OWNER}" in result.stdout and "is overdue" in result.stdout
    assert len(slack.calls_to("chat.postMessage")) == before


@pytest.mark.parametrize("command", [["tick", "--dry-run"], ["purge", "--closed-before", "2025-01-01", "--dry-run"]])
def test_a_dry_run_on_a_database_not_yet_migrated_says_so_and_changes_nothing(command, tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE kept (x)")
    missing = tmp_path / "missing.db"

    for url in (f"sqlite:///{path}", f"sqlite:///{missing}"):
        result = run_once(*command, env={"DATABASE_URL": url}, cwd=tmp_path)

        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        if command[0] == "purge" and url.endswith("missing.db"):  # nothing there to delete from, whatever its schema
            assert f"there is no database at {missing}" in line
        else:
            assert "not up to date" in line and "clinic-bot db upgrade" in line
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["kept"]
    assert not missing.exists()


def test_tick_retries_after_a_rate_limit_then_delivers(user, slack, bot_env, tmp_path):
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)

    result = run_once("tick", "--now", "2026-11-30T15:00", env=bot_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "1 sent" in result.stdout
    assert len(slack.messages_to(OWNER)) == 2


def test_tick_gives_up_after_its_time_bound_and_says_what_is_pending(user, slack, bot_env, tmp_path):
    user.command(LEAD, f"add <@{OWNER}> Audit the rota by 2026-11-27")
    wait_dms(slack, OWNER)
    slack.fail_next("chat.postMessage", status=429, retry_after=30, times=5)

    result = run_once("tick", "--now", "2026-11-30T15:00", env={**bot_env, "TICK_TIMEOUT_SECONDS": "2"}, cwd=tmp_path)

    assert result.returncode == 3
    assert "still unsent" in result.stderr and "ratelimited" in result.stderr


def test_http_mode_serves_the_install_pages_and_installs_a_workspace(slack, bot_env, tmp_path):
    from cryptography.fernet import Fernet

    env = {k: v for k, v in bot_env.items() if k != "SLACK_BOT_TOKEN"}
    env |= {
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "client-secret-xyz",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    port = free_port()
    process = clinic_bot("run", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler", env=env, cwd=tmp_path)

    def back_from_slack(state: str, cookie: str) -> int:
        url = f"http://127.0.0.1:{port}/slack/oauth_redirect?code=code-T0009&state={state}"
        try:
            with urlopen(Request(url, headers={"Cookie": cookie}), timeout=10) as response:
                return response.status
        except HTTPError as exc:
            return exc.code

    try:
        wait_healthy(port, process)
        with urlopen(f"http://127.0.0.1:{port}/slack/install", timeout=10) as page:
            html = page.read().decode()
            # The state cookie is Secure (HTTPS in production); a browser on plain HTTP would drop it.
            cookie = "; ".join(c.split(";")[0] for c in page.headers.get_all("Set-Cookie") or [])
        # Sent to approve it on the host of the configured Web API (GovSlack's is not slack.com).
        assert f"{slack.base_url.removesuffix('api/')}oauth/v2/authorize?" in html and "client_id=1111.2222" in html
        state = re.search(r"state=([\w-]+)", html).group(1)

        assert back_from_slack("forged-state", cookie) in (400, 401)  # a state this app did not issue
        assert slack.installed == {}
        assert back_from_slack(state, cookie) == 200
        assert list(slack.installed.values()) == ["T0009"]
        assert back_from_slack(state, cookie) in (400, 401)  # and each state works once
    finally:
        process.terminate()
        process.wait(timeout=15)
