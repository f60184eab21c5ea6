"""`/clinic edit`: handing a clinic to a new lead or sponsor, or pointing it at another channel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.views import ids
from storage.models import Clinic, ExtensionRequest, OutboxMessage
from tests.conftest import ASSIGNER, GONE, LEAD, OTHER, OWNER, ROBOT, SPONSOR
from tests.helpers import actions_in, form_as_shown, opened_view, text_of
from tests.test_clinics import register_clinic
from tests.test_escalation_tools import ask_for_more_time, escalate
from tests.test_metric_command import add_indicator
from tests.test_status import add


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


def test_wins_waiting_for_their_hour_follow_the_clinic_to_its_new_channel(user, slack, db, bot, clock):
    slack.add_channel("C0WARD", name="ward-7-discharges")
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Weekend discharge audit", "2026-12-04", clinic_id)
    walk.settle()
    user.click(OWNER, ids.ACTION_DONE, str(actions_in(db)[0].id))  # 10:00: its post waits for 11:00

    clock.advance(timedelta(minutes=10))
    answer = edit(user, slack, LEAD, channel="C0WARD")  # the clinic now reports to the ward's channel
    assert answer.body.get("response_action") is None, answer.body
    assert roles(db)[2] == "C0WARD"
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    assert slack.messages_in("C0CLINIC") == []  # the channel it no longer reports to
    [post] = slack.messages_in("C0WARD")
    assert "Weekend discharge audit" in text_of(post)


def test_wins_waiting_for_their_hour_are_not_posted_once_the_clinic_reports_to_no_channel(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Weekend discharge audit", "2026-12-04", clinic_id)
    walk.settle()
    user.click(OWNER, ids.ACTION_DONE, str(actions_in(db)[0].id))

    clock.advance(timedelta(minutes=10))
    edit(user, slack, LEAD, channel=None)  # it reports to no channel any more
    assert roles(db)[2] is None
    walk.until(datetime(2026, 11, 24, 12, tzinfo=UTC), step=timedelta(minutes=10))

    assert slack.messages_in("C0CLINIC") == []


def published_to(slack, user_id: str) -> list:
    return [c for c in slack.calls_to("views.publish") if c.params.get("user_id") == user_id]


def test_handing_the_clinic_over_refreshes_the_home_tab_of_the_new_lead_and_the_old(user, slack, db):
    register_clinic(user, slack, db)
    before = {u: len(published_to(slack, u)) for u in (LEAD, OTHER)}

    edit(user, slack, SPONSOR, lead=OTHER)  # the sponsor hands the clinic to a new lead

    slack.wait_for(lambda _c: said_to(slack, OTHER, "made you the lead"))
    slack.wait_for(lambda _c: len(published_to(slack, SPONSOR)) >= 1)  # the actor's own tab is refreshed
    # The new lead's Home tab should now show the clinic's card, the old lead's should no longer.
    slack.wait_for(lambda _c: len(published_to(slack, OTHER)) > before[OTHER], timeout=3)
    slack.wait_for(lambda _c: len(published_to(slack, LEAD)) > before[LEAD], timeout=3)


def test_a_digest_in_flight_when_the_clinic_changes_hands_does_not_reach_the_old_lead(user, slack, db, bot, clock):
    register_clinic(user, slack, db)
    # The background delivery started by registering wakes every few seconds: stopped, the digest waits
    # until the edit's own delivery, as one waiting for the next pass would.
    bot.services.delivery.stop()
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday 09:00 in London: the lead's digest is due
    assert bot.services.digests.plan() >= 1  # queued by the pass, not yet sent
    with bot.services.sessions() as session:
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()

    edit(user, slack, SPONSOR, lead=OTHER)  # the clinic changes hands before the dispatcher sent it

    slack.wait_for(lambda _c: said_to(slack, LEAD, "in your place"))  # "its news no longer comes to you"
    slack.wait_for(lambda _c: said_to(slack, SPONSOR, "Weekly digest"))  # delivery ran
    assert said_to(slack, LEAD, "Weekly digest") == []


def test_a_form_opened_before_someone_elses_hand_over_does_not_undo_it(user, slack, db):
    register_clinic(user, slack, db)
    user.command(LEAD, "edit Discharge flow")  # the lead opens the form to reword a focus area
    leads_form = opened_view(slack, 1)

    edit(user, slack, SPONSOR, sponsor=ASSIGNER)  # meanwhile the sponsor hands their role to ASSIGNER
    assert roles(db) == (LEAD, ASSIGNER, "C0CLINIC")
    slack.wait_for(lambda _c: said_to(slack, ASSIGNER, "made you the executive sponsor"))

    values = form_as_shown(leads_form)  # the lead touched no picker, only the area's name
    values[ids.CLINIC_FOCUS[0]]["value"] = "Weekend and bank holiday discharges"
    answer = user.submit(LEAD, ids.EDIT_CLINIC_MODAL, values, private_metadata=leads_form["private_metadata"])

    assert answer.body.get("response_action") is None, answer.body
    assert roles(db) == (LEAD, ASSIGNER, "C0CLINIC")  # the sponsor's hand-over stands
    assert said_to(slack, SPONSOR, "made you the executive sponsor") == []  # nobody meant to change that


def queued_for_the_lead(bot, slack, clock, planner) -> None:  # type: ignore[no-untyped-def]
    """Walk to Wed 2 Dec, when the lead is told at 09:00 London; `planner` queues it, and it waits unsent."""
    Walk(bot, slack, clock).until(datetime(2026, 12, 2, 8, 30, tzinfo=UTC))
    bot.services.delivery.stop()  # what the pass queues waits for the edit's own delivery
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    planner.plan()
    with bot.services.sessions() as session:
        queued = session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.state == "pending")).all()
    assert queued == [LEAD]


def test_an_escalation_waiting_to_go_to_the_old_lead_goes_to_the_new_one(user, slack, db, bot, clock):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    queued_for_the_lead(bot, slack, clock, bot.services.planner)  # overdue since Friday
    told_before = said_to(slack, LEAD, "Audit weekend discharges")  # its digest

    edit(user, slack, SPONSOR, lead=OTHER)  # the lead moved on before it was sent
    slack.wait_for(lambda _c: said_to(slack, OTHER, "Audit weekend discharges"))

    assert said_to(slack, LEAD, "Audit weekend discharges") == told_before
    [escalation] = said_to(slack, OTHER, "Audit weekend discharges")
    assert "overdue" in escalation, escalation


@pytest.mark.parametrize("what", ["escalation", "missed reading"])
def test_what_was_being_sent_to_the_old_lead_when_the_clinic_changes_hands_reaches_the_new_one(
    user, slack, db, bot, clock, what
):
    """Its try may or may not have reached the old lead (a process died mid-post): the new lead hears of it
    either way, and the old one is not sent it again."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    if what == "escalation":
        add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
        planner, words, said = bot.services.planner, "Audit weekend discharges", "overdue"
    else:
        add_indicator(user, db, clinic_id)
        planner, words, said = bot.services.reports, "has not reported", "Discharges before noon"
    queued_for_the_lead(bot, slack, clock, planner)
    told_before = said_to(slack, LEAD, words)  # the action's digest
    with bot.services.sessions.begin() as session:  # a process began posting it, then died
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.state == "pending")).one()
        message.lease_owner, message.lease_until = "dead", clock.now() + timedelta(minutes=1)
        message.sending_at = clock.now()

    edit(user, slack, SPONSOR, lead=OTHER)
    slack.wait_for(lambda _c: said_to(slack, OTHER, "made you the lead"))
    clock.advance(timedelta(minutes=2))  # the dead process's lease has run out
    bot.services.delivery.deliver_due()

    assert said_to(slack, LEAD, words) == told_before
    [told] = said_to(slack, OTHER, words)
    assert said in told, told


FAR = "UFARLEAD"


def handed_to_someone_asleep(user, slack, bot) -> None:  # type: ignore[no-untyped-def]
    """At 09:00 London on Wed 2 Dec, the clinic goes to a lead in New York, where it is 04:00."""
    slack.add_user(FAR, name="Nia York", tz="America/New_York")
    edit(user, slack, SPONSOR, lead=FAR)
    slack.wait_for(lambda _c: said_to(slack, FAR, "made you the lead"))
    bot.services.delivery.deliver_due()


@pytest.mark.parametrize("what", ["escalation", "missed reading"])
def test_what_is_passed_to_a_new_lead_waits_for_their_working_hours(user, slack, db, bot, clock, what):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    if what == "escalation":
        add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
        planner, words = bot.services.planner, "Audit weekend discharges"
    else:
        add_indicator(user, db, clinic_id)
        planner, words = bot.services.reports, "has not reported"
    queued_for_the_lead(bot, slack, clock, planner)

    handed_to_someone_asleep(user, slack, bot)

    assert said_to(slack, FAR, words) == []
    clock.set(datetime(2026, 12, 2, 13, 59, tzinfo=UTC))
    bot.services.delivery.deliver_due()
    assert said_to(slack, FAR, words) == []
    clock.set(datetime(2026, 12, 2, 14, 0, tzinfo=UTC))  # 09:00 in New York
    bot.services.delivery.deliver_due()
    assert len(said_to(slack, FAR, words)) == 1


def test_a_missed_reading_waiting_to_be_told_to_the_old_lead_is_told_to_the_new_one(user, slack, db, bot, clock):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add_indicator(user, db, clinic_id)  # weekly, reported by the owner: due Fri 27 Nov
    queued_for_the_lead(bot, slack, clock, bot.services.reports)  # asked, reminded, not reported

    edit(user, slack, SPONSOR, lead=OTHER)  # the lead moved on before it was sent
    slack.wait_for(lambda _c: said_to(slack, OTHER, "has not reported"))

    assert said_to(slack, LEAD, "has not reported") == []
    [told] = said_to(slack, OTHER, "has not reported")
    assert f"<@{OWNER}> has not reported *Discharges before noon*" in told


def test_a_missed_reading_note_is_not_passed_to_a_new_lead_who_is_the_reporter_who_missed_it(
    user, slack, db, bot, clock
):
    """A lead is never told of their own missed reading, even one waiting for the lead they replace."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add_indicator(user, db, clinic_id)  # reported by OWNER
    queued_for_the_lead(bot, slack, clock, bot.services.reports)

    edit(user, slack, SPONSOR, lead=OWNER)  # the reporter takes the clinic over
    slack.wait_for(lambda _c: said_to(slack, OWNER, "made you the lead"))
    bot.services.delivery.deliver_due()

    assert said_to(slack, OWNER, "has not reported") == []  # "<@OWNER> has not reported ..." told to OWNER


def test_an_escalation_is_not_passed_to_a_new_lead_who_owns_the_overdue_action(user, slack, db, bot, clock):
    """A lead is never sent an escalation about their own action, even one waiting for the lead they replace."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    queued_for_the_lead(bot, slack, clock, bot.services.planner)

    edit(user, slack, SPONSOR, lead=OWNER)  # the owner takes the clinic over
    slack.wait_for(lambda _c: said_to(slack, OWNER, "made you the lead"))
    bot.services.delivery.deliver_due()

    assert said_to(slack, OWNER, "Needs your help") == []
