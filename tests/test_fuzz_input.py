"""Bad input, generated: any command text, any button value, any form state and malformed payloads get a
2xx with a clear message or field errors, never a 5xx, a crash report, or a partial write."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt import BoltRequest

from bot import commands
from bot.demo.driver import sign
from bot.errors import UserError
from bot.views import ids
from storage.models import Action, ActionEvent, Clinic, FocusArea, Indicator, IndicatorReading, OutboxMessage
from tests.conftest import ASSIGNER, OWNER, SIGNING_SECRET
from tests.helpers import count
from tests.test_status import add

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CRASHED = "Something went wrong"

words = st.sampled_from(
    ["add", "status", "done", "show", "snooze", "chase", "wins", "digest", "1on1", "new", "help", "settings", "by",
     "edit", "metric", "reading", " / ", "12.5%", "3,400", "45 min", "yesterday", "last friday",
     "until", "every", "overdue", "share", "on", "off", "combined", "#1", "0", "-1", "99999999999", "1e9",
     f"<@{OWNER}>", "<@U0NOBODY>", "<#C0CLINIC|clinic>", "<@>", "<#>", "nudges=2", "lead_after=-3", "x=",
     "=5", "friday", "2026-02-30", "in 9999 days", "every 0 weeks on funday"]
)  # fmt: skip
command_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(words, st.text(max_size=12)), max_size=8).map(" ".join),
    st.text(min_size=3000, max_size=5000),
)


def state_of(db) -> tuple[int, ...]:
    models = (Action, ActionEvent, Clinic, OutboxMessage, FocusArea, Indicator, IndicatorReading)
    return tuple(count(db, model) for model in models)


def crash_reports(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage() in ("listener_failed", "follow_up_failed")]


@given(command_text)
def test_the_parser_either_understands_or_says_what_it_expected(text):
    try:
        commands.parse(text)
    except UserError as exc:
        assert exc.message.strip()


@SQLITE
@FUZZ
@given(text=command_text)
def test_any_command_text_gets_an_answer_and_never_a_crash(user, slack, db, caplog, text):
    caplog.set_level(logging.WARNING)
    answer = user.command(OWNER, text)

    assert answer.status == 200
    assert CRASHED not in json.dumps(answer.body)
    assert not crash_reports(caplog)


@pytest.fixture
def one_action(user, slack, db) -> int:
    add(user, slack, ASSIGNER, OWNER, "Fuzz target", "2026-12-04")
    return db.query(Action.id).scalar()


action_ids = st.sampled_from([*ids.ACTION_BUTTONS, *ids.ESCALATION_BUTTONS, ids.EXTENSION_APPROVE,
                              ids.EXTENSION_REFUSE, ids.HOME_PAGE, ids.HOME_CLINIC_STATUS,
                              *ids.INDICATOR_BUTTONS, ids.AGENDA_DISCUSSED])  # fmt: skip
values = st.one_of(
    st.sampled_from(["", "0", "-1", "2", "99999999999999999999", "1.5", "null", "[]", "{}", "1; DROP TABLE actions"]),
    st.integers().map(str),
    st.text(max_size=50),
    st.text(min_size=2000, max_size=3000),
)


@SQLITE
@FUZZ
@given(action_id=action_ids, value=values)
def test_any_button_value_is_answered_and_changes_nothing_it_should_not(
    user, slack, db, caplog, one_action, action_id, value
):
    caplog.set_level(logging.WARNING)
    before = state_of(db)
    db.expire_all()

    answer = user.click("U0STRANGER", action_id, value)

    assert answer.status == 200
    assert state_of(db) == before  # a stranger can change nothing, whatever the value
    assert not crash_reports(caplog)


def element(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    junk = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.text(min_size=4000, max_size=5000))
    return st.fixed_dictionaries(
        {"type": st.just(kind)},
        optional={
            "value": junk,
            "selected_user": st.one_of(junk, st.sampled_from([OWNER, "U0NOBODY", "UGONE", "UROBOT"])),
            "selected_date": st.one_of(junk, st.sampled_from(["2026-12-04", "2026-02-30", "1999-01-01", "soon"])),
            "selected_conversation": junk,
            "selected_option": st.one_of(junk, st.fixed_dictionaries({"value": junk})),
        },
    )


FORMS = {
    ids.ADD_ACTION_MODAL: [
        ids.ACTION_TITLE,
        ids.ACTION_OWNER,
        ids.ACTION_DUE,
        ids.ACTION_CLINIC_AREA,
        ids.ACTION_NOTES,
    ],
    ids.NEW_CLINIC_MODAL: [
        ids.CLINIC_NAME,
        ids.CLINIC_LEAD,
        ids.CLINIC_SPONSOR,
        ids.CLINIC_CHANNEL,
        *ids.CLINIC_FOCUS,
        *ids.FOCUS_OUTCOME,
        *ids.FOCUS_WHY,
    ],
    ids.EDIT_CLINIC_MODAL: [*ids.CLINIC_FOCUS, *ids.FOCUS_OUTCOME, *ids.FOCUS_WHY],
    ids.INDICATOR_MODAL: [
        ids.INDICATOR_NAME,
        ids.INDICATOR_KIND,
        ids.INDICATOR_UNIT,
        ids.INDICATOR_DIRECTION,
        ids.INDICATOR_BASELINE,
        ids.INDICATOR_BASELINE_DATE,
        ids.INDICATOR_TARGET,
        ids.INDICATOR_TARGET_DATE,
        ids.INDICATOR_REPORTER,
        ids.INDICATOR_CADENCE,
    ],
    ids.REPORT_MODAL: [ids.READING_VALUE, ids.READING_DATE],
    ids.BLOCKED_MODAL: [ids.BLOCKED_REASON],
    ids.MORE_TIME_MODAL: [ids.NEW_DUE, ids.MORE_TIME_REASON],
    ids.EXTEND_MODAL: [ids.NEW_DUE],
    ids.REASSIGN_MODAL: [ids.NEW_OWNER],
}
kinds = st.sampled_from(["plain_text_input", "users_select", "datepicker", "static_select", "conversations_select"])


@st.composite
def submissions(draw) -> tuple[str, dict[str, Any], str]:
    callback = draw(st.sampled_from(sorted(FORMS)))
    blocks = draw(st.lists(st.sampled_from(FORMS[callback]), unique=True))
    values = {block: draw(element(draw(kinds))) for block in blocks}
    metadata = draw(
        st.one_of(
            st.just(""),
            st.just("{not json"),
            st.just(json.dumps({"action_id": "x"})),
            st.integers().map(lambda n: json.dumps({"action_id": n})),
            st.integers().map(lambda n: json.dumps({"clinic_id": n, "area_id": n, "indicator_id": n})),
            st.text(max_size=30),
        )
    )
    return callback, values, metadata


@SQLITE
@FUZZ
@given(form=submissions())
def test_any_form_state_gets_field_errors_or_a_message_and_no_partial_write(user, slack, db, caplog, form):
    caplog.set_level(logging.WARNING)
    callback, values, metadata = form
    before = state_of(db)

    answer = user.submit("U0STRANGER", callback, values, private_metadata=metadata)

    assert answer.status == 200
    assert CRASHED not in json.dumps(answer.body)
    assert not crash_reports(caplog)
    if answer.body.get("response_action") == "errors":
        assert answer.body["errors"] and all(isinstance(m, str) and m for m in answer.body["errors"].values())
        db.expire_all()
        assert state_of(db) == before


@SQLITE
@pytest.mark.parametrize(
    "body",
    [
        "payload=" + urlencode({"": json.dumps({"type": "block_actions"})})[1:],
        "payload=" + json.dumps({"type": "no_such_type"}),
        "command=%2Fclinic",
        "",
    ],
)
def test_malformed_payloads_get_a_2xx_and_change_nothing(bot, db, caplog, body):
    caplog.set_level(logging.WARNING)
    before = state_of(db)
    headers = {"content-type": "application/x-www-form-urlencoded", **sign(SIGNING_SECRET, body)}

    response = bot.bolt.dispatch(BoltRequest(body=body, headers=headers))

    assert response.status < 500
    assert state_of(db) == before
