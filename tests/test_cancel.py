"""`/clinic cancel 12 <why>`: an action no longer needed leaves every list, is never chased, and its owner
hears why; its history stays."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.demo.walk import Walk
from tests.conftest import ASSIGNER, OWNER
from tests.helpers import actions_in, history_kinds, text_of, wait_dms
from tests.test_status import add


def test_cancelling_tells_the_owner_why_and_stops_the_chase(user, slack, db, bot, clock):
    add(user, slack, ASSIGNER, OWNER, "Pilot the discharge lounge", "2026-11-27")
    [action] = actions_in(db)
    wait_dms(slack, OWNER)

    answer = user.command(ASSIGNER, f"cancel {action.id} the lounge is closing")

    assert "Cancelled *#1 Pilot the discharge lounge*" in answer.text and f"<@{OWNER}> has been told" in answer.text
    [_, told] = wait_dms(slack, OWNER, 2)
    assert "cancelled" in text_of(told) and "the lounge is closing" in text_of(told)
    assert actions_in(db)[0].status == "cancelled"
    assert history_kinds(db, action.id) == ["created", "status"]
    assert "Pilot the discharge lounge" not in user.command(OWNER, "status").text

    walk = Walk(bot, slack, clock)
    walk.settle()
    walk.until(datetime(2026, 12, 12, tzinfo=UTC))
    assert walk.to(OWNER) == []


def test_a_cancelled_action_cannot_be_cancelled_or_closed_again(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Pilot the discharge lounge", "2026-11-27")
    [action] = actions_in(db)
    user.command(ASSIGNER, f"cancel {action.id}")

    assert "already cancelled" in user.command(ASSIGNER, f"cancel {action.id}").text
    assert "already cancelled" in user.command(OWNER, f"done {action.id}").text


def test_someone_who_gave_themselves_an_action_may_cancel_it_and_no_one_else_of_the_team_may(user, slack, db):
    add(user, slack, OWNER, OWNER, "My own follow-up", "2026-12-04")
    [action] = actions_in(db)

    refused = user.command(ASSIGNER, f"cancel {action.id}")
    answer = user.command(OWNER, f"cancel {action.id} no longer needed")

    assert "Nothing was changed" in refused.text
    assert answer.text == ":heavy_minus_sign: Cancelled *#1 My own follow-up*."
    assert actions_in(db)[0].status == "cancelled"
