"""The schema comes from Alembic migrations alone, and they describe exactly what the models say."""

from __future__ import annotations

import multiprocessing
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, func, select

from bot.demo.driver import TEAM
from storage.db import alembic_config, make_engine, make_session_factory, upgrade
from storage.models import Action, ActionEvent, Base
from tests.conftest import ASSIGNER, BOT_TOKEN, OWNER, SIGNING_SECRET, START, UNPACED, no_postgres
from tests.helpers import text_of


def test_migrations_build_the_schema_the_models_describe(database_url):
    upgrade(database_url)  # already at head: a second upgrade is a no-op
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, as on a first install."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    cluster = request.getfixturevalue("postgres")
    if cluster is None:
        no_postgres()
    name = f"e_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


def test_an_action_open_before_chasing_existed_is_chased_after_the_upgrade(empty_database_url, slack):
    from bot.app import create_app
    from bot.clock import FixedClock
    from bot.demo.walk import Walk
    from bot.settings import Settings

    upgrade(empty_database_url, "0011")
    engine = make_engine(empty_database_url)
    long_ago = datetime(2026, 11, 2, 15, tzinfo=UTC)
    with make_session_factory(engine).begin() as session:
        # The tables as they were then (the models have columns 0011 had not).
        people = Table("slack_users", MetaData(), autoload_with=session.connection())
        person = {"name": "Olu Owner", "tz": "America/New_York", "deleted": False, "is_bot": False}
        session.execute(people.insert(), {"team_id": TEAM, "user_id": OWNER, **person, "refreshed_at": START})
        actions = Table("actions", MetaData(), autoload_with=session.connection())
        session.execute(
            actions.insert(),
            {
                "team_id": TEAM,
                "title": "Audit weekend discharges",
                "notes": "",
                "owner_id": OWNER,
                "assigner_id": ASSIGNER,
                "status": "open",
                "due_date": date(2026, 11, 13),
                "due_at": datetime(2026, 11, 14, 4, 59, tzinfo=UTC),
                "created_at": long_ago,
                "updated_at": long_ago,
                "owner_nudges": 0,
                "next_check_at": None,  # what every action open before 0002 was left with
            },
        )

    upgrade(empty_database_url)
    clock = FixedClock(START)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=empty_database_url,
        _env_file=None,
        **UNPACED,
    )
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    try:
        told = Walk(bot, slack, clock).until(START + timedelta(days=1))
    finally:
        bot.close()
        engine.dispose()

    to_owner = [t for t in told if t.recipient == OWNER]
    assert to_owner, "the owner of an action open before chasing existed is nudged"
    assert "Audit weekend discharges" in text_of(to_owner[0].call)
    assert to_owner[0].local("America/New_York").endswith("09:00")


def test_someone_cached_before_members_were_told_apart_is_asked_about_again(empty_database_url, slack):
    """Nobody asked Slack whether a person cached before 0015 belongs to the workspace: the next look-up
    for a duty asks, instead of taking them for a member for up to a day."""
    from bot.clock import FixedClock
    from bot.people import People
    from bot.slack import SlackGateway, new_web_client

    slack.add_user("UFOREIGN", name="Fay Foreign", team_id="T0OTHER")
    upgrade(empty_database_url, "0014")
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        people = Table("slack_users", MetaData(), autoload_with=connection)
        person = {"name": "Fay Foreign", "tz": "UTC", "deleted": False, "is_bot": False, "refreshed_at": START}
        connection.execute(people.insert(), {"team_id": TEAM, "user_id": "UFOREIGN", **person})

    upgrade(empty_database_url)
    gateway = SlackGateway(new_web_client(BOT_TOKEN, slack.base_url))
    try:
        looked_up = People(make_session_factory(engine), FixedClock(START)).lookup(gateway, TEAM, "UFOREIGN")
    finally:
        engine.dispose()

    assert looked_up.outsider


def test_an_action_escalated_in_its_current_cycle_counts_as_escalated_after_the_upgrade(empty_database_url):
    """0016 keeps the lead's escalation past the chase cycle; one told in the cycle under way when it runs
    (all that the schema before it kept) still sends its owner's Need more time to the lead."""
    upgrade(empty_database_url, "0015")
    engine = make_engine(empty_database_url)
    at, told = datetime(2026, 11, 2, 10, tzinfo=UTC), datetime(2026, 11, 30, 14, tzinfo=UTC)
    row = {"team_id": TEAM, "title": "Audit", "notes": "", "owner_id": OWNER, "assigner_id": ASSIGNER}
    row |= {"status": "open", "due_date": date(2026, 11, 24), "due_at": at, "created_at": at, "updated_at": at}
    with engine.begin() as connection:
        actions = Table("actions", MetaData(), autoload_with=connection)
        connection.execute(
            actions.insert(),
            [
                {**row, "id": 1, "owner_nudges": 3, "lead_escalated_at": told},
                {**row, "id": 2, "owner_nudges": 0, "lead_escalated_at": None},
            ],
        )
    engine.dispose()

    upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Action.escalated_at).order_by(Action.id)).all() == [told, None]
    engine.dispose()


@pytest.mark.parametrize("since", ["0001", "0002", "0012"])
def test_upgrading_keeps_every_clinic_focus_area_and_link(empty_database_url, since):
    """SQLite changes a column by rebuilding its table (0003 and 0013 rebuild `clinics`); the rows that
    refer to it must come through untouched, not be deleted or unlinked by their foreign keys."""
    upgrade(empty_database_url, since)
    engine = make_engine(empty_database_url)
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    rows = {
        "clinics": {
            "id": 1,
            "team_id": TEAM,
            "name": "Flow",
            "name_key": "flow",
            "lead_id": "ULEAD",
            "created_by": "ULEAD",
            "created_at": at,
            "chase_overrides": {},
        },
        "focus_areas": {"id": 1, "team_id": TEAM, "clinic_id": 1, "position": 1, "name": "Weekend discharges"},
        "actions": {
            "id": 1,
            "team_id": TEAM,
            "clinic_id": 1,
            "focus_area_id": 1,
            "title": "Audit",
            "notes": "",
            "owner_id": OWNER,
            "assigner_id": ASSIGNER,
            "status": "open",
            "due_date": date(2026, 12, 4),
            "due_at": at,
            "created_at": at,
            "updated_at": at,
            "owner_nudges": 0,
        },
        "action_events": {
            "team_id": TEAM,
            "action_id": 1,
            "at": at,
            "actor_id": ASSIGNER,
            "kind": "created",
            "detail": {},
        },
    }
    with engine.begin() as connection:
        for name, row in rows.items():
            table = Table(name, MetaData(), autoload_with=connection)
            connection.execute(table.insert(), {k: v for k, v in row.items() if k in table.c})
    engine.dispose()

    upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    with make_session_factory(engine)() as session:
        action = session.get(Action, 1)
        assert (action.clinic_id, action.focus_area_id) == (1, 1)
        assert [a.name for a in action.clinic.focus_areas] == ["Weekend discharges"]
        assert session.scalar(select(func.count()).select_from(ActionEvent)) == 1
    engine.dispose()


def _upgrade_together(url: str, start: Any, results: Any) -> None:
    """One replica starting: wait for the others, then apply pending migrations as `run` does."""
    start.wait(timeout=60)
    try:
        upgrade(url)
        results.put("ok")
    except Exception as error:  # reported to the test, which shows it with where and in what statement
        lines = f"{type(error).__name__}: {error}".splitlines()
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if "site-packages" not in f.filename]
        where = [f"{Path(f.filename).name}:{f.lineno}" for f in [*ours[-2:], frames[-1]]]
        results.put(" ".join([lines[0], *(line for line in lines if line.startswith("[SQL:")), "at", *where]))


def test_replicas_starting_together_on_a_new_database_all_upgrade_it_once(empty_database_url):
    """Each replica applies pending migrations as it starts: started at the same instant on an empty
    database, one applies them while the others wait, and then find nothing to do."""
    replicas = 4
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(replicas), spawn.Queue()
    processes = [
        spawn.Process(target=_upgrade_together, args=(empty_database_url, start, results)) for _ in range(replicas)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert outcomes == ["ok"] * replicas
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
