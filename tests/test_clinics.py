"""`/clinic new`: registering a clinic with its lead, sponsor, channel and focus areas."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.views import ids
from storage.models import Clinic, OutboxMessage
from tests.conftest import FOREIGN, GONE, LEAD, OTHER, ROBOT, SPONSOR
from tests.helpers import opened_view, text_of, wait_dms


def clinic_form(name: str, lead: str, sponsor: str | None = None, channel: str | None = "C0CLINIC", areas=()) -> dict:
    values = {
        ids.CLINIC_NAME: {"type": "plain_text_input", "value": name},
        ids.CLINIC_LEAD: {"type": "users_select", "selected_user": lead},
        ids.CLINIC_SPONSOR: {"type": "users_select", "selected_user": sponsor},
        ids.CLINIC_CHANNEL: {"type": "conversations_select", "selected_conversation": channel},
    }
    for block, area in zip(ids.CLINIC_FOCUS, areas, strict=False):
        values[block] = {"type": "plain_text_input", "value": area}
    return values


def register_clinic(
    user, slack, db, *, lead=LEAD, sponsor=SPONSOR, name="Discharge flow", areas=("Weekend discharges",)
) -> int:
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form(name, lead, sponsor, areas=areas))
    assert answer.body.get("response_action") is None, answer.body
    db.expire_all()
    return db.scalar(select(Clinic.id).where(Clinic.name == name))


def test_new_opens_the_registration_modal_with_the_caller_as_lead(user, slack):
    answer = user.command(LEAD, "new")

    assert answer.status == 200
    view = opened_view(slack)
    assert view["callback_id"] == ids.NEW_CLINIC_MODAL
    lead_block = next(b for b in view["blocks"] if b.get("block_id") == ids.CLINIC_LEAD)
    assert lead_block["element"]["initial_user"] == LEAD
    assert sum(1 for b in view["blocks"] if b.get("block_id") in ids.CLINIC_FOCUS) == 4


def test_registering_stores_the_clinic_and_tells_lead_and_sponsor(user, slack, db):
    register_clinic(user, slack, db, areas=("Weekend discharges", "Medically fit for discharge", "Pharmacy TTOs"))

    clinic = db.scalar(select(Clinic))
    assert (clinic.lead_id, clinic.sponsor_id, clinic.channel_id) == (LEAD, SPONSOR, "C0CLINIC")
    assert [a.name for a in clinic.focus_areas] == [
        "Weekend discharges",
        "Medically fit for discharge",
        "Pharmacy TTOs",
    ]
    [to_lead] = wait_dms(slack, LEAD)
    [to_sponsor] = wait_dms(slack, SPONSOR)
    assert "as its lead" in text_of(to_lead) and "Pharmacy TTOs" in text_of(to_lead)
    assert "as its executive sponsor" in text_of(to_sponsor)


def test_a_second_clinic_with_the_same_name_gets_a_field_error(user, slack, db):
    register_clinic(user, slack, db)

    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("  discharge   FLOW ", LEAD))

    assert answer.body["response_action"] == "errors"
    assert "already a clinic" in answer.body["errors"][ids.CLINIC_NAME]


def test_lead_as_sponsor_is_refused_with_the_reason(user, db):
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("Flow", LEAD, LEAD))

    assert answer.body["response_action"] == "errors"
    assert "someone other than the lead" in answer.body["errors"][ids.CLINIC_SPONSOR]
    assert db.scalar(select(Clinic)) is None


def test_a_clinic_without_a_name_gets_a_field_error(user, db):
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("   ", LEAD))

    assert answer.body["errors"][ids.CLINIC_NAME]
    assert db.scalar(select(Clinic)) is None


@pytest.mark.parametrize("invisible", ["\u200b\u200b", "\ufeff \u2060"])
def test_a_clinic_named_only_with_invisible_characters_gets_the_field_error_of_an_empty_name(user, db, invisible):
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form(invisible, LEAD))

    assert "needs a name" in answer.body["errors"][ids.CLINIC_NAME]
    assert db.scalar(select(Clinic)) is None


def test_a_name_that_identifies_a_patient_is_refused(user, db):
    """A clinic's name is shown to everyone in the workspace (an unknown name lists them all)."""
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("Review 943 476 5919", LEAD))

    assert "looks like an NHS number" in answer.body["errors"][ids.CLINIC_NAME]
    assert db.scalar(select(Clinic)) is None


def test_a_name_that_grows_when_case_folded_is_registered_and_still_unique(user, slack, db):
    """ "ß" folds to "ss": a 100-character name may have a longer key than the name itself."""
    name = "Straße " + "ß" * 93

    assert register_clinic(user, slack, db, name=name)
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form(name.replace("Straße", "STRAßE"), LEAD))

    assert "already a clinic" in answer.body["errors"][ids.CLINIC_NAME]


@pytest.mark.parametrize(
    ("lead", "sponsor", "block", "message"),
    [
        (ROBOT, SPONSOR, ids.CLINIC_LEAD, "Bots cannot lead a clinic"),
        (GONE, SPONSOR, ids.CLINIC_LEAD, "Gwen Gone is deactivated in Slack, so they cannot lead a clinic"),
        (LEAD, ROBOT, ids.CLINIC_SPONSOR, "Bots cannot sponsor a clinic"),
        (LEAD, GONE, ids.CLINIC_SPONSOR, "Gwen Gone is deactivated in Slack, so they cannot sponsor a clinic"),
        (LEAD, "U0NOBODY", ids.CLINIC_SPONSOR, "can't find that person"),
        (FOREIGN, SPONSOR, ids.CLINIC_LEAD, "Fay Foreign is not a member of this workspace"),
        (LEAD, FOREIGN, ids.CLINIC_SPONSOR, "so they cannot sponsor a clinic"),
    ],
)
def test_a_lead_or_sponsor_who_cannot_be_reached_is_refused_on_the_field(
    user, slack, db, lead, sponsor, block, message
):
    """Escalations go to the lead and then the sponsor: a bot or a deactivated account would swallow them, and
    someone from another organisation must not be sent them."""
    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("Flow", lead, sponsor))

    assert answer.body["response_action"] == "errors"
    assert message in answer.body["errors"][block]
    assert db.scalar(select(Clinic)) is None
    assert db.scalar(select(OutboxMessage)) is None


def test_when_slack_cannot_say_who_the_sponsor_is_the_form_asks_to_press_again(user, slack, db):
    user.select_user(OTHER, ids.CLINIC_LEAD, LEAD)  # looked up on picking
    slack.fail_next("users.info", error="internal_error", status=500)

    answer = user.submit(OTHER, ids.NEW_CLINIC_MODAL, clinic_form("Flow", LEAD, SPONSOR))

    assert "press Register again" in answer.body["errors"][ids.CLINIC_SPONSOR]
    assert db.scalar(select(Clinic)) is None
    assert register_clinic(user, slack, db, name="Flow")  # pressed again, Slack answering


def test_picking_the_lead_and_sponsor_looks_them_up_so_submit_needs_no_slack_call(user, slack, db):
    user.select_user(OTHER, ids.CLINIC_LEAD, LEAD)
    user.select_user(OTHER, ids.CLINIC_SPONSOR, SPONSOR)
    looked_up = len(slack.calls_to("users.info"))

    register_clinic(user, slack, db)

    assert looked_up == 2
    assert len(slack.calls_to("users.info")) == 2


def test_a_full_length_clinic_name_with_an_ampersand_can_be_named_in_commands(user, slack, db):
    """Slack sends a typed `&` as `&amp;`: the name is cut to the longest a clinic may have as typed, not as
    escaped, or a 100-character name the form accepted could never be named again."""
    name = ("A&E front door streaming and ambulance handover " * 3)[:100]
    register_clinic(user, slack, db, name=name)

    answer = user.command(LEAD, f"wins {name.replace('&', '&amp;')} off")

    assert "There is no clinic" not in answer.text, answer.text
    db.expire_all()
    assert db.scalar(select(Clinic.celebrate_wins)) is False
