"""The world the tests build: a real database (SQLite file or throwaway PostgreSQL), a local stand-in of
Slack's Web API, a movable clock, and the real Bolt app wired by the real app factory."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy.orm import Session

from bot.app import BOT_SCOPES, ClinicBot, create_app
from bot.clock import FixedClock
from bot.demo.driver import TEAM, SlackDriver
from bot.demo.standin import SlackStandIn
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade
from tests.postgres import ThrowawayPostgres, find_pg_bin

SIGNING_SECRET = "test-signing-secret-8f14e45fceea167a"
BOT_TOKEN = "xoxb-test-token-0000"

LEAD, OWNER, SPONSOR, OTHER, ASSIGNER = "ULEAD", "UOWNER", "USPONSOR", "UOTHER", "UASSIGNER"
GONE, ROBOT = "UGONE", "UROBOT"
FOREIGN = "UFOREIGN"  # of another organisation, met in a Slack Connect channel
# A Tuesday, mid-morning in London.
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


# --- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres | None]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        yield None
        return
    cluster = ThrowawayPostgres(bin_dir).start()
    try:
        template = cluster.create_database("clinic_template")
        upgrade(template)
        yield cluster
    finally:
        cluster.stop()


def no_postgres() -> NoReturn:
    """Skipped only off CI: on CI, .ci/run installs PostgreSQL, so its absence is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL binaries are missing on CI; .ci/run must install them")
    pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install the postgresql package")


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    """A cluster of one test's own, for tests that stop or restart PostgreSQL."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        no_postgres()
    with ThrowawayPostgres(bin_dir) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def postgres_url(postgres: ThrowawayPostgres | None) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (skipped only off CI, where there is none)."""
    if postgres is None:
        no_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name, template="clinic_template")
    yield url
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "clinic.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


# --- Slack, the clock and the app --------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(team_id=TEAM, scopes=BOT_SCOPES) as standin:
        standin.add_user(LEAD, name="Lee Lead", tz="Europe/London")
        standin.add_user(OWNER, name="Olu Owner", tz="America/New_York")
        standin.add_user(SPONSOR, name="Sam Sponsor", tz="Asia/Kolkata")
        standin.add_user(OTHER, name="Otto Other", tz="Europe/London")
        standin.add_user(ASSIGNER, name="Asha Assigner", tz="Europe/London")
        standin.add_user(GONE, name="Gwen Gone", tz="Europe/London", deleted=True)
        standin.add_user(ROBOT, name="Some Bot", tz="UTC", is_bot=True)
        standin.add_user(FOREIGN, name="Fay Foreign", tz="Europe/Paris", team_id="T0OTHER")
        standin.add_channel("C0CLINIC", name="discharge-clinic")
        yield standin


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def pace() -> dict[str, float]:
    """The stand-in enforces no limits unless a test asks it to, so posting is not paced in real seconds;
    tests of the pacing override this with {} (the production defaults)."""
    return UNPACED


UNPACED = {"send_per_second": 1000.0, "send_burst": 1000, "send_gap_per_conversation_seconds": 0.0}


@pytest.fixture
def settings(slack: SlackStandIn, database_url: str, pace: dict[str, float]) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=database_url,
        _env_file=None,
        **pace,
    )


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def bot(settings: Settings, engine, clock: FixedClock) -> Iterator[ClinicBot]:  # type: ignore[no-untyped-def]
    app = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    yield app
    app.close()


@pytest.fixture
def user(bot: ClinicBot, slack: SlackStandIn) -> SlackDriver:
    """Slack's side: people typing commands, pressing buttons and submitting modals."""
    return SlackDriver(bot.bolt, SIGNING_SECRET, slack.response_url("resp"))


@pytest.fixture
def db(bot: ClinicBot) -> Iterator[Session]:
    with bot.services.sessions() as session:
        yield session
