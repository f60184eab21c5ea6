"""Wins in the clinic's channel: every action done in the same hour celebrated in one post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.demo.walk import Walk
from bot.views import ids
from storage.models import Clinic
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, text_of, wait_response
from tests.test_clinics import clinic_form, register_clinic
from tests.test_status import add


def test_wins_of_the_same_hour_are_celebrated_together_in_the_clinic_channel(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Weekend discharge audit", "2026-12-04", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Pharmacy TTO cut-off", "2026-12-04", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Not done yet", "2026-12-04", clinic_id)
    walk.settle()
    first, second, _ = actions_in(db)

    user.click(OWNER, ids.ACTION_DONE, str(first.id))  # 10:00
    clock.advance(timedelta(minutes=20))
    user.command(OTHER, f"done {second.id}")  # 10:20, same hour
    wait_response(slack)
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    [post] = slack.messages_in("C0CLINIC")
    shown = text_of(post)
    assert "2 clinic actions done" in shown
    assert f"<@{OWNER}>: Weekend discharge audit" in shown and f"<@{OTHER}>: Pharmacy TTO cut-off" in shown
    assert "Not done yet" not in shown
    assert [t.local("UTC") for t in walk.told if t.recipient == "C0CLINIC"] == ["Tue 24 Nov 11:00"]


def test_a_clinic_can_turn_its_celebrations_off(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Quiet win", "2026-12-04", clinic_id)
    walk.settle()

    refused = user.command(OTHER, "wins Discharge flow off")
    answer = user.command(LEAD, "wins Discharge flow off")
    user.command(OWNER, f"done {actions_in(db)[0].id}")
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC))

    assert "Only the clinic's lead" in refused.text and "will not be celebrated" in answer.text
    assert slack.messages_in("C0CLINIC") == []


def test_turning_celebrations_off_stops_one_already_queued_this_hour(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Quiet win", "2026-12-04", clinic_id)
    walk.settle()
    user.command(OWNER, f"done {actions_in(db)[0].id}")  # 10:00: its post waits for 11:00

    clock.advance(timedelta(minutes=5))
    assert "will not be celebrated" in user.command(LEAD, "wins Discharge flow off").text
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC))

    assert slack.messages_in("C0CLINIC") == []


def test_many_long_wins_in_one_hour_fit_one_post(user, slack, db, bot, clock):
    """Slack refuses a section of more than 3000 characters; twenty wins of long titles would pass it."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    for n in range(21):
        add(
            user, slack, ASSIGNER, OWNER, f"{n:02d} " + "Weekend discharge audit & review " * 5, "2026-12-04", clinic_id
        )
    walk.settle()
    for action in actions_in(db):
        user.command(OWNER, f"done {action.id}")
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    [post] = slack.messages_in("C0CLINIC")
    [section] = [b for b in post.params["blocks"] if b["type"] == "section"]
    assert len(section["text"]["text"]) <= 3000
    assert "21 clinic actions done" in text_of(post) and "more. `/clinic status Discharge flow`" in text_of(post)


def test_a_channel_that_refuses_the_celebrations_is_reported_to_the_lead_once(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "First win", "2026-12-04", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Second win", "2026-12-04", clinic_id)
    walk.settle()
    first, second = actions_in(db)
    slack.archive("C0CLINIC")

    user.command(OWNER, f"done {first.id}")  # 10:00: celebrated at 11:00
    clock.advance(timedelta(hours=1, minutes=10))
    user.command(OWNER, f"done {second.id}")  # 11:10: celebrated at 12:00
    walk.until(datetime(2026, 11, 24, 13, tzinfo=UTC), step=timedelta(minutes=10))

    assert slack.messages_in("C0CLINIC") == []
    [told] = [t for t in walk.to(LEAD) if "celebrate" in text_of(t.call)]
    assert "the channel is archived" in text_of(told.call) and "/clinic wins Discharge flow off" in text_of(told.call)


def test_turning_wins_on_for_a_clinic_without_a_channel_does_not_promise_celebrations(user, slack, db):
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("Discharge flow", LEAD, SPONSOR, channel=None))
    assert answer.body.get("response_action") is None

    said = user.command(LEAD, "wins Discharge flow on").text

    assert "will be celebrated" not in said and "reports to no channel" in said, said
    assert "Nothing was changed" in said
    db.expire_all()
    assert db.scalar(select(Clinic.celebrate_wins)) is True  # as it was: nothing to switch on


def test_the_lead_is_not_told_to_invite_the_bot_into_an_archived_channel(user, slack, db, bot, clock):
    """Nobody can invite anyone into an archived channel: the notice must not send the lead there."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "First win", "2026-12-04", clinic_id)
    walk.settle()
    slack.archive("C0CLINIC")

    user.command(OWNER, f"done {actions_in(db)[0].id}")
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    [told] = [t for t in walk.to(LEAD) if "celebrate" in text_of(t.call)]
    said = text_of(told.call)
    assert "the channel is archived" in said and "unarchive it" in said and "/clinic edit Discharge flow" in said
    assert "invite me" not in said


def test_the_lead_is_not_told_both_that_the_channel_is_gone_and_to_invite_the_bot_into_it(user, slack, db, bot, clock):
    """A private channel the bot was removed from answers `channel_not_found`, as a deleted one does: the
    notice says "the conversation no longer exists" and, in the same sentence, "Invite me to the channel"."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "First win", "2026-12-04", clinic_id)
    walk.settle()

    user.command(OWNER, f"done {actions_in(db)[0].id}")
    slack.fail_next("chat.postMessage", error="channel_not_found")  # the 11:00 post into the channel
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    [told] = [t for t in walk.to(LEAD) if "celebrate" in text_of(t.call)]
    said = text_of(told.call)
    assert not ("no longer exists" in said and "invite me" in said) and "add me back" in said, said


def test_when_the_lead_cannot_be_reached_the_sponsor_hears_that_the_channel_refuses_the_wins(
    user, slack, db, bot, clock
):
    """README: a message Slack refuses for good is told to the lead, and "when the lead is the one who cannot
    be reached, ... the clinic's sponsor". A lead who has left (deactivated) and an archived channel: nobody
    at all is told that the celebrations stopped."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "First win", "2026-12-04", clinic_id)
    walk.settle()
    slack.archive("C0CLINIC")
    slack.add_user(LEAD, name="Lee Lead", tz="Europe/London", deleted=True)  # the lead has left

    user.command(OWNER, f"done {actions_in(db)[0].id}")
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    [told] = [text_of(t.call) for t in walk.to(SPONSOR) if "celebrate" in text_of(t.call)]
    assert "the channel is archived" in told and f"I couldn't tell its lead, <@{LEAD}>, either" in told
