"""The clinic method's pure rules: trend verdicts, reading values and units, when readings are asked for."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserError
from bot.indicators import (
    LEAD,
    REMIND,
    Reading,
    ReportState,
    decide_reports,
    first_due,
    read_number,
    read_value,
    show_value,
    trend,
    typed_value,
    verdict,
)
from bot.working_time import WorkingHours

D = date(2026, 11, 2)


def weekly(*values: float) -> list[Reading]:
    return [Reading(D + timedelta(weeks=n), v) for n, v in enumerate(values)]


# --- verdicts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("readings", [[], weekly(50)])
def test_fewer_than_two_readings_are_too_few_to_say(readings):
    assert verdict("up", readings, baseline=40) == "too few readings to say"
    assert trend("up", readings, 40, 60).verdict == "too few readings to say"


def test_rising_readings_improve_when_up_is_good_and_worsen_when_down_is_good():
    assert verdict("up", weekly(42, 45, 49), baseline=40, target=60) == "improving"
    assert verdict("down", weekly(42, 45, 49), baseline=60, target=40) == "worsening"


def test_falling_readings_improve_when_down_is_good():
    assert verdict("down", weekly(55, 50, 46), baseline=60, target=40) == "improving"


def test_a_change_within_five_percent_of_the_gap_to_target_is_flat():
    # gap 20: tolerance 1; the line through 45, 45.5, 45.8 moves 0.8
    assert verdict("up", weekly(45, 45.5, 45.8), baseline=40, target=60) == "flat"
    assert verdict("up", weekly(45, 46.5, 47.5), baseline=40, target=60) == "improving"


def test_a_zig_zag_is_flat_but_a_steady_fall_is_not():
    assert verdict("up", weekly(45, 52, 45), baseline=40, target=60) == "flat"
    assert verdict("up", weekly(52, 48, 44), baseline=40, target=60) == "worsening"


def test_only_the_last_three_readings_count():
    assert verdict("up", weekly(10, 20, 30, 30, 30, 30), baseline=10, target=50) == "flat"


def test_readings_are_taken_in_date_order_whatever_order_they_come_in():
    shuffled = list(reversed(weekly(42, 45, 49)))
    assert verdict("up", shuffled, baseline=40, target=60) == "improving"


def test_without_a_target_the_tolerance_is_five_percent_of_the_baseline():
    assert verdict("down", weekly(100, 99), baseline=100) == "flat"
    assert verdict("down", weekly(100, 90), baseline=100) == "improving"
    assert verdict("up", weekly(0, 1), baseline=0) == "improving"  # a zero baseline: any change counts


def test_trend_says_latest_previous_change_and_progress_to_target():
    result = trend("up", weekly(42, 45, 50), 40, 60)

    assert result.latest == Reading(D + timedelta(weeks=2), 50)
    assert result.previous == Reading(D + timedelta(weeks=1), 45)
    assert result.change == 5
    assert result.progress_to_target == pytest.approx(0.5)
    assert result.readings == 3


def test_progress_goes_negative_when_the_indicator_moved_the_wrong_way():
    assert trend("down", weekly(70), 60, 40).progress_to_target == pytest.approx(-0.5)


@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=8),
    st.sampled_from(["up", "down"]),
)
def test_up_and_down_always_disagree_unless_flat_or_too_few(values, direction):
    readings = weekly(*values)
    other = "down" if direction == "up" else "up"
    mine, theirs = verdict(direction, readings, 0, 100), verdict(other, readings, 0, 100)
    if mine in ("flat", "too few readings to say"):
        assert theirs == mine
    else:
        assert {mine, theirs} == {"improving", "worsening"}


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "unit", "value"),
    [
        ("12", "%", 12),
        ("12.5%", "%", 12.5),
        ("12.5 %", "%", 12.5),
        ("12.5 percent", "%", 12.5),
        ("3,400", "", 3400),
        ("45 min", "minutes", 45),
        ("45mins", "minutes", 45),
        ("2 hours", "hours", 2),
        ("-3", "days", -3),
        ("7 patients", "patients", 7),
        ("7 patient", "patients", 7),
        ("£1,200", "£", 1200),
        ("$1,200", "$", 1200),
        ("-€40", "€", -40),
        ("1200 USD", "$", 1200),
        ("- 1200", "", -1200),
        ("- 1,200", "", -1200),
        ("12 500", "", 12500),
        ("1,500", "", 1500),
        ("£1.2k", "£k", 1.2),
        ("-£1.2K", "£k", -1.2),
        ("€3k", "€k", 3),
        ("1.2 £k", "£k", 1.2),
        ("£1,200 GBP", "£", 1200),
    ],
)
def test_values_are_read_as_people_type_them(typed, unit, value):
    assert read_value(typed, unit) == value


@pytest.mark.parametrize(
    ("typed", "unit", "said"),
    [
        ("lots", "%", "is not a number"),
        ("3,4", "", "use a point for decimals"),
        ("0,500", "", "use a point for decimals: 0.5)"),
        ("0,5", "", "use a point for decimals: 0.5)"),
        ("1,5", "", "use a point for decimals: 1.5)"),
        ("-0,250", "", "use a point for decimals: -0.25)"),
        ("0 500", "", "use a point for decimals: 0.5)"),
        ("12..5", "%", "is not a number"),
        ("", "%", "as a number"),
        ("45 min", "%", "measured in %, not in \u201cmin\u201d"),
        ("45%", "minutes", "measured in minutes"),
        ("12 beds", "", "as a plain number, without a unit"),
        ("$1,200", "£", "measured in £, not in \u201c$\u201d"),
        ("£1,200", "€", "measured in €, not in \u201c£\u201d"),
        ("£1,200", "£k", "measured in £k, not in \u201c£\u201d"),
        ("£1.2k", "£", "measured in £, not in \u201c£k\u201d"),
        ("£1.2k", "€k", "measured in €k, not in \u201c£k\u201d"),
        ("1.2k", "", "as a plain number, without a unit"),
        ("1.2k", "patients", "measured in patients, not in \u201ck\u201d"),
        ("£1,200 USD", "$", "measured in $, not in \u201c£USD\u201d"),
        ("1e99", "", "too large"),  # not "measured ... not in e99"
        ("9999999999999", "", "too large"),
    ],
)
def test_a_bad_value_or_a_unit_that_contradicts_the_indicator_is_refused(typed, unit, said):
    with pytest.raises(UserError, match=re.escape(said)) as caught:
        read_value(typed, unit)
    assert caught.value.field == "value"


def test_values_are_shown_with_their_unit():
    assert show_value(12.5, "%") == "12.5%"
    assert show_value(3400, "") == "3,400"
    assert show_value(45, "minutes") == "45 minutes"


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [(1234.5, "£", "£1,234.5"), (1.2, "£k", "£1.2k"), (-40, "$ per bed day", "-$40 per bed day"), (3, "€m", "€3m")],
)
def test_a_sum_of_money_is_shown_with_its_sign_before_it(value, unit, shown):
    assert show_value(value, unit) == shown


@pytest.mark.parametrize(("value", "shown"), [(99.996, "99.996%"), (99.9999, "99.9999%"), (12.004, "12.004%")])
def test_a_value_just_short_of_a_whole_number_is_not_shown_as_it(value, shown):
    """A target of 100% not yet met must not read as met."""
    assert show_value(value, "%") == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.004, "0.004"), (0.012, "0.012"), (0.5, "0.5"), (0.1234, "0.123"), (-0.0015, "-0.0015"), (1e-7, "0.0000001")],
)
def test_a_value_under_one_keeps_its_significant_digits(value, shown):
    assert show_value(value, "") == shown


@pytest.mark.parametrize(("typed", "value"), [("1 200", 1200), ("12 500", 12500), ("-1 234 567.5", -1234567.5)])
def test_spaces_that_group_thousands_are_read_as_thousands(typed, value):
    assert read_number(typed, "value") == value
    assert read_value(typed, "") == value


@pytest.mark.parametrize(
    ("typed", "unit", "said"),
    [
        ("1e9", "", "\u201c1e9\u201d has an exponent; write the value in plain digits: 1000000000."),
        ("2.5E-3 %", "%", "\u201c2.5E-3\u201d has an exponent; write the value in plain digits: 0.0025."),
        ("-1e+3", "patients", "write the value in plain digits: -1000."),
        ("£1e3", "£", "write the value in plain digits: 1000."),
        ("1e-30", "", "\u201c1e-30\u201d has an exponent; write the value in plain digits."),
        ("1e12", "", "The value is too large to be a reading."),
        ("1e999", "", "The value is too large to be a reading."),
    ],
)
def test_a_value_written_with_an_exponent_is_refused_as_such_not_as_a_wrong_unit(typed, unit, said):
    """`1e9` was read as 1 in the unit "e9", and refused for that unit: the person hears what they wrote."""
    with pytest.raises(UserError) as caught:
        read_value(typed, unit)
    assert said in caught.value.message and "not in" not in caught.value.message
    assert caught.value.field == "value"


@pytest.mark.parametrize("typed", ["42 5", "12 50", "1 2", "1200 000", "1 20 000", "1 200.5 5"])
def test_a_space_that_does_not_group_thousands_is_not_read_as_part_of_the_number(typed):
    with pytest.raises(UserError, match="is not a number"):
        read_value(typed, "")


@given(st.floats(min_value=-1e12, max_value=1e12, exclude_max=True, exclude_min=True, allow_subnormal=False))
def test_a_value_written_back_into_a_form_reads_as_the_same_value(value):
    text = typed_value(value)
    assert read_number(text, "value") == value
    assert "," not in text and "e" not in text


def test_a_value_is_written_back_as_stored_not_rounded():
    assert [typed_value(v) for v in (4.375, 0.004, 1234567.5, 40.0, -2.0, 1e-7)] == [
        "4.375", "0.004", "1234567.5", "40", "-2", "0.0000001"
    ]  # fmt: skip


# --- when readings are due and chased ---------------------------------------------------------------

HOURS = WorkingHours()


def state(step: int = 0, due_on: date = date(2026, 11, 27)) -> ReportState:
    return ReportState(due_on, "UREP", "America/New_York", "ULEAD", "Europe/London", step)


def test_the_next_reading_is_due_one_cadence_after_the_latest_but_never_before_today():
    today = date(2026, 11, 24)
    assert first_due("weekly", date(2026, 11, 20), None, today) == date(2026, 11, 27)
    assert first_due("fortnightly", date(2026, 11, 20), None, today) == date(2026, 12, 4)
    assert first_due("monthly", date(2026, 10, 31), None, today) == date(2026, 11, 30)
    assert first_due("weekly", date(2026, 9, 1), None, today) == today
    assert first_due("weekly", date(2026, 9, 1), date(2026, 11, 23), today) == date(2026, 11, 30)


def test_asking_reminding_and_telling_the_lead_come_in_order_in_each_ones_working_hours():
    at = datetime(2026, 11, 27, 13, 59, tzinfo=UTC)  # 08:59 in New York on the day it is due
    assert decide_reports(state(), at, HOURS, remind_after=2, lead_after=3).steps == []

    ask = decide_reports(state(), at + timedelta(minutes=1), HOURS, remind_after=2, lead_after=3)
    assert [s.kind for s in ask.steps] == ["ask"]
    assert ask.next_check == datetime(2026, 12, 1, 14, tzinfo=UTC)  # Tuesday 09:00 in New York

    remind = decide_reports(state(ask.step), ask.next_check, HOURS, remind_after=2, lead_after=3)
    assert [s.kind for s in remind.steps] == ["remind"]
    assert remind.next_check == datetime(2026, 12, 2, 9, tzinfo=UTC)  # Wednesday 09:00 in London

    lead = decide_reports(state(remind.step), remind.next_check, HOURS, remind_after=2, lead_after=3)
    assert [(s.kind, s.recipient) for s in lead.steps] == [("lead", "ULEAD")]
    assert lead.step == LEAD and lead.next_check is None


def test_after_downtime_the_reporter_gets_one_catch_up_and_the_lead_is_told_once():
    late = datetime(2026, 12, 10, 15, tzinfo=UTC)
    decision = decide_reports(state(), late, HOURS, remind_after=2, lead_after=3)

    assert [s.kind for s in decision.steps] == ["remind", "lead"]
    assert decide_reports(state(decision.step), late, HOURS, remind_after=2, lead_after=3).steps == []


def test_the_lead_is_told_only_after_the_reporter_was_reminded_however_far_apart_reminders_are():
    ask = decide_reports(state(), datetime(2026, 11, 27, 14, tzinfo=UTC), HOURS, remind_after=5, lead_after=3)
    assert ask.next_check == datetime(2026, 12, 4, 14, tzinfo=UTC)  # Friday 09:00 in New York: the reminder

    remind = decide_reports(state(ask.step), ask.next_check, HOURS, remind_after=5, lead_after=3)
    assert [s.kind for s in remind.steps] == ["remind"]
    assert remind.next_check == datetime(2026, 12, 7, 9, tzinfo=UTC)  # the working day after, in London

    lead = decide_reports(state(remind.step), remind.next_check, HOURS, remind_after=5, lead_after=3)
    assert [(s.kind, s.recipient) for s in lead.steps] == [("lead", "ULEAD")]


def test_a_reporter_who_is_the_lead_is_not_told_about_themselves():
    own = ReportState(date(2026, 11, 27), "ULEAD", "Europe/London", "ULEAD", "Europe/London", REMIND)
    assert decide_reports(own, datetime(2026, 12, 20, tzinfo=UTC), HOURS, remind_after=2, lead_after=3).steps == []


def test_a_reading_due_on_a_saturday_is_asked_for_on_monday_morning():
    saturday = state(due_on=date(2026, 11, 28))
    decision = decide_reports(saturday, datetime(2026, 11, 30, 14, tzinfo=UTC), HOURS, remind_after=2, lead_after=3)
    assert [s.due_at for s in decision.steps] == [datetime(2026, 11, 30, 14, tzinfo=UTC)]
