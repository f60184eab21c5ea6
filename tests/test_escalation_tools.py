"""What a lead can do with an escalation, an owner's request for more time once escalated, snoozing,
and a message that cannot be delivered."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.escalation import NUDGE_AGAIN_AFTER
from bot.views import ids
from storage.models import ActionEvent, AgendaItem, ExtensionRequest, OutboxMessage
from tests.conftest import ASSIGNER, FOREIGN, GONE, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, at_once, buttons_of, history_kinds, opened_view, text_of, wait_response
from tests.test_clinics import register_clinic
from tests.test_status import add


def escalate(user, slack, db, bot, clock, assigner: str):  # type: ignore[no-untyped-def]
    """An action in a clinic, assigned by `assigner`, ignored until its lead has been told (Wed 2 Dec)."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, assigner, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    walk.settle()
    walk.until(datetime(2026, 12, 2, 10, tzinfo=UTC))
    assert walk.to(LEAD), "the lead should have been told"
    walk.settle()
    return walk, actions_in(db)[0].id


@pytest.fixture
def escalated(user, slack, db, bot, clock):
    return escalate(user, slack, db, bot, clock, ASSIGNER)


def test_nudge_again_reaches_the_owner_at_once(user, slack, db, escalated):
    _, action_id = escalated

    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id), channel="DULEAD")

    [reply] = wait_response(slack)
    assert "I've nudged" in text_of(reply)
    slack.wait_for(lambda _c: any(f"<@{LEAD}> asked me to check" in text_of(c) for c in slack.messages_to(OWNER)))
    assert history_kinds(db, action_id)[-1] == "nudged"


def test_nudge_again_pressed_twice_nudges_the_owner_once(user, slack, db, escalated, clock):
    walk, action_id = escalated
    walk.settle()
    before = len(slack.messages_to(OWNER))

    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))
    clock.advance(timedelta(milliseconds=300))  # a double click
    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))

    replies = [text_of(r) for r in wait_response(slack, 2)]
    walk.settle()
    assert any(r.startswith("I've nudged") for r in replies), replies
    assert any("I nudged them a moment ago" in r for r in replies), replies
    nudges = [c for c in slack.messages_to(OWNER)[before:] if "asked me to check" in text_of(c)]
    assert len(nudges) == 1
    assert history_kinds(db, action_id).count("nudged") == 1

    clock.advance(NUDGE_AGAIN_AFTER)  # a while later, it is a nudge again
    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))

    assert text_of(wait_response(slack, 3)[-1]).startswith("I've nudged")
    assert history_kinds(db, action_id).count("nudged") == 2


def test_nudge_again_pressed_twice_at_the_same_moment_nudges_the_owner_once(user, slack, db, escalated, clock, engine):
    """A double click can reach two servers at once: each must not find the owner un-nudged and nudge them."""
    walk, action_id = escalated
    before = len(slack.messages_to(OWNER))

    def press() -> None:
        user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))

    at_once(engine, "action_events", press, press, between=lambda: clock.advance(timedelta(milliseconds=300)))

    replies = [text_of(r) for r in wait_response(slack, 2)]
    walk.settle()
    nudges = [c for c in slack.messages_to(OWNER)[before:] if "asked me to check" in text_of(c)]
    assert len(nudges) == 1, replies
    assert history_kinds(db, action_id).count("nudged") == 1
    assert sum("I nudged them a moment ago" in r for r in replies) == 1, replies


def test_nudge_again_right_after_a_reassignment_nudges_the_new_owner(user, slack, db, escalated, clock):
    _, action_id = escalated
    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))
    wait_response(slack)
    clock.advance(timedelta(minutes=1))
    reassign(user, slack, action_id, OTHER)
    clock.advance(timedelta(minutes=1))

    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))

    assert text_of(wait_response(slack, 2)[-1]).startswith("I've nudged")
    slack.wait_for(lambda _c: any("asked me to check" in text_of(c) for c in slack.messages_to(OTHER)))
    assert history_kinds(db, action_id).count("nudged") == 2


def test_only_the_lead_side_may_use_the_escalation_buttons(user, slack, db, escalated):
    _, action_id = escalated

    user.click(OTHER, ids.ESCALATION_NUDGE, str(action_id))
    user.click(OWNER, ids.ESCALATION_AGENDA, str(action_id))

    replies = wait_response(slack, 2)
    assert all("Nothing was changed" in text_of(r) for r in replies)
    assert history_kinds(db, action_id) == ["created"]


def test_extend_moves_the_deadline_and_tells_the_owner_with_the_leads_note(user, slack, db, escalated):
    _, action_id = escalated
    user.click(LEAD, ids.ESCALATION_EXTEND, str(action_id))
    modal = opened_view(slack)
    note = "Take the extra week for the night shifts"

    answer = user.submit(
        LEAD,
        ids.EXTEND_MODAL,
        {
            ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-11"},
            ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": note},
        },
        private_metadata=modal["private_metadata"],
    )

    assert any(b.get("label", {}).get("text") == "Note for the owner" for b in modal["blocks"])
    assert answer.body.get("response_action") is None
    assert actions_in(db)[0].due_date == date(2026, 12, 11)
    slack.wait_for(lambda _c: any("moved the deadline" in text_of(c) for c in slack.messages_to(OWNER)))
    [told] = [text_of(c) for c in slack.messages_to(OWNER) if "moved the deadline" in text_of(c)]
    assert note in told, told


def test_a_deadline_moved_without_a_note_reads_without_an_empty_quote_in_the_history(user, slack, db, escalated):
    _, action_id = escalated
    extend(user, slack, action_id, "2026-12-11")

    shown = user.command(LEAD, f"show {action_id}").text

    assert "moved the deadline from 2026-11-27 to 2026-12-11\n" in shown + "\n", shown
    assert "__" not in shown


def test_reassign_gives_it_to_someone_else_who_is_told(user, slack, db, escalated):
    _, action_id = escalated
    user.click(LEAD, ids.ESCALATION_REASSIGN, str(action_id))
    modal = opened_view(slack)

    refused = user.submit(
        LEAD,
        ids.REASSIGN_MODAL,
        {ids.NEW_OWNER: {"type": "users_select", "selected_user": GONE}},
        private_metadata=modal["private_metadata"],
    )
    outsider = user.submit(
        LEAD,
        ids.REASSIGN_MODAL,
        {ids.NEW_OWNER: {"type": "users_select", "selected_user": FOREIGN}},
        private_metadata=modal["private_metadata"],
    )
    user.submit(
        LEAD,
        ids.REASSIGN_MODAL,
        {ids.NEW_OWNER: {"type": "users_select", "selected_user": OTHER}},
        private_metadata=modal["private_metadata"],
    )

    assert "deactivated" in refused.body["errors"][ids.NEW_OWNER]
    assert "not a member of this workspace" in outsider.body["errors"][ids.NEW_OWNER]
    assert slack.messages_to(FOREIGN) == []
    assert actions_in(db)[0].owner_id == OTHER
    slack.wait_for(lambda _c: any("Audit weekend discharges" in text_of(c) for c in slack.messages_to(OTHER)))
    slack.wait_for(lambda _c: any("passed" in text_of(c) for c in slack.messages_to(OWNER)))
    assert history_kinds(db, action_id)[-1] == "reassigned"


def test_add_to_next_one_to_one_once(user, slack, db, escalated):
    _, action_id = escalated

    user.click(LEAD, ids.ESCALATION_AGENDA, str(action_id))
    user.click(LEAD, ids.ESCALATION_AGENDA, str(action_id))

    replies = sorted(text_of(r) for r in wait_response(slack, 2))  # the two answers may cross
    assert replies[0].startswith("Added") and "already" in replies[1]
    [item] = db.scalars(select(AgendaItem)).all()
    assert (item.lead_id, item.person_id, item.action_id) == (LEAD, OWNER, action_id)


def test_add_to_next_one_to_one_pressed_twice_at_the_same_moment_adds_it_once(user, slack, db, escalated, engine):
    _, action_id = escalated

    def press() -> None:
        user.click(LEAD, ids.ESCALATION_AGENDA, str(action_id))

    at_once(engine, "agenda_items", press, press)

    replies = sorted(text_of(r) for r in wait_response(slack, 2))
    assert len(db.scalars(select(AgendaItem)).all()) == 1
    assert replies[0].startswith("Added") and "already" in replies[1], replies
    assert history_kinds(db, action_id).count("agenda") == 1


def test_reassign_submitted_twice_at_the_same_moment_hands_it_over_coherently(user, slack, db, escalated, engine):
    """Two Reassign forms submitted at once (two tabs, or the lead and the sponsor), to different people: each
    hand-over must start from whoever owns it then, so that the history, the owner and what people were told
    agree; or one is refused, and its form says why."""
    walk, action_id = escalated
    user.click(LEAD, ids.ESCALATION_REASSIGN, str(action_id))
    metadata = opened_view(slack)["private_metadata"]

    told_before = {p: len(slack.messages_to(p)) for p in (OWNER, OTHER, ASSIGNER)}

    def reassign_to(new_owner: str):  # type: ignore[no-untyped-def]
        def submit():  # type: ignore[no-untyped-def]
            picked = {ids.NEW_OWNER: {"type": "users_select", "selected_user": new_owner}}
            return user.submit(LEAD, ids.REASSIGN_MODAL, picked, private_metadata=metadata)

        return submit

    answers = at_once(engine, "actions", reassign_to(OTHER), reassign_to(ASSIGNER))

    walk.settle()
    db.expire_all()
    moves = [
        (e.detail["from"], e.detail["to"])
        for e in db.scalars(
            select(ActionEvent)
            .where(ActionEvent.kind == "reassigned", ActionEvent.action_id == action_id)
            .order_by(ActionEvent.id)
        )
    ]
    refused = [a.body["errors"][ids.NEW_OWNER] for a in answers if a.body.get("response_action") == "errors"]
    assert len(moves) + len(refused) == 2, (moves, refused)
    assert [frm for frm, _ in moves] == [OWNER, *(new for _, new in moves[:-1])], moves
    assert actions_in(db)[0].owner_id == moves[-1][1]
    told = {p: [text_of(c) for c in slack.messages_to(p)[n:]] for p, n in told_before.items()}
    for frm, new in moves:  # each was told it passed on, to whom, and each new owner that it is theirs
        assert any("passed" in t and f"<@{new}>" in t for t in told[frm]), (frm, told[frm])
        assert any("Audit weekend discharges" in t and "passed" not in t for t in told[new]), (new, told[new])


def test_an_action_on_the_next_one_to_one_moves_to_the_new_owners_when_reassigned(user, slack, db, escalated):
    _, action_id = escalated
    user.click(LEAD, ids.ESCALATION_AGENDA, str(action_id))
    reassign(user, slack, action_id, OTHER)

    assert "You put these on the agenda" in user.command(LEAD, f"1on1 <@{OTHER}>").text
    assert "You put these on the agenda" not in user.command(LEAD, f"1on1 <@{OWNER}>").text
    [item] = db.scalars(select(AgendaItem)).all()
    assert (item.person_id, item.action_id) == (OTHER, action_id)


def test_a_closed_action_is_not_put_on_the_next_one_to_one(user, slack, db, escalated):
    """Its escalation still shows the button, but an agenda lists open actions only: it would never come up."""
    _, action_id = escalated
    user.click(OWNER, ids.ACTION_DONE, str(action_id))
    answered = len(wait_response(slack))

    user.click(LEAD, ids.ESCALATION_AGENDA, str(action_id))

    reply = wait_response(slack, answered + 1)[-1]
    assert f"#{action_id} is already done" in text_of(reply)
    assert db.scalars(select(AgendaItem)).all() == []


def extend(user, slack, action_id: int, day: str):  # type: ignore[no-untyped-def]
    """The lead presses Extend deadline on the escalation and picks `day`."""
    opened = len(slack.calls_to("views.open"))
    user.click(LEAD, ids.ESCALATION_EXTEND, str(action_id))
    return user.submit(
        LEAD,
        ids.EXTEND_MODAL,
        {ids.NEW_DUE: {"type": "datepicker", "selected_date": day}},
        private_metadata=opened_view(slack, opened + 1)["private_metadata"],
    )


@pytest.mark.parametrize("asked_by", ["lead", "owner"])
def test_a_new_deadline_years_off_is_refused_on_the_field_and_nothing_changes(user, slack, db, escalated, asked_by):
    """Extend deadline, and the owner's request once escalated, take no date beyond the horizon that
    `/clinic add` and the add form keep: the lead is never asked to approve 2099."""
    _, action_id = escalated
    slack.reset()

    if asked_by == "lead":
        answer = extend(user, slack, action_id, "2099-12-11")
    else:
        answer = ask_for_more_time(user, slack, action_id, "2099-12-11")

    assert "Fri 11 Dec 2099 is more than 5 years away" in answer.body["errors"][ids.NEW_DUE], answer.body
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    assert history_kinds(db, action_id) == ["created"]
    assert db.scalars(select(ExtensionRequest)).all() == []
    assert slack.messages_to(OWNER) == [] and slack.messages_to(LEAD) == []


def reassign(user, slack, action_id: int, to: str, by: str = LEAD):  # type: ignore[no-untyped-def]
    """The lead (or `by`) presses Reassign on the escalation and picks `to`."""
    opened = len(slack.calls_to("views.open"))
    user.click(by, ids.ESCALATION_REASSIGN, str(action_id))
    return user.submit(
        by,
        ids.REASSIGN_MODAL,
        {ids.NEW_OWNER: {"type": "users_select", "selected_user": to}},
        private_metadata=opened_view(slack, opened + 1)["private_metadata"],
    )


def ask_for_more_time(user, slack, action_id: int, day: str, who: str = OWNER):
    return user.submit(
        who,
        ids.MORE_TIME_MODAL,
        {
            ids.NEW_DUE: {"type": "datepicker", "selected_date": day},
            ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Waiting for the audit tool"},
        },
        private_metadata=json.dumps({"action_id": action_id}),
    )


@pytest.mark.parametrize(("button", "moved"), [(ids.EXTENSION_APPROVE, True), (ids.EXTENSION_REFUSE, False)])
def test_more_time_during_escalation_waits_for_the_lead(user, slack, db, escalated, button, moved):
    _, action_id = escalated

    answer = ask_for_more_time(user, slack, action_id, "2026-12-18")

    assert answer.body["response_action"] == "update" and "asked" in json.dumps(answer.body["view"])
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    slack.wait_for(lambda _c: any("asks for more time" in text_of(c) for c in slack.messages_to(LEAD)))
    [request] = db.scalars(select(ExtensionRequest)).all()

    user.click(LEAD, button, str(request.id))

    wait_response(slack)
    assert actions_in(db)[0].due_date == (date(2026, 12, 18) if moved else date(2026, 11, 27))
    word = "approved" if moved else "did not approve"
    slack.wait_for(lambda _c: any(word in text_of(c) for c in slack.messages_to(OWNER)))


@pytest.mark.parametrize("day", ["2026-12-11", "2026-12-18"])
def test_more_time_during_escalation_must_be_after_the_current_deadline(user, slack, db, escalated, day):
    """The lead has moved the deadline to 18 Dec: a request for that day or earlier could never be approved,
    so the form refuses it as it does before an escalation, and the lead is not asked."""
    _, action_id = escalated
    extend(user, slack, action_id, "2026-12-18")
    slack.reset()

    answer = ask_for_more_time(user, slack, action_id, day)

    assert "must be after the current deadline" in answer.body["errors"][ids.NEW_DUE]
    assert actions_in(db)[0].due_date == date(2026, 12, 18)
    assert db.scalars(select(ExtensionRequest)).all() == []
    assert not any("asks for more time" in text_of(c) for c in slack.messages_to(LEAD))


def test_a_request_the_leads_new_deadline_already_grants_is_settled_and_the_owner_may_ask_again(
    user, slack, db, escalated
):
    _, action_id = escalated
    ask_for_more_time(user, slack, action_id, "2026-12-11")
    [request] = db.scalars(select(ExtensionRequest)).all()
    extend(user, slack, action_id, "2026-12-18")
    slack.reset()

    user.click(LEAD, ids.EXTENSION_APPROVE, str(request.id))
    again = ask_for_more_time(user, slack, action_id, "2026-12-24")

    assert "already approved" in text_of(wait_response(slack)[0])
    # The lead's new deadline settled the escalation too: until it is escalated again, the date is the owner's.
    assert "errors" not in again.body, again.body
    db.expire_all()
    assert [(r.new_date, r.state) for r in db.scalars(select(ExtensionRequest))] == [(date(2026, 12, 11), "approved")]
    assert actions_in(db)[0].due_date == date(2026, 12, 24)


def test_an_owner_who_assigned_their_own_action_cannot_approve_their_own_request(user, slack, db, bot, clock):
    """Once escalated, the owner's request waits for the lead; as its assigner, the owner is not the lead."""
    _, action_id = escalate(user, slack, db, bot, clock, OWNER)
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    [request] = db.scalars(select(ExtensionRequest)).all()

    user.click(OWNER, ids.EXTENSION_APPROVE, str(request.id))
    user.click(OWNER, ids.ESCALATION_EXTEND, str(action_id))

    assert all("Nothing was changed" in text_of(r) for r in wait_response(slack, 2))
    assert slack.calls_to("views.open") == []
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    db.expire_all()
    assert db.scalar(select(ExtensionRequest.state)) == "pending"


def test_asking_again_for_more_time_waits_for_the_leads_answer_too(user, slack, db, escalated):
    """The first request counts as the owner's update, so the next pass starts a new chase cycle: the
    second request must still not move the deadline past the lead."""
    walk, action_id = escalated
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    walk.until(datetime(2026, 12, 2, 10, 30, tzinfo=UTC))

    answer = ask_for_more_time(user, slack, action_id, "2026-12-31")

    assert "has not answered yet" in answer.body["errors"][ids.NEW_DUE]
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    assert len(db.scalars(select(ExtensionRequest)).all()) == 1


def test_reassigning_withdraws_the_old_owners_request_for_more_time(user, slack, db, escalated):
    """The new owner asked for nothing: a late Approve must not move their deadline behind their back, nor
    send the old owner buttons for an action that is no longer theirs."""
    walk, action_id = escalated
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    [request] = db.scalars(select(ExtensionRequest)).all()
    reassign(user, slack, action_id, OTHER)
    walk.settle()
    [away] = [c for c in slack.messages_to(OWNER) if "passed" in text_of(c)]
    told = len(slack.messages_to(OWNER)) + len(slack.messages_to(OTHER))

    user.click(LEAD, ids.EXTENSION_APPROVE, str(request.id))

    assert f"already withdrawn: #{action_id} was reassigned" in text_of(wait_response(slack)[-1])
    walk.settle()
    assert "request for more time" in text_of(away) and buttons_of(away) == []
    assert len(slack.messages_to(OWNER)) + len(slack.messages_to(OTHER)) == told
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    db.expire_all()
    assert db.scalar(select(ExtensionRequest.state)) == "withdrawn"
    # The new owner starts afresh: the escalation was about the old owner, so their own date needs no approval.
    ask_for_more_time(user, slack, action_id, "2026-12-18", OTHER)
    assert actions_in(db)[0].due_date == date(2026, 12, 18)


def test_approving_a_request_whose_date_has_passed_lets_the_owner_ask_again(user, slack, db, escalated):
    """There is no date to pick on a button: the lead hears the date passed, the owner that they may ask again."""
    walk, action_id = escalated  # Wed 2 Dec
    ask_for_more_time(user, slack, action_id, "2026-12-04")
    [request] = db.scalars(select(ExtensionRequest)).all()
    walk.until(datetime(2026, 12, 7, 15, tzinfo=UTC))  # the lead gets to it on Monday
    walk.settle()
    told = len(slack.messages_to(OWNER))

    user.click(LEAD, ids.EXTENSION_APPROVE, str(request.id))

    answer = text_of(wait_response(slack)[-1])
    assert "Fri 4 Dec, the date asked for, has passed" in answer and "Extend deadline" in answer, answer
    walk.settle()
    [lapsed] = slack.messages_to(OWNER)[told:]
    assert "ask again" in text_of(lapsed) and "Need more time" in buttons_of(lapsed)
    assert actions_in(db)[0].due_date == date(2026, 11, 27)
    assert "asked" in json.dumps(ask_for_more_time(user, slack, action_id, "2026-12-18").body.get("view"))


def test_a_request_whose_date_has_passed_does_not_stop_the_owner_asking_again(user, slack, db, escalated):
    walk, action_id = escalated  # Wed 2 Dec
    ask_for_more_time(user, slack, action_id, "2026-12-04")
    walk.until(datetime(2026, 12, 7, 15, tzinfo=UTC))  # no answer from the lead by Monday

    again = ask_for_more_time(user, slack, action_id, "2026-12-18")

    assert "asked" in json.dumps(again.body.get("view")), again.body
    db.expire_all()
    assert sorted((r.new_date, r.state) for r in db.scalars(select(ExtensionRequest))) == [
        (date(2026, 12, 4), "lapsed"),
        (date(2026, 12, 18), "pending"),
    ]


def test_snooze_silences_reminders_until_the_date(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    add(user, slack, ASSIGNER, OWNER, "Snooze me", "2026-11-27")
    walk.settle()
    [action] = actions_in(db)

    answer = user.command(OWNER, f"snooze {action.id} until 7 Dec")
    walk.until(datetime(2026, 12, 8, 15, tzinfo=UTC))

    assert "No reminders" in answer.text
    assert [t.local("America/New_York") for t in walk.to(OWNER)] == ["Mon 07 Dec 09:00"]


def test_an_undeliverable_nudge_is_recorded_and_the_lead_is_told_once(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Unreachable", "2026-11-27", 1)
    walk.settle()
    slack.add_user(OWNER, name="Olu Owner", tz="America/New_York", deleted=True)  # deactivated since

    walk.until(datetime(2026, 11, 27, tzinfo=UTC))

    failed = db.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed")).all()
    assert [m.last_error for m in failed] == ["account_inactive"]
    notices = [c for c in slack.messages_to(LEAD) if "couldn't reach" in text_of(c)]
    assert len(notices) == 1 and "deactivated" in text_of(notices[0])

    # The notice's Reassign opens the lead's form, and the action goes to someone who can do it.
    assert "Reassign #1" in buttons_of(notices[0])
    reassign(user, slack, 1, OTHER)
    assert actions_in(db)[0].owner_id == OTHER


def test_an_undeliverable_nudge_about_several_actions_tells_the_lead_about_them_at_once(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    for title in ("Unreachable one", "Unreachable two"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-11-27", 1)
    walk.settle()
    slack.add_user(OWNER, name="Olu Owner", tz="America/New_York", deleted=True)

    walk.until(datetime(2026, 11, 27, tzinfo=UTC))

    [failed] = db.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed")).all()
    assert failed.action_id is None and len(failed.payload["items"]) == 2  # one message about both
    [notice] = [text_of(c) for c in slack.messages_to(LEAD) if "couldn't reach" in text_of(c)]
    assert "about 2 actions: their Slack account is deactivated" in notice
    assert "*#1 Unreachable one*" in notice and "*#2 Unreachable two*" in notice

    # A reply in its thread is noted on the action it names, as under a nudge about several.
    sent = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "delivery_failed"))
    [told] = [m for m in sent if m.recipient == LEAD]
    assert told.action_ids == [1, 2]
    user.dm_reply(LEAD, told.sent_channel, told.sent_ts, "#2 goes to the deputy instead", event_id="EvLEAD")
    slack.wait_for(lambda _c: bool(slack.calls_to("reactions.add")))
    assert history_kinds(db, 1).count("note") == 0
    assert history_kinds(db, 2).count("note") == 1


def test_an_escalation_the_departed_lead_cannot_receive_is_told_to_the_sponsor_once(user, slack, db, bot, clock):
    """The lead assigned the action themselves, then left: neither lead nor assigner can hear of it."""
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, LEAD, OWNER, "Chase the pharmacy", "2026-11-27", clinic_id)
    walk.settle()
    slack.add_user(LEAD, name="Lee Lead", tz="Europe/London", deleted=True)  # deactivated since

    walk.until(datetime(2026, 12, 5, tzinfo=UTC))  # the owner stays silent; the lead's escalation is due

    failed = db.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed", OutboxMessage.kind == "chase"))
    assert [(m.recipient, m.last_error) for m in failed] == [(LEAD, "account_inactive")]
    notices = [text_of(c) for c in slack.messages_to(SPONSOR) if "couldn't reach" in text_of(c)]
    assert len(notices) == 1
    assert f"<@{LEAD}>" in notices[0] and "Chase the pharmacy" in notices[0] and "deactivated" in notices[0]


def test_the_sponsor_hears_when_the_lead_was_never_reached_not_that_they_did_nothing(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Chase the pharmacy", "2026-11-27", clinic_id)
    walk.settle()
    slack.add_user(LEAD, name="Lee Lead", tz="Europe/London", deleted=True)

    walk.until(datetime(2026, 12, 9, tzinfo=UTC))

    [escalation] = [t for t in walk.to(SPONSOR) if "Escalated to you" in text_of(t.call)]
    shown = text_of(escalation.call)
    assert "didn't reach the lead" in shown and "deactivated" in shown
    assert "has not acted" not in shown


def test_the_sponsor_hears_what_the_lead_did(user, slack, db, escalated):
    walk, action_id = escalated
    user.click(LEAD, ids.ESCALATION_NUDGE, str(action_id))
    wait_response(slack)
    walk.settle()

    walk.until(datetime(2026, 12, 9, tzinfo=UTC))

    [to_sponsor] = walk.to(SPONSOR)
    assert "What the lead did: nudged the owner again" in text_of(to_sponsor.call)


def test_an_escalation_after_a_reassignment_does_not_call_the_handover_an_update(user, slack, db, escalated):
    walk, action_id = escalated
    user.click(LEAD, ids.ESCALATION_REASSIGN, str(action_id))
    modal = opened_view(slack)
    user.submit(
        LEAD,
        ids.REASSIGN_MODAL,
        {ids.NEW_OWNER: {"type": "users_select", "selected_user": OTHER}},
        private_metadata=modal["private_metadata"],
    )
    told_before = len(walk.to(LEAD))

    walk.until(datetime(2026, 12, 12, tzinfo=UTC))

    later = [text_of(t.call) for t in walk.to(LEAD)[told_before:] if f"<@{OTHER}>" in text_of(t.call)]
    assert later, "the lead should hear that the new owner has not answered either"
    assert "last update from the owner" not in later[0]
    assert "reassigned to them Wed 2 Dec, no update from them since" in later[0]
