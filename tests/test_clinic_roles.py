"""`/clinic edit`: handing a clinic to a new lead or sponsor, or pointing it at another channel."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.views import ids
from storage.models import Clinic, ExtensionRequest
from tests.conftest import ASSIGNER, GONE, LEAD, OTHER, OWNER, ROBOT, SPONSOR
from tests.helpers import actions_in, form_as_shown, opened_view, text_of
from tests.test_clinics import register_clinic
from tests.test_escalation_tools import ask_for_more_time, escalate


def edit(user, slack, actor: str, *, lead=..., sponsor=..., channel=...):  # type: ignore[no-untyped-def]
    """`actor` opens the clinic's edit form, changes the pickers given (None clears one) and saves."""
    opened = len(slack.calls_to("views.open"))
    user.command(actor, "edit Discharge flow")
    view = opened_view(slack, opened + 1)
    values = form_as_shown(view)
    for block, picked in ((ids.CLINIC_LEAD, lead), (ids.CLINIC_SPONSOR, sponsor)):
        if picked is not ...:
            values[block]["selected_user"] = picked
    if channel is not ...:
        values[ids.CLINIC_CHANNEL]["selected_conversation"] = channel
    return user.submit(actor, ids.EDIT_CLINIC_MODAL, values, private_metadata=view["private_metadata"])


def roles(db) -> tuple[str, str | None, str | None]:
    db.expire_all()
    clinic = db.scalars(select(Clinic)).one()
    return clinic.lead_id, clinic.sponsor_id, clinic.channel_id


def said_to(slack, user_id: str, words: str) -> list[str]:
    return [text_of(c) for c in slack.messages_to(user_id) if words in text_of(c)]


def test_the_form_shows_who_leads_and_sponsors_the_clinic_and_its_channel(user, slack, db):
    register_clinic(user, slack, db)

    user.command(LEAD, "edit Discharge flow")

    elements = {b["block_id"]: b["element"] for b in opened_view(slack)["blocks"] if b["type"] == "input"}
    assert elements[ids.CLINIC_LEAD]["initial_user"] == LEAD
    assert elements[ids.CLINIC_SPONSOR]["initial_user"] == SPONSOR
    assert elements[ids.CLINIC_CHANNEL]["initial_conversation"] == "C0CLINIC"


def test_the_lead_hands_the_clinic_over_and_everyone_concerned_is_told(user, slack, db):
    register_clinic(user, slack, db)

    answer = edit(user, slack, LEAD, lead=OTHER, sponsor=ASSIGNER, channel="C0WARD")

    assert answer.body.get("response_action") is None, answer.body
    assert roles(db) == (OTHER, ASSIGNER, "C0WARD")
    slack.wait_for(lambda _c: said_to(slack, SPONSOR, "in your place"))
    [to_lead] = said_to(slack, OTHER, "made you the lead")
    assert len(said_to(slack, ASSIGNER, "made you the executive sponsor")) == 1
    [to_old_sponsor] = said_to(slack, SPONSOR, "in your place")
    assert f"<@{LEAD}> made you the lead of *Discharge flow*" in to_lead and "weekly digest" in to_lead
    assert f"<@{LEAD}> made <@{ASSIGNER}> the executive sponsor of *Discharge flow* in your place" in to_old_sponsor
    assert said_to(slack, LEAD, "in your place") == []  # who made the change needs no telling
    refused = user.command(LEAD, "edit Discharge flow")  # no longer theirs to change
    assert "Only the lead and sponsor" in refused.text, refused.text


def test_lead_and_sponsor_may_swap_and_each_hears_only_of_their_new_role(user, slack, db):
    register_clinic(user, slack, db)

    edit(user, slack, SPONSOR, lead=SPONSOR, sponsor=LEAD)

    assert roles(db)[:2] == (SPONSOR, LEAD)
    slack.wait_for(lambda _c: said_to(slack, LEAD, "made you the executive sponsor"))
    assert said_to(slack, LEAD, "in your place") == []


@pytest.mark.parametrize(
    ("change", "block", "said"),
    [
        ({"lead": GONE}, ids.CLINIC_LEAD, "deactivated"),
        ({"lead": ROBOT}, ids.CLINIC_LEAD, "Bots cannot lead a clinic"),
        ({"sponsor": GONE}, ids.CLINIC_SPONSOR, "deactivated"),
        ({"sponsor": LEAD}, ids.CLINIC_SPONSOR, "someone other than the lead"),
    ],
)
def test_a_lead_or_sponsor_who_cannot_take_the_role_is_refused_and_nothing_changes(
    user, slack, db, change, block, said
):
    register_clinic(user, slack, db)

    answer = edit(user, slack, LEAD, channel="C0WARD", **change)

    assert said in answer.body["errors"][block]
    assert roles(db) == (LEAD, SPONSOR, "C0CLINIC")


def test_a_sponsor_can_be_removed_and_the_channel_cleared(user, slack, db):
    register_clinic(user, slack, db)

    edit(user, slack, LEAD, sponsor=None, channel=None)

    assert roles(db) == (LEAD, None, None)
    slack.wait_for(lambda _c: said_to(slack, SPONSOR, "in your place"))
    assert "made nobody the executive sponsor" in said_to(slack, SPONSOR, "in your place")[0]


def test_a_request_for_more_time_waiting_for_the_old_lead_goes_to_the_new_one(user, slack, db, bot, clock):
    _, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    slack.wait_for(lambda _c: said_to(slack, LEAD, "asks for more time"))

    edit(user, slack, SPONSOR, lead=OTHER)  # the lead has moved on

    slack.wait_for(lambda _c: said_to(slack, OTHER, "asks for more time"))
    [request] = db.scalars(select(ExtensionRequest)).all()
    assert request.decider_id == OTHER
    user.click(OTHER, ids.EXTENSION_APPROVE, str(request.id))
    slack.wait_for(lambda _c: said_to(slack, OWNER, "approved more time"))
    assert actions_in(db)[0].due_date == date(2026, 12, 18)
