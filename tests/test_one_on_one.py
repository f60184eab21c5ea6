"""`/clinic 1on1 @person`: an agenda prepared from the real state of the person's actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.driver import TEAM
from bot.views import ids
from storage.models import AgendaItem, ExtensionRequest, OneOnOneSchedule, OutboxMessage, SlackUser
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, text_of, wait_dms, wait_response
from tests.test_clinics import register_clinic
from tests.test_escalation_tools import ask_for_more_time, escalate
from tests.test_status import add


def test_the_agenda_brings_what_slipped_what_is_blocked_wins_and_the_coaching_questions(user, slack, db, clock):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Slipped thing", "2026-11-25", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Blocked thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Finished thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Someone else's", "2026-11-25", clinic_id)
    slipped, blocked, finished, _ = actions_in(db)
    user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "No IT access"}},
        private_metadata=f'{{"action_id": {blocked.id}}}',
    )
    user.command(OWNER, f"done {finished.id}")
    user.click(LEAD, ids.ESCALATION_AGENDA, str(slipped.id))
    wait_response(slack)
    clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))

    answer = user.command(LEAD, f"1on1 <@{OWNER}|olu>")

    text = answer.text
    assert answer.body["response_type"] == "ephemeral"
    assert "You put these on the agenda" in text and "Slipped thing" in text.split("Overdue")[0]
    assert "No IT access" in text and "Finished thing" in text.split("Recognise")[1]
    assert "how committed are you to this change" in text and "9 or 10" in text
    assert "Someone else's" not in text


def test_an_agenda_shows_only_what_the_caller_may_see(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Private to them", "2026-11-25")

    answer = user.command(OTHER, f"1on1 <@{OWNER}>")

    assert "Private to them" not in answer.text and "Nothing open that you can see" in answer.text


def test_an_agenda_shows_no_wins_the_caller_may_not_see(user, slack, db):
    user.command(LEAD, f"add <@{OWNER}> Confidential: restructure of ward 7 staffing by friday")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    user.command(OWNER, f"done {action.id}")

    to_other = user.command(OTHER, f"1on1 <@{OWNER}>")
    to_assigner = user.command(LEAD, f"1on1 <@{OWNER}>")

    assert "ward 7" not in to_other.text and "Nothing open that you can see" in to_other.text
    assert "ward 7" in to_assigner.text.split("Recognise")[1]


def test_only_someone_who_follows_a_persons_actions_may_schedule_one_to_ones_with_them(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Private to them", "2026-11-25")

    refused = user.command(OTHER, f"1on1 <@{OWNER}> every week on monday")
    accepted = user.command(ASSIGNER, f"1on1 <@{OWNER}> every week on monday")

    assert "whose actions you follow" in refused.text and "Nothing was scheduled" in refused.text
    assert "One-to-ones with" in accepted.text
    db.expire_all()
    assert [(s.lead_id, s.person_id) for s in db.scalars(select(OneOnOneSchedule))] == [(ASSIGNER, OWNER)]


def test_recurring_one_to_ones_send_both_sides_their_agenda_the_day_before(user, slack, db, bot, clock):
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Slipping thing", "2026-11-25", clinic_id)
    walk.settle()

    answer = user.command(LEAD, f"1on1 <@{OWNER}> every 2 weeks on thursday")
    walk.until(datetime(2026, 12, 12, tzinfo=UTC), step=timedelta(hours=1))

    assert "every 2 weeks, from Thursday 26 November" in answer.text
    to_lead = [t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call)]
    to_owner = [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert [t.local("Europe/London") for t in to_lead] == ["Wed 25 Nov 09:00", "Wed 09 Dec 09:00"]
    assert [t.local("America/New_York") for t in to_owner] == ["Wed 25 Nov 09:00", "Wed 09 Dec 09:00"]
    assert "Slipping thing" in text_of(to_owner[-1].call) and "Reply in this thread" in text_of(to_owner[-1].call)
    assert to_lead[0].call.params["text"].startswith(f"Your one-to-one with <@{OWNER}> is on")  # the notification


def on_the_eve(user, slack, bot, clock):  # type: ignore[no-untyped-def]
    """Weekly one-to-ones on Thursday, walked to Wed 25 Nov 10:00 UTC: the lead's agenda went out at 09:00
    London; the person's waits for 09:00 in New York."""
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 25, 10, tzinfo=UTC), step=timedelta(hours=1))
    return walk


def test_a_one_to_one_moved_to_another_day_is_not_announced_for_the_old_one(user, slack, db, bot, clock):
    walk = on_the_eve(user, slack, bot, clock)
    moved = user.command(LEAD, f"1on1 <@{OWNER}> every week on friday")

    walk.until(datetime(2026, 11, 28, tzinfo=UTC), step=timedelta(hours=1))

    assert "from Friday 27 November" in moved.text
    to_owner = [text_of(t.call) for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert len(to_owner) == 1 and "Friday 27 November" in to_owner[0], to_owner


def test_stopping_recurring_one_to_ones_ends_the_agendas_even_one_already_queued(user, slack, db, bot, clock):
    walk = on_the_eve(user, slack, bot, clock)

    stopped = user.command(LEAD, f"1on1 <@{OWNER}> stop")
    again = user.command(LEAD, f"1on1 <@{OWNER}> stop")
    walk.until(datetime(2026, 12, 12, tzinfo=UTC), step=timedelta(hours=1))

    assert f"Recurring one-to-ones with <@{OWNER}> stopped" in stopped.text
    assert "You have no recurring one-to-ones" in again.text and "Nothing was changed" in again.text
    assert [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)] == []
    assert len([t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call)]) == 1  # before the stop
    assert db.scalars(select(OneOnOneSchedule)).all() == []


def test_the_person_is_told_when_one_to_ones_are_set_up_moved_and_stopped(user, slack, db):
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    told = len(wait_dms(slack, OWNER))

    def news() -> list[str]:
        return [text_of(c) for c in slack.messages_to(OWNER)[told:]]

    set_up = user.command(LEAD, f"1on1 <@{OWNER}> every 2 weeks on thursday")
    slack.wait_for(lambda _calls: len(news()) == 1)
    again = user.command(LEAD, f"1on1 <@{OWNER}> every 2 weeks on thu")  # the same again: nothing new to say
    moved = user.command(LEAD, f"1on1 <@{OWNER}> every week on friday")
    slack.wait_for(lambda _calls: len(news()) == 2)
    stopped = user.command(LEAD, f"1on1 <@{OWNER}> stop")
    slack.wait_for(lambda _calls: len(news()) == 3)

    first, second, third = news()
    assert f"<@{LEAD}> has set up one-to-ones with you every 2 weeks on Thursday" in first
    assert "the first on Thursday 26 November" in first and "your side of the agenda" in first
    assert f"<@{LEAD}> has moved your one-to-ones: every week on Friday" in second
    assert "the next on Friday 27 November" in second and "instead of every 2 weeks on Thursday" in second
    assert f"<@{LEAD}> has stopped your recurring one-to-ones" in third
    assert all("They have been told" in a.text for a in (set_up, moved, stopped))
    assert "from Thursday 26 November" in again.text and "They have been told" not in again.text


def test_an_agenda_queued_before_a_stop_never_reaches_its_reader_with_someone_elses_actions(
    user, slack, db, bot, clock
):
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    add(user, slack, LEAD, OTHER, "Pharmacy TTO cut-off for ward 9", "2026-11-24")  # overdue by Thursday
    walk.settle()
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 25, 10, tzinfo=UTC), step=timedelta(hours=1))  # the person's is queued

    user.command(LEAD, f"1on1 <@{OWNER}> stop")
    user.command(LEAD, f"1on1 <@{OTHER}> every week on thursday")  # a one-to-one with someone else
    walk.until(datetime(2026, 11, 26, 9, tzinfo=UTC), step=timedelta(hours=1))

    to_owner = [text_of(t.call) for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert not any("Pharmacy TTO cut-off" in text for text in to_owner), to_owner  # OTHER's work
    assert to_owner == []  # stopped: no agenda at all


def test_one_to_ones_stopped_and_set_up_again_on_the_eve_send_each_side_one_agenda(user, slack, db, bot, clock):
    walk = on_the_eve(user, slack, bot, clock)

    user.command(LEAD, f"1on1 <@{OWNER}> stop")
    again = user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 26, 9, tzinfo=UTC), step=timedelta(hours=1))

    db.expire_all()
    prep = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "one_on_one", OutboxMessage.recipient == OWNER))
    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Can we talk about rota cover?", event_id="EvTOPIC")
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")

    assert "from Thursday 26 November" in again.text
    for reader in (LEAD, OWNER):
        agendas = [text_of(t.call) for t in walk.to(reader) if "one-to-one with" in text_of(t.call)]
        assert len(agendas) == 1 and "Thursday 26 November" in agendas[0], (reader, agendas)
    assert "Can we talk about rota cover?" in agenda.text  # the person's reply reached the restarted schedule


def test_agendas_queued_before_an_upgrade_are_neither_sent_twice_nor_lost(user, slack, db, bot, clock):
    walk = on_the_eve(user, slack, bot, clock)
    schedule = db.scalar(select(OneOnOneSchedule))
    for row in db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "one_on_one")):
        payload = row.payload  # as earlier versions queued them: keyed and named by the schedule's id alone
        row.dedupe_key = f"1on1:{schedule.id}:{payload['meeting']}:{payload['side']}"
        row.payload = {k: v for k, v in payload.items() if k not in ("lead", "person")}
    db.commit()

    walk.until(datetime(2026, 11, 26, 9, tzinfo=UTC), step=timedelta(hours=1))

    for reader in (LEAD, OWNER):
        agendas = [text_of(t.call) for t in walk.to(reader) if "one-to-one with" in text_of(t.call)]
        assert len(agendas) == 1 and "Thursday 26 November" in agendas[0], (reader, agendas)


def test_one_to_ones_set_up_again_after_the_queued_agenda_was_dropped_still_send_the_person_theirs(
    user, slack, db, bot, clock
):
    """Stopped on the eve, the person's queued agenda is dropped when its hour comes; set up again later that
    day for the same Thursday, it goes out after all."""
    walk = on_the_eve(user, slack, bot, clock)  # Wed 25 Nov 10:00 UTC: the person's side waits for NY 09:00

    user.command(LEAD, f"1on1 <@{OWNER}> stop")
    walk.until(datetime(2026, 11, 25, 15, tzinfo=UTC), step=timedelta(hours=1))  # dropped at 14:00 UTC
    again = user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 26, 9, tzinfo=UTC), step=timedelta(hours=1))

    assert "from Thursday 26 November" in again.text
    to_owner = [text_of(t.call) for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert len(to_owner) == 1 and "Thursday 26 November" in to_owner[0], to_owner


def day_before_message_to_the_person(user, slack, db, bot, clock):
    """Weekly one-to-ones on Thursday: the person's side of the agenda, sent on Wednesday."""
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 25, 15, tzinfo=UTC), step=timedelta(hours=1))
    db.expire_all()
    return walk, db.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "one_on_one", OutboxMessage.recipient == OWNER)
    )


def test_the_persons_replies_land_on_the_leads_agenda(user, slack, db, bot, clock):
    _walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)

    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "I'd like to talk about rota cover", event_id="EvTOPIC")
    user.dm_reply(
        OWNER, prep.sent_channel, prep.sent_ts, "I'd like to talk about rota cover", event_id="EvTOPIC", retry=1
    )
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")

    assert agenda.text.count("I'd like to talk about rota cover") == 1
    assert f"<@{OWNER}> wants to talk about" in agenda.text


def test_a_reply_too_long_for_a_topic_is_refused_with_the_limit_not_cut_short(user, slack, db, bot, clock):
    _walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)

    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Rota cover over the winter. " * 40, event_id="EvLONG")
    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral")))
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")

    [told] = slack.calls_to("chat.postEphemeral")
    assert told.params["user"] == OWNER and "1,119 characters" in told.params["text"]
    assert "at most 1,000" in told.params["text"]
    assert "Rota cover" not in agenda.text


def test_a_reply_to_the_agenda_of_stopped_one_to_ones_says_it_went_nowhere(user, slack, db, bot, clock):
    _walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)
    user.command(LEAD, f"1on1 <@{OWNER}> stop")

    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Can we talk about rota cover?", event_id="EvSTOPPED")
    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral")))

    [told] = slack.calls_to("chat.postEphemeral")
    assert told.params["user"] == OWNER and "stopped" in told.params["text"]
    assert "Can we talk" not in user.command(LEAD, f"1on1 <@{OWNER}>").text


def test_a_topic_replied_to_an_agenda_naming_a_reused_schedule_id_never_reaches_another_leads_agenda(
    user, slack, db, bot, clock
):
    """An agenda queued by an earlier version names its schedule by id alone; stopped, that id can come back
    (SQLite reuses a deleted id) as someone else's schedule: the person's topic must not land on the agenda
    of a lead they never had one-to-ones with."""
    _walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)
    user.command(LEAD, f"1on1 <@{OWNER}> stop")
    add(user, slack, SPONSOR, OTHER, "Check the winter rota", "2026-12-20")
    user.command(SPONSOR, f"1on1 <@{OTHER}> every week on friday")
    db.expire_all()
    theirs = db.scalar(select(OneOnOneSchedule).where(OneOnOneSchedule.person_id == OTHER))
    with bot.services.sessions.begin() as session:  # as earlier versions wrote it, with the reused id
        message = session.get(OutboxMessage, prep.id)
        payload = {k: v for k, v in message.payload.items() if k not in ("lead", "person")}
        message.payload = {**payload, "schedule_id": theirs.id}

    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Can we talk about rota cover?", event_id="EvREUSED")

    db.expire_all()
    assert db.scalars(select(AgendaItem).where(AgendaItem.topic.like("%rota%"))).all() == []


def test_a_schedule_that_cannot_be_read_says_how_to_write_it(user):
    answer = user.command(LEAD, f"1on1 <@{OWNER}> whenever we feel like it")

    assert "every 2 weeks on thursday" in answer.text


@pytest.mark.parametrize("said", ["every month", "every 2 weeks on thunder", "every week on fr", "every satellite"])
def test_a_word_that_only_starts_like_a_day_is_refused_and_nothing_is_scheduled(user, slack, db, said):
    add(user, slack, LEAD, OWNER, "Audit weekend discharges", "2026-12-04")

    answer = user.command(LEAD, f"1on1 <@{OWNER}> {said}")

    assert "I couldn't read that schedule" in answer.text
    assert db.scalars(select(OneOnOneSchedule)).all() == []


@pytest.mark.parametrize(
    ("said", "shown"),
    [("every tues", "Tuesday"), ("every 2 weeks on THURS", "Thursday"), ("every week on Sun", "Sunday")],
)
def test_a_day_may_be_written_in_full_or_in_its_usual_short_form(user, slack, db, said, shown):
    add(user, slack, LEAD, OWNER, "Audit weekend discharges", "2026-12-04")

    answer = user.command(LEAD, f"1on1 <@{OWNER}> {said}")

    assert f"from {shown}" in answer.text
    assert len(db.scalars(select(OneOnOneSchedule)).all()) == 1


def test_many_long_topics_fit_slacks_limits_on_the_agenda_and_in_the_day_before_message(user, slack, db, bot, clock):
    walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)
    for n in range(10):
        topic = f"Topic {n}: " + "A&E <cover> " * 30
        user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, topic, event_id=f"EvTOPIC{n}")

    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")
    walk.until(datetime(2026, 12, 2, 15, tzinfo=UTC), step=timedelta(hours=1))

    [day_before] = [t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call) and "Topic 0" in text_of(t.call)]
    for blocks in (agenda.body["blocks"], day_before.call.params["blocks"]):
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
        shown = "\n".join(b.get("text", {}).get("text", "") for b in blocks)
        assert "Topic 0" in shown and "Topic 9" not in shown and "more, on the next agenda" in shown


def test_what_the_lead_marks_discussed_comes_off_the_next_agenda_and_can_go_on_again(user, slack, db, bot, clock):
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Slipped thing", "2026-11-25", clinic_id)
    [action] = actions_in(db)
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 25, 15, tzinfo=UTC), step=timedelta(hours=1))
    db.expire_all()
    prep = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "one_on_one", OutboxMessage.recipient == OWNER))
    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Rota cover over Christmas", event_id="EvROTA")
    user.click(LEAD, ids.ESCALATION_AGENDA, str(action.id))
    wait_response(slack)
    before = user.command(LEAD, f"1on1 <@{OWNER}>")
    [button] = [
        e
        for b in before.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.AGENDA_DISCUSSED
    ]

    user.click(OTHER, ids.AGENDA_DISCUSSED, button["value"])  # someone else's agenda: nothing changes
    user.click(LEAD, ids.AGENDA_DISCUSSED, button["value"])
    replies = sorted(text_of(r) for r in wait_response(slack, 3)[1:])
    after = user.command(LEAD, f"1on1 <@{OWNER}>")
    user.click(LEAD, ids.ESCALATION_AGENDA, str(action.id))

    assert "Rota cover over Christmas" in before.text and "You put these on the agenda" in before.text
    assert replies[0].startswith("Marked as discussed") and "already" in replies[1]
    assert "Rota cover" not in after.text and "You put these on the agenda" not in after.text
    assert "Slipped thing" in after.text  # still open, so still on the agenda where it belongs
    assert text_of(wait_response(slack, 4)[-1]).startswith("Added to your next one-to-one")


def test_the_persons_agenda_follows_the_time_zone_slack_has_for_them_when_the_schedule_is_set(
    user, slack, db, bot, clock
):
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")  # seen then in New York
    slack.add_user(OWNER, name="Olu Owner", tz="America/Los_Angeles")  # moved since
    clock.advance(timedelta(days=2))
    walk.settle()

    user.command(LEAD, f"1on1 <@{OWNER}> every week on friday")
    slack.wait_for(lambda _calls: db.expire_all() or db.get(SlackUser, (TEAM, OWNER)).tz == "America/Los_Angeles")
    walk.until(datetime(2026, 11, 27, 12, tzinfo=UTC), step=timedelta(minutes=30))

    to_owner = [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert [t.local("America/Los_Angeles") for t in to_owner] == ["Thu 26 Nov 09:00"]


def test_a_monday_one_to_ones_agenda_comes_on_the_working_day_before_even_around_a_holiday(user, slack, db, bot, clock):
    from bot.demo.walk import Walk

    bot.services.one_on_one_schedule._hours = bot.services.settings.model_copy(
        update={"holidays": "2026-12-04"}
    ).hours()
    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()

    user.command(LEAD, f"1on1 <@{OWNER}> every week on monday")
    walk.until(datetime(2026, 12, 8, tzinfo=UTC), step=timedelta(hours=1))

    to_lead = [t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call)]
    to_owner = [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert [t.local("Europe/London") for t in to_lead] == ["Fri 27 Nov 09:00", "Thu 03 Dec 09:00"]
    assert [t.local("America/New_York") for t in to_owner] == ["Fri 27 Nov 09:00", "Thu 03 Dec 09:00"]
    assert "Monday 30 November" in text_of(to_lead[0].call)


def test_a_person_far_east_of_their_lead_gets_their_side_on_their_working_day_before_the_meeting(
    user, slack, db, bot, clock
):
    """Thursday one-to-ones between a lead in London and a person in Auckland: the person's side is the day-before
    agenda too, so it comes on Wednesday in their working hours, not on Thursday, the day of the meeting."""
    from bot.demo.walk import Walk

    slack.add_user(OWNER, name="Olu Owner", tz="Pacific/Auckland")
    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()

    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.until(datetime(2026, 11, 27, tzinfo=UTC), step=timedelta(hours=1))

    to_lead = [t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call)]
    to_owner = [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert [t.local("Europe/London") for t in to_lead] == ["Wed 25 Nov 09:00"]
    assert "Thursday 26 November" in text_of(to_owner[0].call)
    assert [t.local("Pacific/Auckland") for t in to_owner] == ["Wed 25 Nov 09:00"]


def test_a_person_far_west_of_their_lead_gets_their_side_no_sooner_than_their_working_day_before(
    user, slack, db, bot, clock
):
    """Monday one-to-ones between a lead in Auckland and a person in Los Angeles: the lead's Friday begins on
    Thursday in Los Angeles, and the person's side waits for their own Friday, not two working days early."""
    from bot.demo.walk import Walk

    slack.add_user(LEAD, name="Lee Lead", tz="Pacific/Auckland")
    slack.add_user(OWNER, name="Olu Owner", tz="America/Los_Angeles")
    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()

    user.command(LEAD, f"1on1 <@{OWNER}> every week on monday")
    walk.until(datetime(2026, 12, 1, tzinfo=UTC), step=timedelta(hours=1))

    to_lead = [t for t in walk.to(LEAD) if "one-to-one with" in text_of(t.call)]
    to_owner = [t for t in walk.to(OWNER) if "one-to-one with" in text_of(t.call)]
    assert [t.local("Pacific/Auckland") for t in to_lead] == ["Fri 27 Nov 09:00"]
    assert [t.local("America/Los_Angeles") for t in to_owner] == ["Fri 27 Nov 09:00"]
    assert "Monday 30 November" in text_of(to_owner[0].call)


def test_recurring_one_to_ones_with_someone_who_has_left_the_workspace_are_refused(user, slack, db):
    """Olu's account was deactivated (Slack said so in a `user_change` event): no agenda can reach them, so the
    lead is told why and nothing is scheduled, rather than "They have been told"."""
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    wait_dms(slack, OWNER)
    slack.add_user(OWNER, name="Olu Owner", tz="America/New_York", deleted=True)
    user.event(
        {
            "type": "user_change",
            "user": {"id": OWNER, "name": "olu", "deleted": True, "tz": "America/New_York", "profile": {}},
            "event_ts": "1.2",
        }
    )
    slack.wait_for(lambda _c: db.expire_all() or db.get(SlackUser, (TEAM, OWNER)).deleted)

    answer = user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")

    assert "deactivated" in answer.text and "They have been told" not in answer.text, answer.text
    db.expire_all()
    assert db.scalars(select(OneOnOneSchedule)).all() == []


def test_a_lead_is_told_when_the_persons_side_of_the_agenda_cannot_reach_them(user, slack, db, bot, clock):
    """Olu leaves after the one-to-ones are set up: Slack refuses their side of the agenda for good. As with any
    message refused for good, the lead hears of it once, rather than preparing week after week for a meeting
    with someone who never got their side."""
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.settle()
    slack.add_user(OWNER, name="Olu Owner", tz="America/New_York", deleted=True)  # deactivated since

    walk.until(datetime(2026, 12, 5, tzinfo=UTC), step=timedelta(hours=1))

    db.expire_all()
    failed = db.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "one_on_one", OutboxMessage.state == "failed")
    ).all()
    assert [m.recipient for m in failed] == [OWNER, OWNER]  # both weeks' agendas refused: account_inactive
    told = [text_of(t.call) for t in walk.to(LEAD) if "one-to-one with" not in text_of(t.call)]
    about = [t for t in told if f"<@{OWNER}>" in t and "one-to-one" in t]
    assert len(about) == 1 and "deactivated" in about[0], told  # once, not before every meeting


def test_a_lead_who_has_left_the_workspace_sends_the_person_no_more_agendas(user, slack, db, bot, clock):
    """The lead's account was deactivated after the one-to-ones were set up: nobody will hold them, so the person
    gets no agenda for them."""
    from bot.demo.walk import Walk

    walk = Walk(bot, slack, clock)
    add(user, slack, LEAD, OWNER, "Rota review", "2026-12-20")
    walk.settle()
    user.command(LEAD, f"1on1 <@{OWNER}> every week on thursday")
    walk.settle()
    user.event(
        {
            "type": "user_change",
            "user": {"id": LEAD, "name": "lee", "deleted": True, "tz": "Europe/London", "profile": {}},
            "event_ts": "1.2",
        }
    )
    slack.wait_for(lambda _c: db.expire_all() or db.get(SlackUser, (TEAM, LEAD)).deleted)

    walk.until(datetime(2026, 12, 5, tzinfo=UTC), step=timedelta(hours=1))

    assert [text_of(t.call) for t in walk.to(OWNER) if "one-to-one is on" in text_of(t.call).lower()] == []


@pytest.mark.parametrize(
    ("now", "sixth_day_on", "seventh_day_on"),
    [
        # Mon 26 Oct 00:30 in New York: clocks go back on Sun 1 Nov, so that week is 7 days and an hour long.
        (datetime(2026, 10, 26, 4, 30, tzinfo=UTC), "2026-11-01", "2026-11-02"),
        # Sun 1 Mar 23:30 in New York: clocks go forward on Sun 8 Mar, so that week is an hour short.
        (datetime(2026, 3, 2, 4, 30, tzinfo=UTC), "2026-03-07", "2026-03-08"),
    ],
    ids=["New York clocks go back", "New York clocks go forward"],
)
def test_due_in_the_next_week_on_an_agenda_counts_the_persons_calendar_days_across_a_daylight_saving_change(
    user, slack, db, clock, now, sixth_day_on, seventh_day_on
):
    """As on their Home tab: what the person must do today and on the six days after is due in the next week."""
    clock.set(now)
    add(user, slack, LEAD, OWNER, "Due six days on", sixth_day_on)
    add(user, slack, LEAD, OWNER, "Due seven days on", seventh_day_on)

    text = user.command(LEAD, f"1on1 <@{OWNER}>").text

    assert "Due six days on" in text.split("Due in the next week")[-1], text
    assert "Due seven days on" not in text, text


def test_the_agenda_waits_on_a_request_for_more_time_only_until_its_date_passes(user, slack, db, bot, clock):
    """A request whose date has passed on the owner's calendar can no longer be approved: the lead is not asked
    for an answer to it (the owner may ask again)."""
    walk, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)  # Wed 2 Dec
    ask_for_more_time(user, slack, action_id, "2026-12-04")
    waiting = user.command(LEAD, f"1on1 <@{OWNER}>").text

    walk.until(datetime(2026, 12, 7, 15, tzinfo=UTC))  # no answer from the lead by Monday
    lapsed = user.command(LEAD, f"1on1 <@{OWNER}>").text

    assert "Waiting for your answer on more time" in waiting and "to Fri 04 Dec" in waiting
    assert "Audit weekend discharges" in lapsed, "the action itself is still overdue"
    assert "more time" not in lapsed and "04 Dec" not in lapsed


@pytest.mark.parametrize("button", [ids.EXTENSION_APPROVE, ids.EXTENSION_REFUSE])
def test_the_agenda_does_not_wait_on_a_request_for_more_time_already_answered(user, slack, db, bot, clock, button):
    _, action_id = escalate(user, slack, db, bot, clock, ASSIGNER)
    ask_for_more_time(user, slack, action_id, "2026-12-18")
    request_id = db.scalar(select(ExtensionRequest.id))

    user.click(LEAD, button, str(request_id))
    wait_response(slack)
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>").text

    assert "more time" not in agenda and "18 Dec" not in agenda
