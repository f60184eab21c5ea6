"""Several workspaces in one database: installed through Slack's OAuth flow, tokens encrypted at rest,
nothing ever crossing from one workspace to another, and a workspace that removes the app hears no more."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from slack_bolt import BoltRequest
from sqlalchemy import select, text

from bot.app import BOT_SCOPES, ClinicBot, create_app
from bot.demo.driver import SlackDriver
from bot.demo.walk import Walk
from bot.settings import Settings
from bot.slack import RecipientGone
from storage.db import make_session_factory
from storage.models import Base, OutboxMessage
from tests.conftest import ASSIGNER, LEAD, OWNER, SIGNING_SECRET, SPONSOR, START
from tests.helpers import text_of
from tests.test_clinics import clinic_form
from tests.test_running import run_once
from tests.test_status import add

KEY = Fernet.generate_key().decode()
TEAMS = {"T0001": "Alpha audit of discharge letters", "T0002": "Beta review of weekend staffing"}


@pytest.fixture
def multi(slack, engine, clock, database_url) -> Iterator[ClinicBot]:
    settings = Settings(
        slack_client_id="1111.2222",
        slack_client_secret="client-secret-xyz",
        token_encryption_key=KEY,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=database_url,
        _env_file=None,
    )
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    yield bot
    bot.close()


def install(bot: ClinicBot, team_id: str) -> int:
    """Click "Add to Slack", approve in Slack, come back with the code: the real OAuth flow."""
    flow = bot.bolt.oauth_flow
    page = flow.handle_installation(BoltRequest(body="", query="", headers={}))
    location = (page.headers.get("location") or [""])[0] + str(page.body)
    state = re.search(r"state=([\w-]+)", location).group(1)
    cookie = "; ".join(c.split(";")[0] for c in page.headers.get("set-cookie", []))
    done = flow.handle_callback(
        BoltRequest(body="", query=f"code=code-{team_id}&state={state}", headers={"cookie": cookie})
    )
    return done.status


def dump(bot: ClinicBot) -> str:
    with bot.services.sessions() as session:
        rows = [dict(row._mapping) for table in Base.metadata.sorted_tables for row in session.execute(select(table))]
    return json.dumps(rows, default=str)


def test_oauth_installs_keep_no_readable_token_in_the_database(multi, slack):
    assert install(multi, "T0001") == 200
    assert install(multi, "T0002") == 200

    assert len(slack.installed) == 2
    assert "xox" not in dump(multi)
    assert multi.services.workspaces.tokens.gateway("T0002")  # and the bot can still use it


def test_the_install_asks_for_the_scopes_of_the_manifest():
    import yaml

    from tests.test_manifest import MANIFEST

    manifest = yaml.safe_load(MANIFEST.read_text())
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_no_query_message_or_view_crosses_workspaces(multi, slack, clock):
    walk = Walk(multi, slack, clock)
    drivers = {}
    for team_id, title in TEAMS.items():
        install(multi, team_id)
        driver = drivers[team_id] = SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(team_id), team_id)
        driver.submit(LEAD, "clinic_new", clinic_form("Discharge flow", LEAD, SPONSOR))  # same name, both
        add(driver, slack, ASSIGNER, OWNER, title, "2026-11-27")
    walk.settle()
    walk.until(datetime(2026, 12, 8, 10, tzinfo=UTC))  # reminders, nudges, escalations, a digest

    for team_id, title in TEAMS.items():
        other = next(t for t in TEAMS.values() if t != title)
        driver = drivers[team_id]
        seen = "".join(
            json.dumps(driver.command(who, what).body)
            for who, what in [
                (OWNER, "status"),
                (LEAD, "status Discharge flow"),
                (LEAD, f"status <@{OWNER}>"),
                (LEAD, "status overdue"),
                (SPONSOR, "digest"),
                (LEAD, f"1on1 <@{OWNER}>"),
                (LEAD, "show 1"),
                (LEAD, "show 2"),
            ]
        )
        driver.event({"type": "app_home_opened", "user": OWNER, "channel": "D" + OWNER, "tab": "home"})
        assert title in seen and other not in seen, team_id
        token = next(t for t, team in slack.installed.items() if team == team_id)
        sent = "".join(text_of(c) for c in slack.calls if c.token == token)
        assert title in sent and other not in sent, team_id
    digests = [c for c in slack.calls_to("chat.postMessage") if "Weekly digest" in text_of(c)]
    assert len(digests) == 8  # two Mondays: lead and sponsor, in each workspace


def test_a_workspace_that_removes_the_app_hears_nothing_more(multi, slack, clock, db):
    for team_id, title in TEAMS.items():
        install(multi, team_id)
        add(
            SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(), team_id),
            slack,
            ASSIGNER,
            OWNER,
            title,
            "2026-11-27",
        )
    walk = Walk(multi, slack, clock)
    walk.settle()
    slack.reset()

    answer = SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(), "T0002").event({"type": "app_uninstalled"})
    assert answer.status == 200

    walk.until(datetime(2026, 12, 2, 12, tzinfo=UTC))
    reached = "".join(text_of(c) for c in slack.calls_to("chat.postMessage"))
    assert TEAMS["T0001"] in reached and TEAMS["T0002"] not in reached
    with multi.services.sessions() as session:
        count = session.execute(text("SELECT count(*) FROM slack_bots WHERE team_id = 'T0002'")).scalar()
        pending = session.scalars(
            select(OutboxMessage).where(OutboxMessage.team_id == "T0002", OutboxMessage.state == "pending")
        ).all()
    assert count == 0 and pending == []


def test_a_workspace_that_installs_the_app_again_hears_once_about_what_went_overdue_while_it_was_gone(
    multi, slack, clock
):
    """While a workspace has no installation nothing is decided for it, chasing or digests (nothing could
    reach it); once it installs again, each item is caught up in one message, as after downtime."""
    assert install(multi, "T0002") == 200
    driver = SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(), "T0002")
    driver.submit(LEAD, "clinic_new", clinic_form("Discharge flow", LEAD, SPONSOR))
    add(driver, slack, ASSIGNER, OWNER, "Audit the weekend rota", "2026-11-27")
    walk = Walk(multi, slack, clock)
    walk.settle()
    assert driver.event({"type": "app_uninstalled"}).status == 200

    walk.until(datetime(2026, 12, 8, 12, tzinfo=UTC))
    with multi.services.sessions() as session:
        queued = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.team_id == "T0002")).all()
    assert sorted(queued) == ["assigned", "clinic_role"]  # only what the requests queued before it went
    assert install(multi, "T0002") == 200
    walk.until(datetime(2026, 12, 8, 23, tzinfo=UTC))  # the owner's working day in New York

    [catch_up] = walk.to(OWNER)
    assert "Audit the weekend rota" in text_of(catch_up.call)


def test_a_workspace_of_an_enterprise_grid_org_is_reached_and_forgotten(multi, slack, clock):
    """Slack stores a Grid org's workspace under the org's id and names the org in every payload."""
    slack.enterprise_id = "E0GRID"
    assert install(multi, "T0001") == 200
    driver = SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(), "T0001", enterprise_id="E0GRID")

    add(driver, slack, ASSIGNER, OWNER, "Audit the Grid rota", "2026-11-27")
    Walk(multi, slack, clock).settle()

    assert "Audit the Grid rota" in "".join(text_of(c) for c in slack.messages_to(OWNER))
    assert driver.event({"type": "app_uninstalled"}).status == 200
    with multi.services.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


def rows_of(bot: ClinicBot, team_id: str) -> dict[str, list[dict]]:
    """Every row kept for a workspace, by table."""
    with bot.services.sessions() as session:
        return {
            table.name: [dict(row._mapping) for row in session.execute(select(table).where(table.c.team_id == team_id))]
            for table in Base.metadata.sorted_tables
            if "team_id" in table.c
        }


def test_everything_kept_for_a_workspace_that_removed_the_app_can_be_deleted_and_nothing_of_another(
    multi, slack, clock, database_url, tmp_path
):
    def forget(*args: str) -> subprocess.CompletedProcess[str]:
        return run_once("forget-workspace", *args, env=multi_env(slack, database_url, KEY), cwd=tmp_path)

    walk = Walk(multi, slack, clock)
    drivers = {}
    for team_id, title in TEAMS.items():
        install(multi, team_id)
        driver = drivers[team_id] = SlackDriver(multi.bolt, SIGNING_SECRET, slack.response_url(team_id), team_id)
        driver.submit(LEAD, "clinic_new", clinic_form("Discharge flow", LEAD, SPONSOR))
        add(driver, slack, ASSIGNER, OWNER, title, "2026-11-27")
        driver.command(ASSIGNER, f"1on1 <@{OWNER}> every week on thursday")
    walk.settle()
    walk.until(datetime(2026, 12, 8, 10, tzinfo=UTC))  # reminders, nudges, escalations, agendas, a digest

    still_there = forget("--team", "T0002")
    assert drivers["T0002"].event({"type": "app_uninstalled"}).status == 200
    walk.settle()
    kept, leaving = rows_of(multi, "T0001"), rows_of(multi, "T0002")
    held = sum(len(rows) for rows in leaving.values())
    counted = forget("--team", "T0002", "--dry-run")
    counted_leaves = rows_of(multi, "T0002")
    done = forget("--team", "T0002")
    again = forget("--team", "T0002")
    mistyped = forget("--team", "Discharge flow")

    assert still_there.returncode == 2 and "still has the app installed" in still_there.stderr
    assert all(leaving[table] for table in ("clinics", "actions", "outbox", "slack_users", "one_on_one_schedules"))
    assert counted.returncode == 0 and f"would delete {held:,} row(s) of workspace T0002" in counted.stdout
    assert counted_leaves == leaving
    assert done.returncode == 0 and f"deleted {held:,} row(s) of workspace T0002" in done.stdout, done.stderr
    assert f"{len(leaving['actions'])} from actions" in done.stdout
    assert not any(rows_of(multi, "T0002").values())
    assert rows_of(multi, "T0001") == kept
    assert again.returncode == 0 and "nothing is kept for workspace T0002" in again.stdout
    assert mistyped.returncode == 2 and "is not a Slack workspace id" in mistyped.stderr


def multi_env(slack, database_url: str, key: str) -> dict[str, str]:
    return {
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "client-secret-xyz",
        "TOKEN_ENCRYPTION_KEY": key,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
    }


@pytest.mark.slow
@pytest.mark.parametrize("command", [["tick"], ["scheduler"], ["run", "--mode", "http"]])
def test_a_key_that_opens_no_stored_token_stops_start_up_in_one_line(command, multi, slack, database_url, tmp_path):
    assert install(multi, "T0001") == 200
    assert install(multi, "T0002") == 200

    result = run_once(*command, env=multi_env(slack, database_url, Fernet.generate_key().decode()), cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("clinic-bot: TOKEN_ENCRYPTION_KEY") and "2 stored" in last, result.stderr
    assert "Traceback" not in result.stderr and "xoxb" not in result.stderr


@pytest.mark.slow
def test_the_right_key_starts(multi, slack, database_url, tmp_path):
    assert install(multi, "T0001") == 200

    result = run_once("tick", env=multi_env(slack, database_url, KEY), cwd=tmp_path)

    assert result.returncode == 0, result.stderr


def test_a_token_the_key_cannot_open_is_logged_without_the_token(multi, slack, engine, clock, database_url, caplog):
    assert install(multi, "T0001") == 200
    other_key = Fernet.generate_key().decode()
    settings = Settings(**{**multi.services.settings.model_dump(), "token_encryption_key": other_key}, _env_file=None)
    other = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    try:
        with (
            caplog.at_level(logging.WARNING, logger="clinic_bot"),
            pytest.raises(RecipientGone, match="app_uninstalled"),
        ):
            other.services.workspaces.tokens.gateway("T0001")
    finally:
        other.close()

    [record] = [r for r in caplog.records if r.getMessage() == "token_unreadable"]
    assert record.team_id == "T0001"
    assert not any("xox" in str(vars(r)) for r in caplog.records)


def test_a_workspace_served_by_one_token_that_removes_the_app_has_nothing_more_planned_or_sent(
    user, slack, bot, clock, db
):
    """With SLACK_BOT_TOKEN, removing the app revokes that token: the passes that follow must not go on
    deciding nudges, escalations and digests for the workspace and posting them with a revoked token."""
    from bot.demo.driver import TEAM

    add(user, slack, ASSIGNER, OWNER, "Audit the weekend rota", "2026-11-27")
    walk = Walk(bot, slack, clock)
    walk.settle()
    assert user.event({"type": "app_uninstalled"}).status == 200
    slack.reset()
    slack.fail_next("chat.postMessage", error="token_revoked", times=100)  # as Slack answers a removed app's token

    walk.until(datetime(2026, 12, 8, 12, tzinfo=UTC))  # the due date, the nudges, the escalations, a Monday

    db.expire_all()
    planned = db.execute(
        select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.state).where(
            OutboxMessage.team_id == TEAM, OutboxMessage.created_at > START
        )
    ).all()
    assert not planned, [tuple(row) for row in planned]
    assert len(slack.failed_calls) + len(slack.calls_to("chat.postMessage")) == 0


def test_a_workspace_served_by_one_token_that_adds_the_app_again_hears_once_about_what_went_overdue(
    user, slack, bot, clock, engine, settings
):
    """With SLACK_BOT_TOKEN the admin adds the app again and starts the bot with its new token: the start's
    check that Slack accepts the token brings the workspace back, and each item is caught up in one message."""
    add(user, slack, ASSIGNER, OWNER, "Audit the weekend rota", "2026-11-27")
    walk = Walk(bot, slack, clock)
    walk.settle()
    assert user.event({"type": "app_uninstalled"}).status == 200
    walk.until(datetime(2026, 12, 8, 12, tzinfo=UTC))
    assert walk.told == []

    renewed = Settings(**{**settings.model_dump(), "slack_bot_token": "xoxb-added-again"}, _env_file=None)
    restarted = create_app(renewed, session_factory=make_session_factory(engine), clock=clock)
    try:
        restarted.services.workspaces.tokens.check()
        walk = Walk(restarted, slack, clock)
        walk.until(datetime(2026, 12, 8, 23, tzinfo=UTC))  # the owner's working day in New York
    finally:
        restarted.close()

    [catch_up] = walk.to(OWNER)
    assert "Audit the weekend rota" in text_of(catch_up.call)
    assert catch_up.call.token == "xoxb-added-again"
