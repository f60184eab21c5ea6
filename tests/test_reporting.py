"""Reporters asked for readings on their cadence, over simulated weeks: in their own working hours, dropped
when the reading came in meanwhile, reminded and then the lead told when one is missed, each exactly once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.views import ids
from storage.models import Indicator, IndicatorReading, OutboxMessage
from tests.conftest import LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import buttons_of, opened_view, text_of
from tests.test_clinics import register_clinic
from tests.test_metric_command import add_indicator, indicator_form


@pytest.fixture
def walk(bot, slack, clock) -> Walk:
    return Walk(bot, slack, clock)


@pytest.fixture
def indicator_id(user, slack, db, walk) -> int:
    """Weekly from a baseline on Friday 20 Nov, reported by the owner (New York): first due Friday 27 Nov."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    answer = add_indicator(user, db, clinic_id)
    assert answer.body.get("response_action") is None, answer.body
    walk.settle()
    return db.scalar(select(Indicator.id))


def local_times(walk: Walk, who: str, tz: str) -> list[str]:
    return [t.local(tz) for t in walk.to(who)]


def test_the_reporter_is_asked_on_the_due_day_at_nine_in_their_own_zone(user, slack, db, walk, indicator_id):
    walk.until(datetime(2026, 11, 28, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00"]
    [asked] = walk.to(OWNER)
    shown = text_of(asked.call)
    assert "Time to report *Discharges before noon*" in shown and "weekly reading is due today" in shown
    assert "Discharge flow › Weekend discharges" in shown and "baseline 40%" in shown
    assert buttons_of(asked.call) == ["Report a reading"]
    assert walk.to(LEAD) == []


def test_reporting_each_week_gets_one_ask_a_week_and_nothing_else(user, slack, db, walk, indicator_id):
    answers = []
    for month, day, value in ((11, 27, "42"), (12, 4, "44"), (12, 11, "47")):
        walk.until(datetime(2026, month, day, 15, tzinfo=UTC))  # 10:00 in New York
        answers.append(user.command(OWNER, f"metric Discharges before noon {value}").text)
    walk.until(datetime(2026, 12, 17, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00", "Fri 04 Dec 09:00", "Fri 11 Dec 09:00"]
    assert walk.to(LEAD) == []
    db.expire_all()
    assert db.get(Indicator, indicator_id).due_on == date(2026, 12, 18)
    assert "too few readings to say" in answers[0] and "improving" in answers[2]


def test_a_missed_reading_is_reminded_then_the_lead_is_told_once(user, slack, db, walk, indicator_id):
    walk.until(datetime(2026, 12, 20, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00", "Tue 01 Dec 09:00"]
    assert local_times(walk, LEAD, "Europe/London") == ["Wed 02 Dec 09:00"]
    reminder = text_of(walk.to(OWNER)[1].call)
    assert "Reminder: the weekly reading of *Discharges before noon* was due Fri 27 Nov" in reminder
    [to_lead] = walk.to(LEAD)
    told = text_of(to_lead.call)
    assert f"<@{OWNER}> has not reported *Discharges before noon*" in told and "3 working days ago" in told
    assert buttons_of(to_lead.call) == ["Report a reading"]
    assert walk.to(SPONSOR) == []


def test_a_reading_that_arrives_before_the_ask_is_sent_drops_it(user, slack, db, bot, clock, walk, indicator_id):
    clock.set(datetime(2026, 11, 27, 14, 0, tzinfo=UTC))  # 09:00 in New York: the ask is decided...
    bot.services.reports.plan()
    user.command(OWNER, "metric Discharges before noon 43")  # ...and the reading arrives before it is sent

    walk.run()
    walk.until(datetime(2026, 12, 3, tzinfo=UTC))

    assert walk.to(OWNER) == [] and walk.to(LEAD) == []
    db.expire_all()
    [ask] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report_due")).all()
    assert ask.state == "dropped"


def test_the_report_button_opens_a_form_and_a_good_value_is_stored(user, slack, db, walk, indicator_id):
    walk.until(datetime(2026, 11, 27, 15, tzinfo=UTC))

    user.click(OWNER, ids.REPORT_READING, str(indicator_id))
    form = opened_view(slack)
    answer = user.submit(
        OWNER,
        ids.REPORT_MODAL,
        {
            ids.READING_VALUE: {"type": "plain_text_input", "value": "44.5%"},
            ids.READING_DATE: {"type": "datepicker", "selected_date": "2026-11-27"},
        },
        private_metadata=form["private_metadata"],
    )

    assert form["callback_id"] == ids.REPORT_MODAL
    assert answer.body["response_action"] == "update"
    assert "Stored *Discharges before noon* = 44.5% for today" in json.dumps(answer.body["view"])
    db.expire_all()
    assert [(r.reading_date, r.value) for r in db.scalars(select(IndicatorReading))] == [(date(2026, 11, 27), 44.5)]
    assert db.get(Indicator, indicator_id).due_on == date(2026, 12, 4)


@pytest.mark.parametrize(
    ("value", "day", "block", "said"),
    [
        ("plenty", "2026-11-27", ids.READING_VALUE, "is not a number"),
        ("45 min", "2026-11-27", ids.READING_VALUE, "measured in %"),
        ("45", "2026-12-25", ids.READING_DATE, "in the future"),
        ("45", "2026-11-01", ids.READING_DATE, "before the baseline"),
        ("45", "", ids.READING_DATE, "Pick the day"),
    ],
)
def test_a_bad_value_in_the_report_form_gets_a_field_error_and_stores_nothing(
    user, slack, db, walk, indicator_id, value, day, block, said
):
    walk.until(datetime(2026, 11, 27, 15, tzinfo=UTC))
    values = {ids.READING_VALUE: {"type": "plain_text_input", "value": value}}
    if day:
        values[ids.READING_DATE] = {"type": "datepicker", "selected_date": day}

    answer = user.submit(OWNER, ids.REPORT_MODAL, values, private_metadata=json.dumps({"indicator_id": indicator_id}))

    assert answer.body["response_action"] == "errors"
    assert said in answer.body["errors"][block]
    db.expire_all()
    assert db.scalars(select(IndicatorReading)).all() == []


def test_someone_else_pressing_report_is_refused(user, slack, db, walk, indicator_id):
    user.click(OTHER, ids.REPORT_READING, str(indicator_id))

    slack.wait_for(lambda _calls: slack.calls_to("response_url"))
    assert "Only whoever reports" in text_of(slack.calls_to("response_url")[0])
    assert slack.calls_to("views.open") == []


def test_changing_the_reporter_asks_the_new_one(user, slack, db, bot, walk, indicator_id):
    db.expire_all()
    area_id = db.get(Indicator, indicator_id).focus_area_id
    user.submit(
        LEAD,
        ids.INDICATOR_MODAL,
        indicator_form(reporter=OTHER),
        private_metadata=json.dumps({"area_id": area_id, "indicator_id": indicator_id, "parent": None}),
    )
    walk.until(datetime(2026, 11, 28, tzinfo=UTC))

    assert walk.to(OWNER) == []
    assert local_times(walk, OTHER, "Europe/London") == ["Fri 27 Nov 09:00"]


def test_changing_the_reporter_after_the_ask_went_out_asks_the_new_one_that_day(
    user, slack, db, bot, walk, indicator_id
):
    """The owner was asked on Friday; the lead then hands the indicator to someone else for the same due day.
    The new reporter must be asked too (the old ask was keyed by indicator and day, not by whom it went to)."""
    walk.until(datetime(2026, 11, 27, 15, tzinfo=UTC))  # 10:00 in New York: the owner has been asked
    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00"]
    db.expire_all()
    area_id = db.get(Indicator, indicator_id).focus_area_id
    answer = user.submit(
        LEAD,
        ids.INDICATOR_MODAL,
        indicator_form(reporter=OTHER),
        private_metadata=json.dumps({"area_id": area_id, "indicator_id": indicator_id, "parent": None}),
    )
    assert answer.body.get("response_action") is None, answer.body

    walk.until(datetime(2026, 12, 20, tzinfo=UTC))

    to_other = [text_of(t.call) for t in walk.to(OTHER)]
    assert any("Time to report *Discharges before noon*" in t for t in to_other), to_other


def test_renaming_an_overdue_indicator_neither_asks_the_reporter_again_nor_delays_telling_the_lead(
    user, slack, db, bot, walk, indicator_id
):
    """The owner was asked on Friday 27 Nov and reminded on Tuesday; the lead then fixes a typo in the name. The
    reading is as overdue as before: the lead is still told on Wednesday, and the owner is not asked afresh
    as if a new reading fell due that day."""
    walk.until(datetime(2026, 12, 1, 15, tzinfo=UTC))  # Tue 10:00 in New York: asked and reminded
    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00", "Tue 01 Dec 09:00"]
    db.expire_all()
    area_id = db.get(Indicator, indicator_id).focus_area_id
    answer = user.submit(
        LEAD,
        ids.INDICATOR_MODAL,
        indicator_form(name="Discharges before midday"),
        private_metadata=json.dumps({"area_id": area_id, "indicator_id": indicator_id, "parent": None}),
    )
    assert answer.body.get("response_action") is None, answer.body

    walk.until(datetime(2026, 12, 20, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Fri 27 Nov 09:00", "Tue 01 Dec 09:00"]
    assert local_times(walk, LEAD, "Europe/London") == ["Wed 02 Dec 09:00"]
