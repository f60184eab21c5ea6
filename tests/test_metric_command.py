"""Focus areas with outcomes, indicators, and `/clinic metric`: through the real app, with signed payloads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.clinics import Area
from bot.demo.standin import text_in
from bot.demo.walk import Walk
from bot.errors import UserError
from bot.views import ids
from bot.views.text import esc
from handlers.replies import TRY_AGAIN
from storage.models import Clinic, FocusArea, Indicator, IndicatorReading
from tests.conftest import ASSIGNER, FOREIGN, LEAD, OTHER, OWNER, ROBOT, SPONSOR
from tests.helpers import count, database_down, form_as_shown, opened_view, text_of, wait_dms
from tests.test_clinics import clinic_form, register_clinic


def indicator_form(
    name="Discharges before noon",
    *,
    kind="lag",
    unit="%",
    direction="up",
    baseline="40",
    baseline_date="2026-11-20",
    target="60",
    target_date="2027-03-31",
    reporter=OWNER,
    cadence="weekly",
) -> dict:
    values = {
        ids.INDICATOR_NAME: {"type": "plain_text_input", "value": name},
        ids.INDICATOR_KIND: {"type": "static_select", "selected_option": {"value": kind}},
        ids.INDICATOR_UNIT: {"type": "plain_text_input", "value": unit},
        ids.INDICATOR_DIRECTION: {"type": "static_select", "selected_option": {"value": direction}},
        ids.INDICATOR_BASELINE: {"type": "plain_text_input", "value": baseline},
        ids.INDICATOR_BASELINE_DATE: {"type": "datepicker", "selected_date": baseline_date},
        ids.INDICATOR_TARGET: {"type": "plain_text_input", "value": target},
        ids.INDICATOR_TARGET_DATE: {"type": "datepicker", "selected_date": target_date},
        ids.INDICATOR_REPORTER: {"type": "users_select", "selected_user": reporter},
        ids.INDICATOR_CADENCE: {"type": "static_select", "selected_option": {"value": cadence}},
    }
    return values


def first_area(db, clinic_id: int) -> int:
    db.expire_all()
    return db.scalar(select(FocusArea.id).where(FocusArea.clinic_id == clinic_id).order_by(FocusArea.position))


def add_indicator(user, db, clinic_id: int, *, actor=LEAD, parent=None, **fields):
    metadata = {"area_id": first_area(db, clinic_id), "indicator_id": None, "parent": parent}
    return user.submit(actor, ids.INDICATOR_MODAL, indicator_form(**fields), private_metadata=json.dumps(metadata))


def readings(db) -> list[tuple[date, float, str]]:
    db.expire_all()
    rows = db.scalars(select(IndicatorReading).order_by(IndicatorReading.reading_date))
    return [(r.reading_date, r.value, r.reported_by) for r in rows]


@pytest.fixture
def clinic_id(user, slack, db) -> int:
    return register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)


@pytest.fixture
def indicator(user, db, clinic_id) -> Indicator:
    answer = add_indicator(user, db, clinic_id)
    assert answer.body.get("response_action") is None, answer.body
    return db.scalar(select(Indicator))


# --- registering and editing focus areas -----------------------------------------------------------


def test_registering_a_clinic_keeps_each_areas_outcome_and_why(user, slack, db):
    form = clinic_form("Flow", LEAD, SPONSOR, areas=("Weekend discharges",))
    form[ids.FOCUS_OUTCOME[0]] = {"type": "plain_text_input", "value": "60% of weekend discharges before noon"}
    form[ids.FOCUS_WHY[0]] = {"type": "plain_text_input", "value": "Monday starts with no beds"}

    answer = user.submit(LEAD, ids.NEW_CLINIC_MODAL, form)

    assert answer.body.get("response_action") is None, answer.body
    [area] = db.scalars(select(FocusArea)).all()
    assert (area.name, area.outcome, area.why) == (
        "Weekend discharges",
        "60% of weekend discharges before noon",
        "Monday starts with no beds",
    )


def test_an_outcome_without_an_area_name_gets_a_field_error(user, db):
    form = clinic_form("Flow", LEAD, SPONSOR, areas=())
    form[ids.FOCUS_OUTCOME[1]] = {"type": "plain_text_input", "value": "Fewer delays"}

    answer = user.submit(LEAD, ids.NEW_CLINIC_MODAL, form)

    assert answer.body["response_action"] == "errors"
    assert "Give focus area 2 a name" in answer.body["errors"][ids.CLINIC_FOCUS[1]]
    assert count(db, Clinic) == 0


def test_edit_opens_a_form_with_the_areas_and_buttons_to_add_indicators(user, slack, db, clinic_id):
    answer = user.command(LEAD, "edit discharge FLOW")

    assert answer.status == 200
    view = opened_view(slack)
    assert view["callback_id"] == ids.EDIT_CLINIC_MODAL
    assert json.loads(view["private_metadata"]) == {"clinic_id": clinic_id, "shown": [LEAD, SPONSOR, "C0CLINIC"]}
    name = next(b for b in view["blocks"] if b.get("block_id") == ids.CLINIC_FOCUS[0])
    assert name["element"]["initial_value"] == "Weekend discharges"
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ids.ADD_INDICATOR]
    assert "at most 4 focus areas" in json.dumps(view)
    assert len(view["blocks"]) <= 100


def test_only_the_lead_or_sponsor_may_edit_a_clinic(user, slack, db, clinic_id):
    answer = user.command(OWNER, "edit Discharge flow")

    assert "Only the lead and sponsor of Discharge flow" in answer.text
    assert slack.calls_to("views.open") == []


def test_saving_the_edit_form_renames_and_describes_areas(user, db, clinic_id):
    values = {
        ids.CLINIC_FOCUS[0]: {"type": "plain_text_input", "value": "Weekend discharges"},
        ids.FOCUS_OUTCOME[0]: {"type": "plain_text_input", "value": "Half of discharges before noon"},
        ids.FOCUS_WHY[0]: {"type": "plain_text_input", "value": "Beds for the morning take"},
        ids.CLINIC_FOCUS[1]: {"type": "plain_text_input", "value": "Pharmacy TTOs"},
    }

    answer = user.submit(SPONSOR, ids.EDIT_CLINIC_MODAL, values, private_metadata=json.dumps({"clinic_id": clinic_id}))

    assert answer.body.get("response_action") is None, answer.body
    db.expire_all()
    areas = db.scalars(select(FocusArea).order_by(FocusArea.position)).all()
    assert [(a.name, a.outcome, a.why) for a in areas] == [
        ("Weekend discharges", "Half of discharges before noon", "Beds for the morning take"),
        ("Pharmacy TTOs", None, None),
    ]


def test_a_fifth_focus_area_is_refused_with_the_reason_and_nothing_changes(bot, db, clinic_id):
    slots = [Area(f"Area {n}", outcome=f"Outcome {n}") for n in range(1, 6)]

    with pytest.raises(UserError, match="at most 4 focus areas, so that each gets real attention"):
        bot.services.clinics.edit("T0001", clinic_id, LEAD, slots)

    db.expire_all()
    assert [(a.name, a.outcome) for a in db.scalars(select(FocusArea))] == [("Weekend discharges", None)]


def test_an_area_with_indicators_cannot_be_cleared(user, db, clinic_id, indicator):
    answer = user.submit(LEAD, ids.EDIT_CLINIC_MODAL, {}, private_metadata=json.dumps({"clinic_id": clinic_id}))

    assert answer.body["response_action"] == "errors"
    assert "has 1 indicator, so it stays" in answer.body["errors"][ids.CLINIC_FOCUS[0]]
    assert count(db, FocusArea) == 1


def test_clearing_an_areas_name_in_the_edit_form_drops_it_with_its_outcome_and_why(user, slack, db):
    """The form says "Clear an area's name to drop it" and shows the outcome and why filled in: clearing
    the name alone is enough. In an empty slot, an outcome without a name is still a mistake."""
    form = clinic_form("Discharge flow", LEAD, SPONSOR, areas=("Weekend discharges", "Pharmacy TTOs"))
    form[ids.FOCUS_OUTCOME[1]] = {"type": "plain_text_input", "value": "TTOs ready by 11:00"}
    form[ids.FOCUS_WHY[1]] = {"type": "plain_text_input", "value": "Patients wait for their medicines"}
    user.submit(OTHER, ids.NEW_CLINIC_MODAL, form)
    user.command(LEAD, "edit Discharge flow")
    view = opened_view(slack)
    assert "Clear an area's name to drop it" in json.dumps(view)
    values = form_as_shown(view)
    values[ids.CLINIC_FOCUS[1]]["value"] = ""  # the second area's name cleared
    stray = {**values, ids.FOCUS_OUTCOME[2]: {"type": "plain_text_input", "value": "An outcome of no area"}}

    refused = user.submit(LEAD, ids.EDIT_CLINIC_MODAL, stray, private_metadata=view["private_metadata"])
    answer = user.submit(LEAD, ids.EDIT_CLINIC_MODAL, values, private_metadata=view["private_metadata"])

    assert "Give focus area 3 a name" in refused.body["errors"][ids.CLINIC_FOCUS[2]]
    assert answer.body.get("response_action") is None, answer.body
    db.expire_all()
    assert [a.name for a in db.scalars(select(FocusArea))] == ["Weekend discharges"]


def test_an_action_shows_the_outcome_it_serves(user, slack, db, clinic_id):
    values = {
        ids.CLINIC_FOCUS[0]: {"type": "plain_text_input", "value": "Weekend discharges"},
        ids.FOCUS_OUTCOME[0]: {"type": "plain_text_input", "value": "Half of discharges before noon"},
    }
    user.submit(LEAD, ids.EDIT_CLINIC_MODAL, values, private_metadata=json.dumps({"clinic_id": clinic_id}))
    area_id = first_area(db, clinic_id)
    answer = user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        {
            ids.ACTION_TITLE: {"type": "plain_text_input", "value": "Ring the rota team"},
            ids.ACTION_OWNER: {"type": "users_select", "selected_user": OWNER},
            ids.ACTION_DUE: {"type": "datepicker", "selected_date": "2026-12-04"},
            ids.ACTION_CLINIC_AREA: {"type": "static_select", "selected_option": {"value": f"area:{area_id}"}},
        },
    )
    assert answer.body.get("response_action") is None, answer.body

    [dm] = wait_dms(slack, OWNER)
    status = user.command(OWNER, "status")

    assert "serves: _Half of discharges before noon_" in json.dumps(dm.params["blocks"])
    assert "Discharge flow › Weekend discharges · serves: _Half of discharges before noon_" in status.text


# --- indicators ---------------------------------------------------------------------------------


def test_add_indicator_button_opens_the_indicator_form_on_top(user, slack, db, clinic_id):
    area_id = first_area(db, clinic_id)

    user.click(LEAD, ids.ADD_INDICATOR, str(area_id))

    slack.wait_for(lambda _calls: slack.calls_to("views.push"))
    view = slack.calls_to("views.push")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == ids.INDICATOR_MODAL
    assert json.loads(view["private_metadata"])["area_id"] == area_id
    assert len(view["blocks"]) == 11


@pytest.mark.parametrize("button", [ids.ADD_INDICATOR, ids.EDIT_INDICATOR])
def test_add_or_edit_in_the_edit_form_says_try_again_when_the_database_is_unreachable(
    user, slack, db, engine, indicator, button
):
    """A button in a modal has no response_url: the answer is a small form on top of the edit form."""
    value = indicator.id if button == ids.EDIT_INDICATOR else indicator.focus_area_id
    db.close()
    database_down(engine)

    user.click(LEAD, button, str(value), modal=ids.EDIT_CLINIC_MODAL)

    slack.wait_for(lambda _calls: slack.calls_to("views.push"))
    [pushed] = [c.params["view"] for c in slack.calls_to("views.push")]
    assert TRY_AGAIN in text_in(pushed)


def test_saving_an_indicator_stores_it_and_shows_the_edit_form_again(user, slack, db, clinic_id):
    answer = add_indicator(user, db, clinic_id, parent="V0PARENT")

    assert answer.body.get("response_action") is None, answer.body
    indicator = db.scalar(select(Indicator))
    assert (indicator.name, indicator.kind, indicator.unit, indicator.direction) == (
        "Discharges before noon",
        "lag",
        "%",
        "up",
    )
    assert (indicator.baseline_value, indicator.baseline_date) == (40, date(2026, 11, 20))
    assert (indicator.target_value, indicator.target_date) == (60, date(2027, 3, 31))
    assert (indicator.reporter_id, indicator.cadence, indicator.due_on) == (OWNER, "weekly", date(2026, 11, 27))
    slack.wait_for(lambda _calls: slack.calls_to("views.update"))
    update = slack.calls_to("views.update")[0].params
    assert update["view_id"] == "V0PARENT"
    assert "Discharges before noon" in json.dumps(update["view"])


def edit_form(user, slack, indicator_id: int) -> dict:  # type: ignore[no-untyped-def]
    user.click(LEAD, ids.EDIT_INDICATOR, str(indicator_id))
    slack.wait_for(lambda _calls: slack.calls_to("views.push"))
    view = slack.calls_to("views.push")[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


@pytest.mark.parametrize(("baseline", "target"), [("4.375", "2.125"), ("0.004", "0.0015"), ("1,234,567.5", "0.5")])
def test_an_edit_that_only_changes_the_cadence_keeps_the_baseline_and_target_as_typed(
    user, slack, db, clinic_id, baseline, target
):
    answer = add_indicator(user, db, clinic_id, unit="", direction="down", baseline=baseline, target=target)
    assert answer.body.get("response_action") is None, answer.body
    stored = db.scalar(select(Indicator))
    typed = (stored.baseline_value, stored.target_value)

    form = edit_form(user, slack, stored.id)
    shown = {b["block_id"]: b["element"].get("initial_value") for b in form["blocks"] if "element" in b}
    values = indicator_form(unit="", direction="down", cadence="monthly",
                            baseline=shown[ids.INDICATOR_BASELINE], target=shown[ids.INDICATOR_TARGET])  # fmt: skip
    answer = user.submit(LEAD, ids.INDICATOR_MODAL, values, private_metadata=form["private_metadata"])

    assert answer.body.get("response_action") is None, answer.body
    assert (shown[ids.INDICATOR_BASELINE], shown[ids.INDICATOR_TARGET]) == (baseline.replace(",", ""), target)
    db.expire_all()
    edited = db.scalar(select(Indicator))
    assert (edited.cadence, edited.baseline_value, edited.target_value) == ("monthly", *typed)


@pytest.mark.parametrize(
    ("fields", "block", "said"),
    [
        ({"name": "  "}, ids.INDICATOR_NAME, "Name the indicator"),
        ({"kind": "maybe"}, ids.INDICATOR_KIND, "lead or a lag"),
        ({"direction": "sideways"}, ids.INDICATOR_DIRECTION, "which way is good"),
        ({"baseline": "about forty"}, ids.INDICATOR_BASELINE, "is not a number"),
        ({"target": "30"}, ids.INDICATOR_TARGET, "target should be above the baseline (40%)"),
        ({"direction": "down"}, ids.INDICATOR_TARGET, "target should be below the baseline"),
        ({"target": "40"}, ids.INDICATOR_TARGET, "should differ from the baseline"),
        ({"baseline_date": "2026-12-01"}, ids.INDICATOR_BASELINE_DATE, "pick today or an earlier day"),
        ({"target_date": "2026-11-01"}, ids.INDICATOR_TARGET_DATE, "after the baseline"),
        ({"reporter": ROBOT}, ids.INDICATOR_REPORTER, "Bots cannot report an indicator"),
        ({"reporter": "UGONE"}, ids.INDICATOR_REPORTER, "deactivated"),
        ({"reporter": "U0NOBODY"}, ids.INDICATOR_REPORTER, "can't find that person"),
        ({"reporter": FOREIGN}, ids.INDICATOR_REPORTER, "not a member of this workspace"),
        ({"cadence": "daily"}, ids.INDICATOR_CADENCE, "weekly, fortnightly or monthly"),
        ({"unit": "per 1000"}, ids.INDICATOR_UNIT, "without numbers"),
    ],
)
def test_a_bad_indicator_form_gets_errors_on_its_fields_and_stores_nothing(user, db, clinic_id, fields, block, said):
    answer = add_indicator(user, db, clinic_id, **fields)

    assert answer.body["response_action"] == "errors"
    assert said in answer.body["errors"][block], answer.body
    assert count(db, Indicator) == 0


def test_indicator_names_are_unique_in_a_clinic_whatever_the_case(user, db, clinic_id, indicator):
    answer = add_indicator(user, db, clinic_id, name="discharges  BEFORE noon")

    assert "already has an indicator called" in answer.body["errors"][ids.INDICATOR_NAME]
    assert count(db, Indicator) == 1


def test_a_name_that_grows_when_case_folded_is_stored_and_still_unique(user, db, clinic_id):
    """ "ß" folds to "ss": an 80-character name may have a longer key than the name itself."""
    name = "Maß " + "ß" * 75

    assert add_indicator(user, db, clinic_id, name=name).body.get("response_action") is None
    answer = add_indicator(user, db, clinic_id, name=name.replace("Maß", "MAß"))

    assert "already has an indicator called" in answer.body["errors"][ids.INDICATOR_NAME]
    assert db.scalars(select(Indicator.name)).all() == [name]


def test_only_the_lead_or_sponsor_may_add_an_indicator(user, db, clinic_id):
    answer = add_indicator(user, db, clinic_id, actor=OWNER)

    assert "Only the lead and sponsor" in answer.body["errors"][ids.INDICATOR_NAME]
    assert count(db, Indicator) == 0


# --- /clinic metric ---------------------------------------------------------------------------------


def test_the_reporter_reports_a_reading_and_is_told_what_was_stored(user, db, indicator):
    answer = user.command(OWNER, "metric Discharges before noon 45%")

    assert answer.body["response_type"] == "ephemeral"
    assert "Stored *Discharges before noon* = 45% for today" in answer.text
    assert "baseline 40%" in answer.text and "target 60%" in answer.text
    assert "too few readings to say" in answer.text
    assert "25% of the way from baseline to target" in answer.text
    assert readings(db) == [(date(2026, 11, 24), 45, OWNER)]


def test_three_rising_readings_are_improving(user, db, indicator):
    user.command(OWNER, "metric discharges before noon 42 2026-11-21")
    user.command(OWNER, "metric Discharges before noon 44% yesterday")
    answer = user.command(LEAD, "metric Discharges before noon 47.5 %")

    assert "improving" in answer.text
    assert [value for _, value, _ in readings(db)] == [42, 44, 47.5]
    assert readings(db)[-1][2] == LEAD


def test_a_reading_for_a_day_with_a_two_digit_year_is_stored_for_that_year(user, db, clinic_id):
    add_indicator(user, db, clinic_id, baseline_date="2024-06-01")

    answer = user.command(OWNER, "metric Discharges before noon 45 10 Jan 25")

    assert "= 45% for Fri 10 Jan 2025" in answer.text, answer.text
    assert readings(db) == [(date(2025, 1, 10), 45, OWNER)]


def test_a_partial_name_finds_the_one_indicator_it_starts(user, db, indicator):
    answer = user.command(OWNER, "metric discharges 45")

    assert "Stored *Discharges before noon*" in answer.text


def test_a_second_reading_for_the_same_day_replaces_the_first_and_says_so(user, db, indicator):
    user.command(OWNER, "metric Discharges before noon 45")
    answer = user.command(OWNER, "metric Discharges before noon 46 today")

    assert "replaces the 45% reported earlier for that day" in answer.text
    assert readings(db) == [(date(2026, 11, 24), 46, OWNER)]


def test_numbers_with_thousands_and_units_in_words(user, db, clinic_id, indicator):
    add_indicator(user, db, clinic_id, name="Bed days lost", unit="", direction="down", baseline="5000", target="3000")
    add_indicator(
        user, db, clinic_id, name="Wait for TTOs", unit="minutes", direction="down", baseline="90", target="30"
    )

    first = user.command(OWNER, "metric Bed days lost 3,400")
    second = user.command(OWNER, "metric Wait for TTOs 45 min monday")

    assert "= 3,400 for today" in first.text
    assert "= 45 minutes for Mon 23 Nov" in second.text


def test_units_of_two_words_after_the_value_are_read_as_the_unit(user, db, clinic_id, indicator):
    add_indicator(
        user, db, clinic_id, name="Bed days lost", unit="bed days", direction="down", baseline="900", target="300"
    )

    percent = user.command(OWNER, "metric Discharges before noon 45 per cent")
    bed_days = user.command(OWNER, "metric Bed days lost 600 bed days monday")

    assert "Stored *Discharges before noon* = 45% for today" in percent.text, percent.text
    assert "Stored *Bed days lost* = 600 bed days for Mon 23 Nov" in bed_days.text, bed_days.text


def test_a_name_with_letters_that_grow_when_case_folded_reads_the_whole_value(user, db, clinic_id):
    add_indicator(user, db, clinic_id, name="Große Maßnahmen", unit="")

    answer = user.command(OWNER, "metric Große Maßnahmen 45")

    assert "Stored *Große Maßnahmen* = 45 for today" in answer.text, answer.text
    assert [value for _, value, _ in readings(db)] == [45]


def test_a_small_decimal_reading_is_shown_as_typed_not_as_zero(user, db, clinic_id):
    """A rate such as 0.004 falls per bed day: the answer, the baseline and the target say what was stored,
    not "0" or "0.01" for all three."""
    answer = add_indicator(
        user, db, clinic_id, name="Falls per bed day", unit="", direction="down", baseline="0.012", target="0.006"
    )
    assert answer.body.get("response_action") is None, answer.body

    reply = user.command(OWNER, "metric Falls per bed day 0.004")

    assert [value for _, value, _ in readings(db)] == [0.004]
    assert "= 0.004 for today" in reply.text, reply.text
    assert "baseline 0.012" in reply.text and "target 0.006" in reply.text, reply.text


def test_a_value_with_a_stray_space_in_the_report_form_is_refused_not_read_as_another_number(user, db, clinic_id):
    """In the "Report a reading" form, `42 5` (a point typed as a space) was stored as 425, with no word of
    it; spaces are read only as thousands separators, between groups of three (`1 200`)."""
    add_indicator(user, db, clinic_id)
    indicator_id = db.scalar(select(Indicator.id))

    answer = user.submit(
        OWNER,
        ids.REPORT_MODAL,
        {
            ids.READING_VALUE: {"type": "plain_text_input", "value": "42 5"},
            ids.READING_DATE: {"type": "datepicker", "selected_date": "2026-11-24"},
        },
        private_metadata=json.dumps({"indicator_id": indicator_id}),
    )

    assert readings(db) == [], f"stored {readings(db)}; the form answered {answer.body}"
    assert answer.body["response_action"] == "errors"
    assert "\u201c42 5\u201d is not a number" in answer.body["errors"][ids.READING_VALUE], answer.body


def test_a_dollar_amount_is_read_like_a_pound_amount(user, db, clinic_id):
    """`£1,200` is read for an indicator in £, and `$1,200` for one in $ the same way."""
    answer = add_indicator(
        user, db, clinic_id, name="Agency spend", unit="$", direction="down", baseline="5000", target="2000"
    )
    assert answer.body.get("response_action") is None, answer.body

    reply = user.command(OWNER, "metric Agency spend $1,200")
    shortened = user.command(OWNER, "metric agency $1,300 yesterday")

    assert "Stored *Agency spend*" in reply.text, reply.text
    assert "Stored *Agency spend* = $1,300 for Mon 23 Nov" in shortened.text, shortened.text
    assert [value for _, value, _ in readings(db)] == [1300, 1200]


@pytest.mark.parametrize(("typed", "point"), [("0,500", "0.5"), ("0,5", "0.5"), ("1,5", "1.5"), ("00,500", "0.5")])
def test_a_decimal_comma_is_refused_with_the_value_written_with_a_point(user, db, indicator, typed, point):
    """`0,500` (0.5 written the European way) was stored as 500: a comma groups thousands only after a
    leading group that does not start with 0, so it is refused, saying how to write it; `1,500` is still 1500."""
    refused = user.command(OWNER, f"metric Discharges before noon {typed}")

    assert readings(db) == [], f"stored {readings(db)}; the answer was {refused.text}"
    assert f"\u201c{typed}\u201d is not a number (use a point for decimals: {point})" in refused.text, refused.text
    assert "Nothing was stored" in refused.text, refused.text

    stored = user.command(OWNER, "metric Discharges before noon 1,500")

    assert "Stored *Discharges before noon* = 1,500% for today" in stored.text, stored.text
    assert [value for _, value, _ in readings(db)] == [1500]


def test_an_amount_in_thousands_of_pounds_is_read_with_a_k(user, db, clinic_id):
    """For an indicator in £k, `£1.2k` was refused as "not in k": the £ before the number and the k after it
    are one unit, £k, the same as `1.2 £k`. `£1,200` is still refused there (it would be £1.2m)."""
    answer = add_indicator(
        user, db, clinic_id, name="Agency spend", unit="£k", direction="down", baseline="50", target="20"
    )
    assert answer.body.get("response_action") is None, answer.body

    pounds = user.command(OWNER, "metric Agency spend £1,200")

    assert "measured in £k, not in \u201c£\u201d. Nothing was stored." in pounds.text, pounds.text
    assert readings(db) == []

    reply = user.command(OWNER, "metric Agency spend £1.2k")
    spelled = user.command(OWNER, "metric agency 1.3 £k yesterday")

    assert "Stored *Agency spend* = £1.2k for today" in reply.text, reply.text
    assert "Stored *Agency spend* = £1.3k for Mon 23 Nov" in spelled.text, spelled.text
    assert [value for _, value, _ in readings(db)] == [1.3, 1.2]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("metric Discharges before noon lots", "is not a number"),
        ("metric Discharges before noon 45 min", "measured in %, not in \u201cmin\u201d"),
        ("metric Discharges before noon 1e9", "\u201c1e9\u201d has an exponent; write the value in plain digits"),
        ("metric Discharges before noon 2.5e1 % yesterday", "write the value in plain digits: 25."),
        ("metric Discharges before noon 45 2026-12-01", "is in the future"),
        ("metric Discharges before noon 45 tomorrow", "couldn't read"),
        ("metric Discharges before noon 45 friday 23 nov", "23 Nov 2026 is a Monday, not a Friday"),
        ("metric Discharges before noon 45 2026-11-19", "before the baseline"),
        ("metric Bed occupancy 92", "There is no indicator called \u201cBed occupancy\u201d"),
        ("metric Discharges before noon", "Give the value after the name"),
        ("metric 45", "Name the indicator and give its value"),
    ],
)
def test_a_bad_reading_gets_a_clear_answer_and_nothing_is_stored(user, db, indicator, text, said):
    answer = user.command(OWNER, text)

    assert said in answer.text, answer.text
    assert "Nothing was stored" in answer.text or "Name the indicator" in said
    assert readings(db) == []


def test_a_reading_named_with_ampersands_is_read_as_typed_not_as_slack_escaped_it(user, slack, db):
    """Slack sends each typed `&` as `&amp;`: a command well within the length read, as typed, is read whole,
    however many of them its names hold."""
    clinic = ("R&D & A&E " * 10)[:99]
    indicator = ("A&E & R&D " * 8)[:79]
    add_indicator(user, db, register_clinic(user, slack, db, name=clinic), name=indicator)
    typed = f"{clinic} / {indicator} 45%"
    assert len(typed) < 300 < len(esc(typed))

    answer = user.command(OWNER, f"metric {esc(typed)}")

    assert f"Stored *{esc(indicator)}* = 45% for today" in answer.text, answer.text
    assert readings(db) == [(date(2026, 11, 24), 45, OWNER)]


def test_someone_who_neither_reports_nor_leads_may_not_report(user, db, indicator):
    answer = user.command(OTHER, "metric Discharges before noon 45")

    assert "Only whoever reports Discharges before noon, and the lead and sponsor" in answer.text
    assert "Nothing was stored" in answer.text
    assert readings(db) == []


def test_the_same_name_in_a_clinic_one_may_not_report_to_is_neither_asked_about_nor_shown(
    user, slack, db, clinic_id, indicator
):
    """A lead types the name their clinic's indicator shares with another clinic's, which is not theirs."""
    other = register_clinic(user, slack, db, lead=OTHER, sponsor=None, name="Front door", areas=("Triage",))
    add_indicator(user, db, other, actor=OTHER, reporter=OTHER)

    answer = user.command(LEAD, "metric Discharges before noon 45")

    assert "Stored" in answer.text and "Front door" not in answer.text, answer.text
    db.expire_all()
    stored = db.scalar(select(IndicatorReading))
    assert db.get(Indicator, stored.indicator_id).clinic_id == clinic_id


def test_a_longer_name_in_a_clinic_one_may_not_report_to_does_not_swallow_the_value(user, slack, db, clinic_id):
    """Another clinic's `Stranded patients 21` would take the 21 typed after one's own `Stranded patients`."""
    add_indicator(user, db, clinic_id, name="Stranded patients", unit="patients")
    other = register_clinic(user, slack, db, lead=OTHER, sponsor=None, name="Front door", areas=("Triage",))
    add_indicator(user, db, other, actor=OTHER, reporter=OTHER, name="Stranded patients 21", unit="patients")

    answer = user.command(OWNER, "metric Stranded patients 21")

    assert "Stored" in answer.text and "Front door" not in answer.text, answer.text
    assert [value for _, value, _ in readings(db)] == [21]


def test_the_same_name_in_two_clinics_is_answered_with_the_choices(user, slack, db, clinic_id, indicator):
    other = register_clinic(user, slack, db, name="Front door", areas=("Triage",))
    add_indicator(user, db, other, reporter=SPONSOR)

    ambiguous = user.command(LEAD, "metric Discharges before noon 45")
    chosen = user.command(LEAD, "metric front door / Discharges before noon 45")

    assert "Which one?" in ambiguous.text
    assert "`Discharge flow / Discharges before noon`" in ambiguous.text
    assert "`Front door / Discharges before noon`" in ambiguous.text
    assert "Front door" in chosen.text and "Stored" in chosen.text
    db.expire_all()
    stored = db.scalar(select(IndicatorReading))
    assert db.get(Indicator, stored.indicator_id).clinic_id == other


def test_a_reporter_of_one_of_two_same_named_indicators_reports_their_own(user, slack, db, clinic_id, indicator):
    other = register_clinic(user, slack, db, name="Front door", areas=("Triage",))
    add_indicator(user, db, other, reporter=SPONSOR)

    answer = user.command(OWNER, "metric Discharges before noon 45")

    assert "Discharge flow › Weekend discharges" in answer.text
    assert len(readings(db)) == 1


def test_a_clinic_named_with_a_slash_is_found_by_its_whole_name(user, slack, db):
    slashed = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Medicine / Surgery")
    other = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Front door", areas=("Triage",))
    add_indicator(user, db, slashed, reporter=SPONSOR)
    add_indicator(user, db, other, reporter=SPONSOR)

    ambiguous = user.command(LEAD, "metric Discharges before noon 45")
    chosen = user.command(LEAD, "metric Medicine / Surgery / Discharges before noon 45")
    unknown = user.command(LEAD, "metric Elsewhere / Discharges before noon 45")

    assert "`Medicine / Surgery / Discharges before noon`" in ambiguous.text
    assert "Stored *Discharges before noon*" in chosen.text and "Medicine / Surgery" in chosen.text, chosen.text
    assert "There is no clinic called \u201cElsewhere\u201d with indicators" in unknown.text
    db.expire_all()
    stored = {(db.get(Indicator, r.indicator_id).clinic_id, r.value) for r in db.scalars(select(IndicatorReading))}
    assert stored == {(slashed, 45)}


# --- asking for readings ----------------------------------------------------------------------------


def test_a_clinic_that_nudges_less_often_still_reminds_the_reporter_before_telling_the_lead(
    user, slack, db, bot, clock, clinic_id
):
    """`/clinic chase ... repeat=5` (lead after 3, the default): for a missed reading the lead was told on day 3
    that the reporter "has had a reminder", and the reminder was never sent."""
    changed = user.command(LEAD, "chase Discharge flow repeat=5")
    assert "repeat" in changed.text.lower() or "5" in changed.text, changed.text
    answer = add_indicator(user, db, clinic_id)  # weekly from Fri 20 Nov, reported by OWNER (New York)
    assert answer.body.get("response_action") is None, answer.body
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(datetime(2026, 12, 20, tzinfo=UTC))

    to_owner = [text_of(t.call) for t in walk.to(OWNER)]
    [to_lead] = walk.to(LEAD)
    reminded = any("Reminder:" in t for t in to_owner)
    told = text_of(to_lead.call)
    assert reminded, f"owner got {len(to_owner)} message(s), none a reminder; the lead was told: {told}"
    assert [t.local("America/New_York") for t in walk.to(OWNER)] == ["Fri 27 Nov 09:00", "Fri 04 Dec 09:00"]
    assert to_lead.at > walk.to(OWNER)[-1].at and "they have had a reminder" in told, told


def test_the_command_a_time_to_report_dm_suggests_records_the_reading_it_asks_for(
    user, slack, db, bot, clock, clinic_id
):
    """The reporter of two same-named indicators (one per clinic) was told in the DM to type
    `/clinic metric Discharges before noon <value>`; typing exactly that was answered "Which one?"."""
    other = register_clinic(user, slack, db, name="Front door", areas=("Triage",))
    add_indicator(user, db, clinic_id)
    add_indicator(user, db, other)
    walk = Walk(bot, slack, clock)
    walk.settle()

    walk.until(datetime(2026, 11, 27, 15, tzinfo=UTC))  # Friday 10:00 in New York: both are due

    asked = [text_of(t.call) for t in walk.to(OWNER)]
    assert len(asked) == 2 and all("Time to report" in t for t in asked), asked
    suggested = [t.split("Or type `/clinic ", 1)[1].split("`", 1)[0] for t in asked]
    replies = [user.command(OWNER, s.replace("<value>", "45")) for s in suggested]

    for suggestion, reply in zip(suggested, replies, strict=True):
        assert "Stored" in reply.text, f"the DM suggested `/clinic {suggestion}`; typing it got: {reply.text}"
    db.expire_all()
    stored = {db.get(Indicator, r.indicator_id).clinic_id for r in db.scalars(select(IndicatorReading))}
    assert stored == {clinic_id, other}
