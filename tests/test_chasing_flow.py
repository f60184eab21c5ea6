"""Nudges and escalations over simulated weeks: the exact sequence each person receives, in their own
working hours, across a daylight-saving change and a holiday, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.demo.walk import Walk
from bot.views import ids
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, buttons_of, text_of
from tests.test_status import add


@pytest.fixture
def walk(bot, slack, clock) -> Walk:
    return Walk(bot, slack, clock)


def in_clinic(user, slack, db) -> int:
    from tests.test_clinics import register_clinic

    return register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)


def local_times(walk: Walk, who: str, tz: str) -> list[str]:
    return [t.local(tz) for t in walk.to(who)]


def test_an_ignored_action_is_chased_then_escalated_to_lead_then_sponsor(user, slack, db, bot, walk):
    clinic_id = in_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    walk.settle()

    walk.until(datetime(2026, 12, 12, tzinfo=UTC))

    # Owner in New York: reminder the working day before, then 3 overdue nudges 2 working days apart.
    assert local_times(walk, OWNER, "America/New_York") == [
        "Thu 26 Nov 09:00",
        "Mon 30 Nov 09:00",
        "Wed 02 Dec 09:00",
        "Fri 04 Dec 09:00",
    ]
    # Lead in London after 3 working days overdue; sponsor in Kolkata after 7.
    assert local_times(walk, LEAD, "Europe/London") == ["Wed 02 Dec 09:00"]
    assert local_times(walk, SPONSOR, "Asia/Kolkata") == ["Tue 08 Dec 09:00"]
    assert {t.recipient for t in walk.told} == {OWNER, LEAD, SPONSOR}

    [to_lead] = walk.to(LEAD)
    shown = text_of(to_lead.call)
    assert "Audit weekend discharges" in shown and f"<@{OWNER}>" in shown and "3 working days overdue" in shown
    assert buttons_of(to_lead.call) == ["Nudge again", "Extend deadline", "Reassign", "Add to next 1:1"]
    [to_sponsor] = walk.to(SPONSOR)
    assert "The lead has not acted on it yet" in text_of(to_sponsor.call)
    assert "Done" in buttons_of(walk.to(OWNER)[1].call)


def test_done_stops_all_chasing(user, slack, db, bot, walk):
    add(user, slack, ASSIGNER, OWNER, "Finish me", "2026-11-27")
    walk.settle()
    walk.until(datetime(2026, 12, 1, tzinfo=UTC))
    [action] = actions_in(db)
    user.command(OWNER, f"done {action.id}")
    before = len(walk.told)

    walk.until(datetime(2026, 12, 20, tzinfo=UTC))

    assert len(walk.told) == before


def test_an_owner_update_resets_the_escalation_clock(user, slack, db, bot, walk):
    clinic_id = in_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Keep me going", "2026-11-27", clinic_id)
    walk.settle()
    walk.until(datetime(2026, 11, 30, 15, tzinfo=UTC))  # the first overdue nudge has gone
    [action] = actions_in(db)
    user.click(OWNER, ids.ACTION_ON_TRACK, str(action.id))  # Mon 30 Nov, 10:00 in New York

    walk.until(datetime(2026, 12, 4, 12, tzinfo=UTC))

    # The clock restarted on Monday: the next nudge comes 2 working days after the update, and the
    # lead hears 3 working days after it (Thursday) instead of 3 after the deadline (Wednesday).
    assert local_times(walk, OWNER, "America/New_York") == [
        "Thu 26 Nov 09:00",
        "Mon 30 Nov 09:00",
        "Wed 02 Dec 09:00",
    ]
    assert local_times(walk, LEAD, "Europe/London") == ["Thu 03 Dec 09:00"]
    assert "last update from the owner Mon 30 Nov" in text_of(walk.to(LEAD)[0].call)


def test_several_items_for_one_person_come_as_one_message(user, slack, db, walk):
    add(user, slack, ASSIGNER, OWNER, "First thing", "2026-11-27")
    add(user, slack, ASSIGNER, OWNER, "Second thing", "2026-11-27")
    walk.settle()

    walk.until(datetime(2026, 11, 26, 15, tzinfo=UTC))

    [reminder] = walk.to(OWNER)
    assert "First thing" in text_of(reminder.call) and "Second thing" in text_of(reminder.call)
    assert buttons_of(reminder.call).count("Done") == 2


def test_a_reminder_on_friday_for_a_monday_deadline_names_the_day(user, slack, db, walk):
    add(user, slack, ASSIGNER, OWNER, "Monday thing", "2026-11-30")
    walk.settle()

    walk.until(datetime(2026, 11, 27, 16, tzinfo=UTC))

    [reminder] = walk.to(OWNER)
    assert reminder.local("America/New_York") == "Fri 27 Nov 09:00"
    assert reminder.call.params["text"].startswith(":alarm_clock: Due Mon 30 Nov: #")
    assert "Due tomorrow" not in text_of(reminder.call) and "is due Mon 30 Nov" in text_of(reminder.call)


def test_a_holiday_moves_the_nudge_to_the_next_working_day(user, slack, db, bot, walk):
    bot.services.planner._hours = bot.services.settings.model_copy(update={"holidays": "2026-11-30"}).hours()
    add(user, slack, ASSIGNER, OWNER, "Holiday thing", "2026-11-27")
    walk.settle()

    walk.until(datetime(2026, 12, 2, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Thu 26 Nov 09:00", "Tue 01 Dec 09:00"]


def test_across_a_daylight_saving_change_nudges_stay_at_nine_local_and_never_double(user, slack, db, bot, clock, walk):
    slack.add_user("UBERLIN", name="Bea Berlin", tz="Europe/Berlin")
    clock.set(datetime(2026, 10, 20, 8, tzinfo=UTC))
    add(user, slack, ASSIGNER, "UBERLIN", "Across the clock change", "2026-10-23")
    walk.settle()

    walk.until(datetime(2026, 11, 4, tzinfo=UTC), step=timedelta(minutes=15))

    # Summer time ends on Sunday 25 October: 09:00 is 07:00 UTC before it and 08:00 UTC after.
    assert local_times(walk, "UBERLIN", "Europe/Berlin") == [
        "Thu 22 Oct 09:00",
        "Mon 26 Oct 09:00",
        "Wed 28 Oct 09:00",
        "Fri 30 Oct 09:00",
    ]
    assert [t.at.hour for t in walk.to("UBERLIN")] == [7, 8, 8, 8]


def test_after_three_days_of_downtime_one_catch_up_message_per_item(user, slack, db, bot, clock, walk):
    add(user, slack, ASSIGNER, OWNER, "Catch me up", "2026-11-27")
    walk.settle()
    clock.set(datetime(2026, 12, 4, 15, tzinfo=UTC))  # the bot was down from Tuesday to Friday

    walk.run()
    walk.run()

    [catch_up] = walk.to(OWNER)
    assert "Catch me up" in text_of(catch_up.call)


def test_a_nudge_due_outside_working_hours_waits_for_the_next_window(user, slack, db, bot, clock, walk):
    add(user, slack, ASSIGNER, OWNER, "Wait for morning", "2026-11-27")
    walk.settle()
    clock.set(datetime(2026, 12, 1, 2, tzinfo=UTC))  # Monday 21:00 in New York: the nudge was due at 09:00

    walk.run()
    assert walk.to(OWNER) == []
    walk.until(datetime(2026, 12, 1, 15, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Tue 01 Dec 09:00"]


def snoozed_past_its_deadline(user, slack, db, walk: Walk) -> int:
    """An action due last Friday whose owner (New York) snoozed it until Wednesday 9 December: when the
    snooze ends, at midnight there, every step is due at once."""
    clinic_id = in_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    walk.settle()
    [action] = actions_in(db)
    user.command(OWNER, f"snooze {action.id} until 2026-12-09")
    walk.settle()
    return action.id


def test_a_nudge_waiting_for_the_owners_morning_is_not_sent_once_the_deadline_has_moved(user, slack, db, bot, walk):
    action_id = snoozed_past_its_deadline(user, slack, db, walk)
    # The catch-up nudge waits for 09:00 in New York (14:00 UTC); meanwhile the lead gives a new deadline.
    walk.until(datetime(2026, 12, 9, 9, 5, tzinfo=UTC), step=timedelta(minutes=15))
    assert not [t for t in walk.to(OWNER) if "Overdue" in text_of(t.call)]
    bot.services.escalation.extend("T0001", action_id, LEAD, date(2026, 12, 18), "agreed at the huddle")
    walk.settle()

    walk.until(datetime(2026, 12, 9, 16, tzinfo=UTC), step=timedelta(minutes=15))

    to_owner = [text_of(t.call) for t in walk.to(OWNER)]
    assert not [text for text in to_owner if "Overdue" in text]  # nothing about a deadline now two weeks away
    assert any("18 Dec" in text for text in to_owner)  # told of the new date


def test_after_a_snooze_the_owner_hears_first_then_the_lead_and_the_sponsor_a_working_day_later(user, slack, db, walk):
    snoozed_past_its_deadline(user, slack, db, walk)

    # The snooze ends at midnight in New York, when it is already morning in Kolkata.
    walk.until(datetime(2026, 12, 11, tzinfo=UTC), step=timedelta(minutes=15))

    assert local_times(walk, OWNER, "America/New_York")[-1] == "Wed 09 Dec 09:00"
    assert local_times(walk, LEAD, "Europe/London") == ["Wed 09 Dec 14:00"]  # with the owner's nudge, not before
    assert local_times(walk, SPONSOR, "Asia/Kolkata") == ["Thu 10 Dec 09:00"]  # the lead had a day to act


def test_a_lead_escalation_due_while_the_owners_nudge_waits_for_their_morning_goes_out_after_it(user, slack, db, walk):
    clinic_id = in_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-27", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Chase the bed audit", "2026-11-27", clinic_id)  # its owner is in London
    walk.settle()
    snoozed = next(a for a in actions_in(db) if a.owner_id == OWNER)
    user.command(OWNER, f"snooze {snoozed.id} until 2026-12-02")
    walk.settle()

    # The snooze ends at midnight in New York: the owner's catch-up nudge waits for 09:00 there (14:00 in
    # London). Meanwhile, at 09:00 in London, both escalations fall due (3 working days overdue).
    walk.until(datetime(2026, 12, 3, tzinfo=UTC), step=timedelta(minutes=15))

    assert local_times(walk, OWNER, "America/New_York")[-1] == "Wed 02 Dec 09:00"
    # The lead hears of the snoozed action after its owner's nudge, not before; the other is not held back.
    assert local_times(walk, LEAD, "Europe/London") == ["Wed 02 Dec 09:00", "Wed 02 Dec 14:00"]
    first, second = (text_of(t.call) for t in walk.to(LEAD))
    assert "Chase the bed audit" in first and "Audit weekend discharges" not in first
    assert "Audit weekend discharges" in second and "Chase the bed audit" not in second


def test_a_reminder_and_a_check_in_due_together_make_one_message(user, slack, db, bot, walk, clock):
    """After a quiet fortnight, the day before the deadline: "due tomorrow" and "still on track?" are both
    due. The owner gets one message about it, not two at once, and nothing follows it before the deadline."""
    add(user, slack, ASSIGNER, OWNER, "Quiet thing", "2026-12-10")
    walk.settle()
    clock.set(datetime(2026, 12, 9, 15, tzinfo=UTC))  # Wednesday 10:00 in New York; the bot was down till now

    walk.run()
    walk.until(datetime(2026, 12, 10, 22, tzinfo=UTC))

    assert local_times(walk, OWNER, "America/New_York") == ["Wed 09 Dec 10:00"]


def test_a_planner_that_fails_holds_back_no_other_message(user, slack, db, bot, walk, clock):
    """A digest time no form accepts (a row edited by hand) makes the digest planner fail at every pass:
    the owner's reminder still goes out, and the failure is raised once the pass has delivered."""
    from scheduler import run_pass
    from storage.models import DigestPreference

    add(user, slack, ASSIGNER, OWNER, "Still reminded", "2026-11-27", in_clinic(user, slack, db))
    walk.settle()
    db.add(DigestPreference(team_id="T0001", user_id=LEAD, weekday=0, at="25:99", combined=False))
    db.commit()
    clock.set(datetime(2026, 11, 26, 14, 5, tzinfo=UTC))  # Thursday 09:05 in New York: the reminder is due

    with pytest.raises(ValueError):
        run_pass(bot.services)

    assert any("Still reminded" in text_of(c) and "due" in text_of(c) for c in slack.messages_to(OWNER)[1:])
