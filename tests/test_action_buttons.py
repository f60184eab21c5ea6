"""The owner's buttons: Done, On track, Blocked (with a reason), Need more time (with a date and a reason),
and who may press them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from bot.demo.walk import Walk
from bot.views import ids
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, history_kinds, opened_view, text_of, wait_dms, wait_response
from tests.test_clinics import register_clinic
from tests.test_status import add


@pytest.fixture
def action_id(user, slack, db) -> int:
    user.command(ASSIGNER, f"add <@{OWNER}> Audit discharge letters by next friday")
    wait_dms(slack, OWNER)
    slack.reset()
    return actions_in(db)[0].id


def test_owner_marks_done_and_the_message_says_so(user, slack, db, action_id):
    answer = user.click(OWNER, ids.ACTION_DONE, str(action_id))

    assert answer.status == 200
    [update] = wait_response(slack)
    assert update.params["replace_original"] is True
    assert "marked it done" in text_of(update)
    [action] = actions_in(db)
    assert action.status == "done" and action.closed_at is not None
    assert history_kinds(db, action_id) == ["created", "status"]


def three_listed(user, slack, db) -> tuple[list[int], list[dict]]:
    for title in ("Audit discharge letters", "Call the pharmacy", "Book the audit room"):
        user.command(ASSIGNER, f"add <@{OWNER}> {title} by next friday")
    wait_dms(slack, OWNER, 3)
    slack.reset()
    shared = user.command(OWNER, "status share")
    return [a.id for a in actions_in(db)], shared.body["blocks"]


def test_done_on_a_list_changes_that_line_only_and_keeps_the_others_with_their_buttons(user, slack, db):
    (first, *others), listed = three_listed(user, slack, db)

    user.click(OWNER, ids.ACTION_DONE, str(first), channel="C0CLINIC", blocks=listed)

    [update] = wait_response(slack)
    assert update.params["replace_original"] is True
    blocks = update.params["blocks"]
    assert len(blocks) == len(listed)
    assert [b["block_id"] for b in blocks if b["type"] == "actions"] == [f"action:{n}" for n in others]
    shown = text_of(update)
    assert f"#{first}: <@{OWNER}> marked it done" in shown
    assert "Call the pharmacy" in shown and "Book the audit room" in shown
    assert actions_in(db)[0].status == "done"


def test_done_on_a_shared_clinic_status_listing_one_action_keeps_the_clinic_numbers(user, slack, db):
    """A list of one is still a list: its heading and the clinic's numbers stay, that action's line changes."""
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, LEAD, OWNER, "Audit weekend discharges", "2026-12-20", clinic_id)
    listed = user.command(LEAD, "status Discharge flow share").body["blocks"]
    [action] = actions_in(db)
    slack.reset()

    user.click(LEAD, ids.ACTION_DONE, str(action.id), channel="C0CLINIC", blocks=listed)

    [update] = wait_response(slack)
    assert update.params["replace_original"] is True
    blocks = update.params["blocks"]
    assert len(blocks) == len(listed) and blocks[:2] == listed[:2]  # the heading and the clinic's numbers
    assert f"#{action.id}: <@{LEAD}> marked it done" in text_of(update)
    assert [b for b in blocks if b["type"] == "actions"] == []
    assert actions_in(db)[0].status == "done"


def test_a_button_on_an_ephemeral_list_answers_beside_it_rather_than_replacing_it(user, slack, db):
    """Slack does not send an ephemeral message's blocks back, so the list cannot be rebuilt: it stays."""
    (first, *_others), _listed = three_listed(user, slack, db)

    user.click(OWNER, ids.ACTION_ON_TRACK, str(first), ephemeral=True)

    [answer] = wait_response(slack)
    assert answer.params["replace_original"] is False
    assert "said it is on track" in text_of(answer)


def test_a_second_button_on_a_nudge_about_several_keeps_the_other_actions_lines(user, slack, db, bot, clock):
    """README: on a nudge about several, a button changes that action's line only. After Done on the first
    item, On track on the second must not wipe the first item (and the record that it was done) away."""
    walk = Walk(bot, slack, clock)
    for title in ("Chase the pharmacy", "Book the audit room"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-11-27")
    walk.settle()
    walk.until(datetime(2026, 12, 1, tzinfo=UTC))
    nudge = slack.messages_to(OWNER)[-1]
    first, second = (a.id for a in actions_in(db))
    blocks = nudge.params["blocks"]
    assert "Chase the pharmacy" in text_of(nudge) and "Book the audit room" in text_of(nudge)
    slack.reset()

    user.click(OWNER, ids.ACTION_DONE, str(first), blocks=blocks)
    [after_first] = wait_response(slack)
    assert "Chase the pharmacy" in text_of(after_first)  # the first press keeps the list
    user.click(OWNER, ids.ACTION_ON_TRACK, str(second), blocks=after_first.params["blocks"])
    after_second = wait_response(slack, 2)[-1]

    shown = text_of(after_second)
    assert "Chase the pharmacy" in shown, shown
    assert f"#{first}: <@{OWNER}> marked it done" in shown, shown
    assert f"#{second}: <@{OWNER}> said it is on track" in shown, shown


@pytest.mark.parametrize("who", [OWNER, ASSIGNER])
def test_owner_or_assigner_can_say_on_track(user, slack, db, action_id, who):
    user.click(who, ids.ACTION_ON_TRACK, str(action_id))

    wait_response(slack)
    assert actions_in(db)[0].status == "on_track"


def test_someone_else_is_refused_politely_and_nothing_changes(user, slack, db, action_id):
    user.click(OTHER, ids.ACTION_DONE, str(action_id))

    [refusal] = wait_response(slack)
    assert refusal.params["response_type"] == "ephemeral"
    assert refusal.params.get("replace_original") is False
    assert "Only the owner" in text_of(refusal) and "Nothing was changed" in text_of(refusal)
    assert actions_in(db)[0].status == "open"
    assert history_kinds(db, action_id) == ["created"]


def test_clinic_lead_and_sponsor_may_change_actions_of_their_clinic(user, slack, db):
    from tests.test_clinics import register_clinic

    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    area = f"clinic:{clinic_id}"
    user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": "Review weekend discharges"},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-04"},
            ids.ACTION_CLINIC_AREA: {"type": "static_select", "selected_option": {"value": area}},
        },
    )
    [action] = actions_in(db)
    user.click(SPONSOR, ids.ACTION_ON_TRACK, str(action.id))
    wait_response(slack)
    assert actions_in(db)[0].status == "on_track"
    user.click(LEAD, ids.ACTION_DONE, str(action.id))
    wait_response(slack, 2)
    assert actions_in(db)[0].status == "done"


def test_blocked_asks_why_then_tells_the_assigner(user, slack, db, action_id):
    user.click(OWNER, ids.ACTION_BLOCKED, str(action_id))
    modal = opened_view(slack)
    assert modal["callback_id"] == ids.BLOCKED_MODAL

    answer = user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "Waiting for the IT access form"}},
        private_metadata=modal["private_metadata"],
    )

    assert answer.body == {} or answer.body.get("response_action") is None
    [action] = actions_in(db)
    assert action.status == "blocked" and action.blocked_reason == "Waiting for the IT access form"
    [told] = wait_dms(slack, ASSIGNER)
    assert "blocked" in text_of(told) and "Waiting for the IT access form" in text_of(told)


def test_a_long_blocked_reason_full_of_brackets_reaches_the_assigner_cut_short(user, slack, db, action_id):
    reason = ("A&E <> " * 500)[:3000]  # five times longer once escaped
    user.click(OWNER, ids.ACTION_BLOCKED, str(action_id))
    modal = opened_view(slack)

    answer = user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": reason}},
        private_metadata=modal["private_metadata"],
    )

    assert answer.body == {} or answer.body.get("response_action") is None, answer.body
    [action] = actions_in(db)
    assert action.status == "blocked" and action.blocked_reason == reason.strip()
    [told] = wait_dms(slack, ASSIGNER)
    [section] = [b["text"]["text"] for b in told.params["blocks"] if b["type"] == "section"]
    assert "A&amp;E &lt;&gt;" in section and len(section) <= 3000 and section.endswith("…_")


def test_blocked_without_a_reason_shows_the_field_error(user, slack, db, action_id):
    answer = user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "   "}},
        private_metadata=json.dumps({"action_id": action_id}),
    )

    assert answer.body["response_action"] == "errors"
    assert ids.BLOCKED_REASON in answer.body["errors"]
    assert actions_in(db)[0].status == "open"


def test_a_blocked_reason_of_only_invisible_characters_is_refused_like_an_empty_one(user, slack, db):
    """A reason that would show as blank to the assigner is no reason: refused on the field, nothing changes
    (as a title of invisible characters is)."""
    user.command(ASSIGNER, f"add <@{OWNER}> Audit discharge letters by next friday")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)

    answer = user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "\u200b\u200b\u2060"}},
        private_metadata=json.dumps({"action_id": action.id}),
    )

    assert answer.body.get("response_action") == "errors", answer.body
    assert actions_in(db)[0].status == "open"


def test_more_time_moves_the_deadline_and_tells_the_assigner_why(user, slack, db, action_id):
    user.click(OWNER, ids.ACTION_MORE_TIME, str(action_id))
    modal = opened_view(slack)

    user.submit(
        OWNER,
        ids.MORE_TIME_MODAL,
        {
            ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-18"},
            ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Audit team on leave"},
        },
        private_metadata=modal["private_metadata"],
    )

    [action] = actions_in(db)
    assert action.due_date == date(2026, 12, 18)
    assert history_kinds(db, action_id) == ["created", "deadline"]
    [told] = wait_dms(slack, ASSIGNER)
    assert "needs more time" in text_of(told) and "Fri 18 Dec" in text_of(told)
    assert "Audit team on leave" in text_of(told)


def test_a_lead_moving_the_deadline_tells_the_owner_and_the_assigner_who_moved_it(user, slack, db):
    from tests.test_clinics import register_clinic
    from tests.test_status import add

    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Review weekend discharges", "2026-12-04", clinic_id)
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    slack.reset()
    user.click(LEAD, ids.ACTION_MORE_TIME, str(action.id))

    user.submit(
        LEAD,
        ids.MORE_TIME_MODAL,
        {
            ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-18"},
            ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Audit team on leave"},
        },
        private_metadata=opened_view(slack)["private_metadata"],
    )

    [to_owner] = wait_dms(slack, OWNER)
    assert f"<@{LEAD}> moved the deadline of" in text_of(to_owner) and "Fri 18 Dec" in text_of(to_owner)
    [to_assigner] = wait_dms(slack, ASSIGNER)
    assert f"<@{LEAD}> moved the deadline of" in text_of(to_assigner) and "needs more time" not in text_of(to_assigner)


def test_the_owner_hears_when_someone_else_marks_their_action_done(user, slack, db, action_id):
    user.click(ASSIGNER, ids.ACTION_DONE, str(action_id))

    [told] = wait_dms(slack, OWNER)
    assert f"<@{ASSIGNER}> marked" in text_of(told) and "as done" in text_of(told)
    assert slack.messages_to(ASSIGNER) == []  # who pressed it is answered in place, not by DM


@pytest.mark.parametrize(
    ("picked", "error"),
    [
        ("2026-11-01", "in the past"),
        ("2026-12-01", "after the current deadline"),
        ("2099-12-04", "Fri 4 Dec 2099 is more than 5 years away"),
        (None, "Pick the new date"),
    ],
)
def test_more_time_with_a_bad_date_shows_the_field_error(user, db, action_id, picked, error):
    values = {ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Leave"}}
    if picked:
        values[ids.NEW_DUE] = {"type": "datepicker", "selected_date": picked}

    answer = user.submit(OWNER, ids.MORE_TIME_MODAL, values, private_metadata=json.dumps({"action_id": action_id}))

    assert answer.body["response_action"] == "errors"
    assert error in answer.body["errors"][ids.NEW_DUE]
    assert actions_in(db)[0].due_date == date(2026, 12, 4)


def test_a_button_for_an_unknown_action_gets_a_clear_answer(user, slack, db, action_id):
    user.click(OWNER, ids.ACTION_DONE, "99999")

    [reply] = wait_response(slack)
    assert "no action #99999" in text_of(reply)
    assert actions_in(db)[0].status == "open"


def test_history_button_shows_every_change(user, slack, db, action_id):
    user.click(OWNER, ids.ACTION_ON_TRACK, str(action_id))
    wait_response(slack)

    user.click(ASSIGNER, ids.ACTION_HISTORY, str(action_id))
    view = opened_view(slack)

    shown = json.dumps(view)
    assert "created it" in shown and "set it on track" in shown


def test_a_lead_and_a_sponsor_deciding_at_once_make_one_decision(user, slack, db, bot, clock, engine):
    """Two people may answer a request for more time (the lead and the sponsor): pressed at the same moment,
    one decision must win and the other be told it was already decided. Never both: a deadline moved by the
    approval while the request is recorded as refused, and the refusal in the history too."""
    import contextlib
    import threading

    from sqlalchemy import event, select

    from storage.models import ExtensionRequest
    from tests.test_escalation_tools import ask_for_more_time, escalate

    walk, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    [request] = db.scalars(select(ExtensionRequest)).all()
    walk.settle()
    deciders = {"approve", "refuse"}
    both_read = threading.Barrier(2)

    def hold_after_reading(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        # Both presses read the request before either writes, as two requests served at once can.
        if threading.current_thread().name in deciders and "FROM extension_requests" in statement:
            with contextlib.suppress(threading.BrokenBarrierError):  # the database made one wait: no race
                both_read.wait(timeout=3)

    event.listen(engine, "after_cursor_execute", hold_after_reading)
    presses = [
        threading.Thread(name="approve", target=user.click, args=(LEAD, ids.EXTENSION_APPROVE, str(request.id))),
        threading.Thread(name="refuse", target=user.click, args=(SPONSOR, ids.EXTENSION_REFUSE, str(request.id))),
    ]
    for press in presses:
        press.start()
    for press in presses:
        press.join()
    event.remove(engine, "after_cursor_execute", hold_after_reading)
    wait_response(slack, 2)

    db.expire_all()
    state = db.scalar(select(ExtensionRequest.state))
    kinds = history_kinds(db, action_id)
    moved = actions_in(db)[0].due_date == date(2026, 12, 18)
    assert ("deadline" in kinds) + ("extension_refused" in kinds) == 1, (state, kinds)
    assert moved == (state == "approved"), (state, moved)


def test_a_new_owner_is_told_who_handed_the_action_to_them(user, slack, db, bot, clock):
    """Reassigned by the lead, the new owner's DM must say the lead passed it to them; it must not say that
    whoever first assigned it (to someone else) gave it to them."""
    from tests.test_escalation_tools import escalate, reassign

    walk, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    reassign(user, slack, action_id, OTHER)
    walk.settle()

    [told] = [text_of(c) for c in slack.messages_to(OTHER)]
    assert f"<@{LEAD}>" in told, told
    assert f"<@{ASSIGNER}> gave you" not in told, told


def test_the_assigner_hears_when_the_lead_approves_the_owners_request_for_more_time(user, slack, db, bot, clock):
    """README: Need more time tells the assigner, with the reason. Once escalated the lead approves the date
    instead, but the deadline still moves: whoever assigned the action must hear the new date, as they do
    when the owner or the lead moves it with the same button."""
    from sqlalchemy import select

    from storage.models import ExtensionRequest
    from tests.test_escalation_tools import ask_for_more_time, escalate

    walk, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    before = len(slack.messages_to(ASSIGNER))
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    [request] = db.scalars(select(ExtensionRequest)).all()
    user.click(LEAD, ids.EXTENSION_APPROVE, str(request.id))
    wait_response(slack)
    walk.settle()

    assert actions_in(db)[0].due_date == date(2026, 12, 18)
    told = [text_of(c) for c in slack.messages_to(ASSIGNER)[before:]]
    assert any("Fri 18 Dec" in t for t in told), told


def test_once_escalated_on_track_then_need_more_time_still_waits_for_the_lead(user, slack, db, bot, clock):
    """README: once an action has been escalated, the owner's Need more time goes to the lead and the deadline
    moves only on approval. Pressing On track first (an update that restarts the chase) must not let the owner
    move their own deadline past the lead a minute later."""
    from datetime import timedelta

    from sqlalchemy import select

    from storage.models import ExtensionRequest
    from tests.test_escalation_tools import ask_for_more_time, escalate

    walk, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    assert actions_in(db)[0].lead_escalated_at is not None
    user.click(OWNER, ids.ACTION_ON_TRACK, str(action_id))
    wait_response(slack)
    clock.advance(timedelta(minutes=2))
    walk.settle()
    walk.run()  # the next scheduler pass
    assert history_kinds(db, action_id)[-1] == "status"

    answer = ask_for_more_time(user, slack, action_id, "2026-12-31")

    assert actions_in(db)[0].due_date == date(2026, 11, 27), "the owner moved an escalated deadline unapproved"
    assert answer.body.get("response_action") == "update", answer.body
    assert len(db.scalars(select(ExtensionRequest)).all()) == 1


def test_an_escalation_left_out_after_an_owners_update_leaves_need_more_time_to_the_owner(user, slack, db, bot, clock):
    """The lead's escalation waits for the owner's nudge, which waits for the owner's morning; the owner
    presses On track first, so neither goes out. The lead was never told: Need more time moves the deadline."""
    from datetime import timedelta

    from tests.test_escalation_tools import ask_for_more_time

    walk = Walk(bot, slack, clock)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", register_clinic(user, slack, db))
    walk.settle()
    [action] = actions_in(db)
    user.command(OWNER, f"snooze {action.id} until 2026-12-02")
    walk.settle()
    # The snooze ends at midnight in New York: at 09:00 in London the lead's escalation is decided, to go
    # out after the owner's nudge at 09:00 in New York (14:00 in London).
    walk.until(datetime(2026, 12, 2, 10, tzinfo=UTC), step=timedelta(minutes=15))
    assert actions_in(db)[0].lead_escalated_at is not None
    user.click(OWNER, ids.ACTION_ON_TRACK, str(action.id))
    wait_response(slack)
    walk.until(datetime(2026, 12, 2, 15, tzinfo=UTC), step=timedelta(minutes=15))
    assert not [t for t in walk.to(LEAD) if "Audit weekend discharges" in text_of(t.call)]

    ask_for_more_time(user, slack, action.id, "2026-12-31")

    assert actions_in(db)[0].due_date == date(2026, 12, 31)
