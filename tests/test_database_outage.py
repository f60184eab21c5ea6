"""PostgreSQL goes away and comes back: people get a clear "try again", Slack is told to retry events, the
scheduler keeps going, and once the database is back nothing is lost and nothing is sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import ClinicBot, create_app
from bot.clock import FixedClock
from bot.demo.driver import SlackDriver
from bot.demo.walk import Walk
from bot.settings import Settings
from handlers.replies import TRY_AGAIN
from scheduler import _safe_pass
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import ActionEvent
from tests.conftest import ASSIGNER, BOT_TOKEN, OWNER, SIGNING_SECRET
from tests.helpers import actions_in, text_of, wait_dms, wait_response
from tests.test_status import add

pytestmark = pytest.mark.slow


@pytest.fixture
def world(own_postgres, slack) -> Iterator[tuple[ClinicBot, SlackDriver, FixedClock]]:
    url = own_postgres.create_database("outage")
    upgrade(url)
    engine = make_engine(url)
    clock = FixedClock(datetime(2026, 11, 24, 10, tzinfo=UTC))
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=url,
        _env_file=None,
    )
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    yield bot, SlackDriver(bot.bolt, SIGNING_SECRET, slack.response_url("outage")), clock
    bot.close()
    engine.dispose()


def notes(bot: ClinicBot) -> list[str]:
    with bot.services.sessions() as session:
        rows = session.scalars(select(ActionEvent).where(ActionEvent.kind == "note")).all()
        return [row.detail.get("text", "") for row in rows]


def test_the_database_going_away_and_coming_back(world, own_postgres, slack):
    bot, user, clock = world
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27")
    wait_dms(slack, OWNER)
    Walk(bot, slack, clock).settle()  # the assignment DM is recorded as sent before the outage
    with bot.services.sessions() as session:
        [action] = actions_in(session)
    slack.reset()

    own_postgres.down()

    answer = user.command(OWNER, "status")
    assert answer.status == 200 and answer.text == TRY_AGAIN
    assert user.click(OWNER, "action_done", str(action.id)).status == 200
    assert TRY_AGAIN in text_of(wait_response(slack)[0])
    quick = user.command(ASSIGNER, f"add <@{OWNER}> Call the pharmacy by friday")  # stored after the ack
    assert quick.status == 200
    assert TRY_AGAIN in text_of(wait_response(slack, 2)[1])
    reply = user.dm_reply(OWNER, "D" + OWNER, "1764000001.000100", "Booked the audit room", event_id="EvNOTE1")
    assert reply.status >= 500  # so that Slack delivers it again
    clock.set(datetime(2026, 11, 26, 15, tzinfo=UTC))  # the reminder is due (Thu 09:00 in New York)
    _safe_pass(bot.services)  # the scheduler survives a pass without its database
    assert slack.messages_to(OWNER) == []

    own_postgres.up()

    retried = user.dm_reply(
        OWNER, "D" + OWNER, "1764000001.000100", "Booked the audit room", event_id="EvNOTE1", retry=1
    )
    assert retried.status == 200
    _safe_pass(bot.services)
    [reminder] = slack.messages_to(OWNER)
    assert "Due tomorrow" in text_of(reminder)
    slack.wait_for(lambda _c: notes(bot) == ["Booked the audit room"])
    clock.advance(timedelta(minutes=30))
    _safe_pass(bot.services)
    assert len(slack.messages_to(OWNER)) == 1  # sent once, not again after the outage
    assert user.command(OWNER, "status").status == 200
    assert "Audit weekend discharges" in user.command(OWNER, "status").text
