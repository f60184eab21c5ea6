"""Who may do what: every role against every state-changing operation and every way of seeing actions.
Allowed means the database changed as asked; refused means nothing changed and the person was told."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select

from bot.demo.driver import SlackDriver
from bot.views import ids
from storage.models import Action, Clinic, ExtensionRequest
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SIGNING_SECRET, SPONSOR
from tests.helpers import actions_in, text_of, wait_response
from tests.test_clinics import register_clinic
from tests.test_status import add

FOREIGN = "UFOREIGN"  # a user of another workspace, with a correctly signed request
ROLES = {"owner": OWNER, "assigner": ASSIGNER, "lead": LEAD, "sponsor": SPONSOR, "member": OTHER, "foreign": FOREIGN}
CHANGERS = {"owner", "assigner", "lead", "sponsor"}
LEADERS = {"assigner", "lead", "sponsor"}
CLINIC_LEADERS = {"lead", "sponsor"}


@pytest.fixture
def world(user, slack, db, bot):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-12-04", clinic_id)
    [action] = actions_in(db)
    slack.add_user(FOREIGN, name="Fay Foreign", team_id="T0OTHER")
    slack.reset()
    return action.id


def driver_for(role: str, user: SlackDriver, bot, slack) -> SlackDriver:
    if role == "foreign":
        return SlackDriver(bot.bolt, SIGNING_SECRET, slack.response_url("foreign"), team_id="T0OTHER")
    return user


def action_now(db, action_id: int) -> Action:
    db.expire_all()
    return db.get(Action, action_id)


# Each operation: what the person does, and how to tell from the database that it happened.
Operation = tuple[Callable[[SlackDriver, str, int], object], Callable[[Action], bool], set[str]]


def click(action_id_name: str) -> Callable[[SlackDriver, str, int], object]:
    return lambda driver, who, action_id: driver.click(who, action_id_name, str(action_id))


def submit(callback: str, values: dict) -> Callable[[SlackDriver, str, int], object]:
    return lambda driver, who, action_id: driver.submit(
        who, callback, values, private_metadata=json.dumps({"action_id": action_id})
    )


OPERATIONS: dict[str, Operation] = {
    "done button": (click(ids.ACTION_DONE), lambda a: a.status == "done", CHANGERS),
    "on track button": (click(ids.ACTION_ON_TRACK), lambda a: a.status == "on_track", CHANGERS),
    "blocked with a reason": (
        submit(ids.BLOCKED_MODAL, {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "No rota yet"}}),
        lambda a: a.status == "blocked",
        CHANGERS,
    ),
    "more time": (
        submit(
            ids.MORE_TIME_MODAL,
            {
                ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-18"},
                ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Leave"},
            },
        ),
        lambda a: a.due_date == date(2026, 12, 18),
        CHANGERS,
    ),
    "extend deadline": (
        submit(ids.EXTEND_MODAL, {ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-18"}}),
        lambda a: a.due_date == date(2026, 12, 18),
        LEADERS,
    ),
    "reassign": (
        submit(ids.REASSIGN_MODAL, {ids.NEW_OWNER: {"type": "users_select", "selected_user": OTHER}}),
        lambda a: a.owner_id == OTHER,
        LEADERS,
    ),
    "cancel": (
        lambda driver, who, action_id: driver.command(who, f"cancel {action_id} no longer needed"),
        lambda a: a.status == "cancelled",
        LEADERS,
    ),
    "done command": (
        lambda driver, who, action_id: driver.command(who, f"done {action_id}"),
        lambda a: a.status == "done",
        CHANGERS,
    ),
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_who_may_change_an_action(user, slack, db, bot, world, role, operation):
    do, happened, allowed = OPERATIONS[operation]
    before = action_now(db, world)
    assert not happened(before)

    answer = do(driver_for(role, user, bot, slack), ROLES[role], world)

    assert answer.status == 200
    after = action_now(db, world)
    if role in allowed:
        assert happened(after), f"{role} should be able to: {operation}"
    else:
        assert not happened(after), f"{role} must not be able to: {operation}"
        assert (after.status, after.due_date, after.owner_id) == (before.status, before.due_date, before.owner_id)
        # A command or a form answers at once; a button's answer comes after the ack.
        told = json.dumps(answer.body) if answer.body else text_of(wait_response(slack)[0])
        # (From another workspace, a form naming a new owner is refused for them first: not a member there.)
        refusals = ("Nothing was changed", "There is no action", "not a member of this workspace")
        assert any(refusal in told for refusal in refusals), told


@pytest.mark.parametrize("role", sorted(ROLES))
def test_who_may_decide_on_a_request_for_more_time(user, slack, db, bot, world, role):
    with bot.services.sessions.begin() as session:  # the action has been escalated to the lead
        session.get(Action, world).escalated_at = bot.services.clock.now()
    user.submit(
        OWNER,
        ids.MORE_TIME_MODAL,
        {
            ids.NEW_DUE: {"type": "datepicker", "selected_date": "2026-12-18"},
            ids.MORE_TIME_REASON: {"type": "plain_text_input", "value": "Leave"},
        },
        private_metadata=json.dumps({"action_id": world}),
    )
    request_id = db.scalar(select(ExtensionRequest.id))
    assert action_now(db, world).due_date == date(2026, 12, 4)

    driver_for(role, user, bot, slack).click(ROLES[role], ids.EXTENSION_APPROVE, str(request_id))
    wait_response(slack)

    moved = action_now(db, world).due_date == date(2026, 12, 18)
    assert moved == (role in LEADERS), role


@pytest.mark.parametrize("role", sorted(ROLES))
def test_who_may_change_how_a_clinic_is_chased_and_celebrated(user, slack, db, bot, world, role):
    driver = driver_for(role, user, bot, slack)

    driver.command(ROLES[role], "chase Discharge flow nudges=1")
    driver.command(ROLES[role], "wins Discharge flow off")

    db.expire_all()
    clinic = db.scalar(select(Clinic))
    changed = (clinic.chase_overrides or {}).get("owner_nudges") == 1, clinic.celebrate_wins is False
    assert changed == ((True, True) if role in CLINIC_LEADERS else (False, False)), role


@pytest.mark.parametrize("role", sorted(ROLES))
def test_who_may_see_an_action_in_status_and_history(user, slack, db, bot, world, role):
    driver = driver_for(role, user, bot, slack)

    seen = json.dumps(driver.command(ROLES[role], f"status <@{OWNER}>").body)
    seen += json.dumps(driver.command(ROLES[role], f"show {world}").body)

    may_see = role in CHANGERS
    assert ("Audit weekend discharges" in seen) == may_see, role
    if not may_see:
        assert "Audit weekend discharges" not in seen


@pytest.mark.parametrize("role", sorted(ROLES))
def test_who_may_change_focus_areas_and_indicators_and_report_readings(user, slack, db, bot, world, role):
    from storage.models import FocusArea, Indicator, IndicatorReading
    from tests.test_metric_command import add_indicator

    clinic_id = db.scalar(select(Clinic.id))
    add_indicator(user, db, clinic_id, reporter=OWNER)  # by the lead
    driver = driver_for(role, user, bot, slack)
    who = ROLES[role]

    driver.submit(
        who,
        ids.EDIT_CLINIC_MODAL,
        {
            ids.CLINIC_FOCUS[0]: {"type": "plain_text_input", "value": "Weekend discharges"},
            ids.FOCUS_OUTCOME[0]: {"type": "plain_text_input", "value": f"Outcome by {role}"},
        },
        private_metadata=json.dumps({"clinic_id": clinic_id}),
    )
    add_indicator(driver, db, clinic_id, actor=who, name=f"Added by {role}")
    driver.command(who, "metric Discharges before noon 45")

    db.expire_all()
    outcome = db.scalar(select(FocusArea.outcome))
    added = db.scalar(select(Indicator).where(Indicator.name == f"Added by {role}"))
    reported = db.scalar(select(IndicatorReading))
    assert (outcome == f"Outcome by {role}") == (role in CLINIC_LEADERS), role
    assert (added is not None) == (role in CLINIC_LEADERS), role
    assert (reported is not None) == (role in {"owner", "lead", "sponsor"}), role  # the owner reports it
