"""Action text is not a clinical record: NHS numbers, dates of birth and local record numbers are refused
with an explanation wherever people write, and nothing is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import create_app
from bot.clock import FixedClock
from bot.demo.driver import SlackDriver
from bot.patient_data import PatientData, valid_nhs_number
from bot.views import ids
from storage.db import make_session_factory
from storage.models import Action, ActionEvent
from tests.conftest import ASSIGNER, OWNER, SIGNING_SECRET, START
from tests.helpers import actions_in, count, history_kinds, text_of, wait_dms, wait_response
from tests.test_status import add

NHS_EXAMPLE = "943 476 5919"  # the NHS's own example of a valid number


def test_the_nhs_check_digit():
    assert valid_nhs_number("9434765919")
    assert not valid_nhs_number("9434765918")
    assert not valid_nhs_number("943476591")


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9))
def test_exactly_one_check_digit_validates_nine_digits_unless_none_can(nine):
    stem = "".join(map(str, nine))
    valid = [d for d in range(10) if valid_nhs_number(stem + str(d))]
    total = sum(n * w for n, w in zip(nine, range(10, 1, -1), strict=True))
    assert valid == ([] if 11 - total % 11 == 10 else [(11 - total % 11) % 11])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"Call about {NHS_EXAMPLE} before discharge", "an NHS number"),
        ("Chase 943-476-5919", "an NHS number"),
        ("Discharge letter NHS-943 476 5919", "an NHS number"),
        ("Letter for 9434765919-discharged", "an NHS number"),
        ("Call about 943\u00a0476\u00a05919", "an NHS number"),  # no-break spaces, pasted from a web page
        ("Call about 943\u202f476\u20075919", "an NHS number"),  # narrow no-break and figure spaces
        ("Jane\u00a0Smith 3\u00a0March\u00a01950", "a date of birth"),
        ("DOB 12/03/1954, needs transport", "a date of birth"),
        ("Mrs Jane Smith 12/03/1954 awaiting TTOs", "a date of birth"),
        ("Jane Smith (3 March 1950)", "a date of birth"),
        ("Transport home, DOB 12-Mar-1954", "a date of birth"),  # dates as NHS systems display them
        ("SMITH, Jane 12/03/1954 awaiting TTOs", "a date of birth"),  # and names
        ("O'BRIEN, Mary-Ann (3-Mar-1950)", "a date of birth"),
        ("Audit 12 discharges by 04/12/2026", None),
        ("Board Round 04/12/2026 with the ward", None),
        ("Close the points raised at Quality Committee 15 December 2025", None),  # under a year back
        ("Jane Smith 25/11/2025", None),  # a day short of a year back
        ("Jane Smith 24/11/2025", "a date of birth"),  # a year back to the day
        ("Ward 7 bed 12, case ref W7-118", None),
        ("Board Round 12-Dec-2026 with the ward", None),
        ("Minutes of MDT 12-Mar-2024 filed", None),
        ("ICU, Ward 7 bed 12 by 04-Dec-2026", None),
        ("Ring 0207 946 0958 (switchboard)", None),
        ("Ring 0207\u00a0946\u00a00958 (switchboard)", None),
        ("Review the 1234567890 batch", None),
        ("Order 1-943-476-5919 from stores", None),  # part of a longer number
        ("Order 943-476-5919-2 from stores", None),
    ],
)
def test_what_counts_as_patient_data(text, found):
    assert PatientData(FixedClock(START)).found_in(text) == found


def submit_action(user, title: str, notes: str = ""):  # type: ignore[no-untyped-def]
    values = {
        ids.ACTION_TITLE: {"type": "plain_text_input", "value": title},
        ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
        ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2027-01-20"},
    }
    if notes:
        values[ids.ACTION_NOTES] = {"type": "plain_text_input", "value": notes}
    return user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, values)


def test_a_meeting_held_last_month_is_not_taken_for_a_date_of_birth_in_january(user, db, clock):
    """A date after a capitalised name is a date of birth only when it is at least a year back, not when it
    merely falls in last calendar year."""
    clock.set(datetime(2027, 1, 6, 10, tzinfo=UTC))

    answer = submit_action(user, "Actions from Board Round 04/12/2026")

    assert answer.body.get("response_action") is None, answer.body
    assert [a.title for a in actions_in(db)] == ["Actions from Board Round 04/12/2026"]


def test_a_date_less_than_a_year_back_after_a_name_is_not_a_date_of_birth(user, db):
    answer = submit_action(user, "Close the points raised at Quality Committee 15 December 2025")

    assert answer.body.get("response_action") is None, answer.body
    assert count(db, Action) == 1


@pytest.mark.parametrize("notes", ["Transport home, DOB 12-Mar-1954", "SMITH, Jane 12/03/1954 awaiting TTOs"])
def test_a_date_of_birth_in_the_nhs_display_formats_is_refused(user, db, notes):
    answer = submit_action(user, "Transport for bay 4", notes=notes)

    assert "date of birth" in answer.body["errors"][ids.ACTION_NOTES]
    assert count(db, Action) == 0


def test_an_nhs_number_with_a_hyphen_before_it_is_refused(user, db):
    answer = submit_action(user, f"Discharge letter NHS-{NHS_EXAMPLE}")

    assert "looks like an NHS number" in answer.body["errors"][ids.ACTION_TITLE]
    assert count(db, Action) == 0


def test_a_title_with_an_nhs_number_is_refused_on_the_field_and_nothing_is_stored(user, db):
    answer = user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": f"Discharge letter for {NHS_EXAMPLE}"},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-04"},
        },
    )

    assert answer.body["response_action"] == "errors"
    assert "looks like an NHS number" in answer.body["errors"][ids.ACTION_TITLE]
    assert "local reference" in answer.body["errors"][ids.ACTION_TITLE]
    assert count(db, Action) == 0


def test_notes_with_a_date_of_birth_are_refused_on_the_notes_field(user, db):
    answer = user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": "Transport for bay 4"},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-04"},
            ids.ACTION_NOTES: {"type": "plain_text_input", "value": "Patient DOB 01/02/1940"},
        },
    )

    assert "date of birth" in answer.body["errors"][ids.ACTION_NOTES]
    assert count(db, Action) == 0


def test_a_one_line_add_with_an_nhs_number_says_why_and_adds_nothing(user, slack, db):
    user.command(ASSIGNER, f"add <@{OWNER}> Chase pharmacy for {NHS_EXAMPLE} by friday")

    [reply] = wait_response(slack)
    assert "looks like an NHS number" in text_of(reply) and "Nothing was added" in text_of(reply)
    assert count(db, Action) == 0
    assert slack.messages_to(OWNER) == []


def test_a_local_record_number_pattern_is_refused_in_a_blocked_reason(settings, engine, slack, db):
    local = settings.model_copy(update={"patient_id_patterns": [r"\bRX\d{7}\b"]})
    bot = create_app(local, session_factory=make_session_factory(engine), clock=FixedClock(START))
    user = SlackDriver(bot.bolt, SIGNING_SECRET, slack.response_url())
    try:
        add(user, slack, ASSIGNER, OWNER, "Transport for bay 4", "2026-12-04")
        [action] = actions_in(db)

        answer = user.submit(
            OWNER,
            ids.BLOCKED_MODAL,
            {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "Waiting on RX1234567's bloods"}},
            private_metadata=json.dumps({"action_id": action.id}),
        )

        assert "patient record number" in answer.body["errors"][ids.BLOCKED_REASON]
        assert actions_in(db)[0].status == "open"
        assert history_kinds(db, action.id) == ["created"]
    finally:
        bot.close()


def test_a_dm_reply_with_patient_data_is_not_kept_and_the_person_is_told_why(user, slack, db, bot):
    add(user, slack, ASSIGNER, OWNER, "Transport for bay 4", "2026-12-04")
    wait_dms(slack, OWNER)
    thread_ts = "1764000001.000100"  # the stand-in's first message
    events_before = count(db, ActionEvent)

    user.dm_reply(OWNER, "D" + OWNER, thread_ts, f"Done for {NHS_EXAMPLE}", event_id="EvPATIENT")

    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral")))
    [told] = slack.calls_to("chat.postEphemeral")
    assert told.params["user"] == OWNER and told.params["thread_ts"] == thread_ts
    assert "didn't keep that" in told.params["text"] and "NHS number" in told.params["text"]
    assert count(db, ActionEvent) == events_before

    user.dm_reply(OWNER, "D" + OWNER, thread_ts, f"Done for {NHS_EXAMPLE}", event_id="EvPATIENT", retry=1)
    user.dm_reply(OWNER, "D" + OWNER, thread_ts, "Booked the transport")  # the same thread, no patient data
    slack.wait_for(lambda _c: bool(slack.calls_to("reactions.add")))
    assert count(db, ActionEvent) == events_before + 1
    assert len(slack.calls_to("chat.postEphemeral")) == 1  # Slack's redelivery brought no second explanation


def test_an_nhs_number_pasted_with_no_break_spaces_in_a_dm_reply_is_not_kept(user, slack, db, bot):
    add(user, slack, ASSIGNER, OWNER, "Transport for bay 4", "2026-12-04")
    wait_dms(slack, OWNER)
    thread_ts = "1764000001.000100"  # the stand-in's first message
    events_before = count(db, ActionEvent)

    user.dm_reply(OWNER, "D" + OWNER, thread_ts, "Done for 943\u00a0476\u00a05919", event_id="EvNBSP")

    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral") or slack.calls_to("reactions.add")))
    assert count(db, ActionEvent) == events_before
    assert "NHS number" in slack.calls_to("chat.postEphemeral")[0].params["text"]
