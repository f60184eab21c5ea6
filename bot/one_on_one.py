"""Preparing a one-to-one from the real state of a person's actions: what slipped, what is blocked or
stalled, what is due soon, what to thank them for, what they asked for, and the coaching questions."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from dateutil.rrule import WEEKLY, rrule, weekday
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.actions import lapsed
from bot.clock import Clock
from bot.dates import end_of_day, weekday_number
from bot.errors import UserError, too_long
from bot.indicators import WINDOW, Trend
from bot.people import People, Person, check_active, zone
from bot.reporting import indicator_trend
from bot.views.text import mention
from bot.working_time import WorkingHours
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, AgendaItem, ExtensionRequest, Indicator, OneOnOneSchedule, OutboxMessage

QUESTIONS = (
    "From 1 to 10, how committed are you to this change?",
    "If you're not at a 9 or 10, what would help get you there?",
    "What is blocking you?",
    "What help do you need from me?",
)
STALLED = timedelta(days=14)
TOPIC_LIMIT = 1000  # characters in a topic the person raises by replying to their agenda


@dataclass
class Agenda:
    person_id: str
    overdue: list[Action] = field(default_factory=list)
    blocked: list[Action] = field(default_factory=list)
    stalled: list[Action] = field(default_factory=list)
    due_soon: list[Action] = field(default_factory=list)
    wins: list[Action] = field(default_factory=list)
    requests: list[tuple[Action, ExtensionRequest]] = field(default_factory=list)
    # Put on the agenda from an escalation, and raised by the person replying to their agenda. Both stay
    # until the lead marks them discussed (`OneOnOneService.discussed`): only the lead knows they were.
    added: list[tuple[AgendaItem, Action]] = field(default_factory=list)
    topics: list[AgendaItem] = field(default_factory=list)
    # The indicators they report, or that their actions are meant to move, with what the readings say.
    indicators: list[tuple[Indicator, Trend]] = field(default_factory=list)
    questions: tuple[str, ...] = QUESTIONS


class OneOnOneService:
    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def topic_from_reply(
        self, team_id: str, *, channel: str, thread_ts: str, actor_id: str, text: str, event_id: str
    ) -> bool:
        """A reply to someone's side of a one-to-one agenda goes on the lead's agenda (once per event). One
        that cannot (the one-to-ones were stopped, the topic is too long) is explained, once, and kept nowhere."""
        now = self._clock.now()
        topic = text.strip()
        with self._sessions.begin() as session:
            message = queries.outbox_for_message(session, team_id, channel, thread_ts)
            if message is None or message.kind != "one_on_one" or (message.payload or {}).get("side") != "person":
                return False
            if actor_id != message.recipient or not topic:
                return False
            schedule = _schedule_of(session, message)
            if schedule is None or schedule.person_id != actor_id:  # (an id an earlier version named, reused)
                refused = "These one-to-ones have been stopped, so I didn't put that on an agenda."
            elif len(topic) > TOPIC_LIMIT:
                refused = too_long("topic", topic, TOPIC_LIMIT)
            else:
                refused = ""
            if event_id and not queries.mark_event_processed(session, team_id, event_id, now):
                return False
            if schedule is not None and not refused:
                session.add(
                    AgendaItem(
                        team_id=team_id,
                        lead_id=schedule.lead_id,
                        person_id=actor_id,
                        action_id=None,
                        topic=topic,
                        added_by=actor_id,
                        added_at=now,
                    )
                )
                return True
        raise UserError(refused)  # the event stays processed: Slack delivering it again repeats no hint

    def render(self, session, message):  # type: ignore[no-untyped-def]
        """The day-before agenda: the lead's full side, or the person's own view with an invitation to add topics."""
        from bot.views.one_on_one import person_side

        payload = message.payload or {}
        schedule = _schedule_of(session, message)
        meeting = date.fromisoformat(payload["meeting"])
        if schedule is None or meeting not in meetings(schedule, meeting, meeting):
            return None  # stopped, or moved to another day, since it was queued
        if message.recipient not in (schedule.lead_id, schedule.person_id):
            return None  # stopped, and its id taken by a schedule between others (SQLite reuses a deleted id)
        reader = Person(message.recipient, "", payload["tz"])
        agenda = self.agenda(message.team_id, schedule.lead_id, schedule.person_id)
        return person_side(agenda, schedule, meeting, reader, self._clock.now(), side=payload["side"])

    def agenda(self, team_id: str, lead_id: str, person_id: str) -> Agenda:
        if lead_id == person_id:
            raise UserError("A one-to-one needs someone else: `/clinic 1on1 @person`.")
        now = self._clock.now()
        with self._sessions() as session:
            visible = list(queries.open_actions_visible_to(session, team_id, lead_id, owner_id=person_id, limit=500))
            # Their actions are due at the end of their days, so the next week is today and the six days after on
            # their calendar (as on their Home tab), not 168 hours, which a daylight saving change lengthens or cuts.
            person_tz = queries.tz_of(session, team_id, person_id)
            soon_end = end_of_day(now.astimezone(zone(person_tz)).date() + timedelta(days=6), person_tz)
            agenda = Agenda(person_id)
            for action in visible:
                if action.status == "blocked":
                    agenda.blocked.append(action)
                elif action.due_at < now:
                    agenda.overdue.append(action)
                elif now - (action.last_owner_update_at or action.created_at) >= STALLED:
                    agenda.stalled.append(action)
                elif action.due_at <= soon_end:
                    agenda.due_soon.append(action)
            agenda.topics = list(queries.agenda_topics(session, team_id, lead_id, person_id))
            areas = sorted({a.focus_area_id for a in visible if a.focus_area_id is not None})
            indicators = queries.indicators_for_one_on_one(session, team_id, lead_id, person_id, areas)
            latest = queries.latest_readings(session, team_id, [i.id for i in indicators], limit=WINDOW)
            agenda.indicators = [(i, indicator_trend(i, latest[i.id])) for i in indicators]
            agenda.wins = list(
                queries.recently_done_visible_to(
                    session, team_id, lead_id, person_id, now - timedelta(days=14), limit=10
                )
            )
            ids = [a.id for a in visible]
            if ids:
                # Only those still waiting for an answer: one whose date has passed can no longer be approved
                # (its owner may ask again), though it stays pending until someone acts on it.
                owner = Person(person_id, "", person_tz)
                agenda.requests = [
                    (next(a for a in visible if a.id == r.action_id), r)
                    for r in session.scalars(
                        select(ExtensionRequest).where(
                            ExtensionRequest.team_id == team_id,
                            ExtensionRequest.action_id.in_(ids),
                            ExtensionRequest.state == "pending",
                        )
                    )
                    if not lapsed(r, owner, now)
                ]
                added = {
                    item.action_id: item
                    for item in session.scalars(
                        select(AgendaItem).where(
                            AgendaItem.team_id == team_id,
                            AgendaItem.lead_id == lead_id,
                            AgendaItem.person_id == person_id,
                            AgendaItem.action_id.is_not(None),
                            AgendaItem.discussed_at.is_(None),
                        )
                    )
                }
                agenda.added = [(added[a.id], a) for a in visible if a.id in added]
            return agenda

    def discussed(self, team_id: str, lead_id: str, item_ids: Sequence[int]) -> int:
        """The lead pressed "Discussed" under the topics and actions an agenda showed: those come off their
        next one-to-one (and an action can be put on again). Only the lead's own items; how many changed."""
        with self._sessions.begin() as session:
            return queries.mark_discussed(session, team_id, lead_id, item_ids, self._clock.now())


# --- recurring one-to-ones ------------------------------------------------------------------------

# How far ahead to look for a meeting whose agenda is due: its working day before may be days earlier
# (a weekend, holidays).
LOOK_AHEAD = timedelta(days=14)
SCHEDULE_EXAMPLE = "`/clinic 1on1 @person every 2 weeks on thursday`"
_EVERY = re.compile(r"^every\s+(?:(\d{1,2}|other)\s+weeks?\s+on\s+|week\s+on\s+)?(\w+)$", re.IGNORECASE)


def read_schedule(text: str) -> tuple[int, int]:
    """`every 2 weeks on thursday`, `every week on monday`, `every other week on friday`, `every tuesday`:
    (every how many weeks, weekday)."""
    match = _EVERY.match(" ".join(text.split()))
    day = weekday_number(match.group(2)) if match else None
    if not match or day is None:
        raise UserError(f"I couldn't read that schedule. For example {SCHEDULE_EXAMPLE}.")
    count = match.group(1)
    every = 2 if count and count.lower() == "other" else int(count or 1)
    if not 1 <= every <= 12:
        raise UserError("Meet every 1 to 12 weeks.")
    return every, day


def cadence(every_weeks: int, day: int) -> str:
    """`every week on Monday`, `every 2 weeks on Thursday`."""
    every = "week" if every_weeks == 1 else f"{every_weeks} weeks"
    return f"every {every} on {calendar.day_name[day]}"


def _tell_person(session: Session, schedule: OneOnOneSchedule, now: datetime, change: str, text: str) -> None:
    """The person hears of their one-to-ones being set up, moved or stopped (`change`), from the lead."""
    key = f"1on1_schedule:{schedule.id}:{change}:{now.isoformat()}"
    queries.notify(session, schedule.team_id, key, "one_on_one_schedule", schedule.person_id, (text, []), now)


def _schedule_of(session: Session, message: OutboxMessage) -> OneOnOneSchedule | None:
    """The schedule an agenda message belongs to now: its pair's, which may have been stopped and set up again
    since the message was queued (messages queued by earlier versions name the schedule by its id alone)."""
    payload = message.payload or {}
    if "lead" in payload:
        return queries.one_on_one_schedule(session, message.team_id, payload["lead"], payload["person"])
    return session.get(OneOnOneSchedule, payload.get("schedule_id"))


def tell_agenda_refused(session: Session, message: OutboxMessage, error: str, now: datetime) -> None:
    """The person's side of an agenda refused for good (they left): the lead is told, once for the person and
    reason (not before every meeting), since the person cannot say so and the lead would otherwise prepare for
    a one-to-one they never heard of. The lead's own side refused tells nobody: the person's still went out."""
    from bot.views.one_on_one import agenda_undeliverable

    payload = message.payload or {}
    schedule = _schedule_of(session, message)
    if payload.get("side") != "person" or schedule is None or schedule.person_id != message.recipient:
        return
    notice = agenda_undeliverable(schedule.person_id, date.fromisoformat(payload["meeting"]), error)
    key = f"1on1_failed:{schedule.team_id}:{schedule.lead_id}:{schedule.person_id}:{error[:100]}"
    queries.notify(session, schedule.team_id, key, "one_on_one_failed", schedule.lead_id, notice, now)


def _earlier_key(row: dict) -> str:
    """The key earlier versions gave a day-before agenda, by the schedule's id."""
    payload = row["payload"]
    return f"1on1:{payload['schedule_id']}:{payload['meeting']}:{payload['side']}"


def meetings(schedule: OneOnOneSchedule, after: date, before: date) -> list[date]:
    """The meeting days of a schedule between two days (inclusive), from its rrule."""
    rule = rrule(
        WEEKLY,
        interval=schedule.every_weeks,
        byweekday=weekday(schedule.weekday),
        dtstart=datetime.combine(schedule.starts_on, time(0)),
    )
    return [
        d.date() for d in rule.between(datetime.combine(after, time(0)), datetime.combine(before, time(0)), inc=True)
    ]


class OneOnOneScheduler:
    """Sets up recurring one-to-ones, and the day before each, sends both sides their agenda."""

    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        people: People,
        hours: WorkingHours,
        *,
        oauth_client_id: str | None = None,
    ) -> None:
        """`oauth_client_id`: the OAuth client when workspaces install the app, None with one token; a
        workspace that removed the app gets no agendas."""
        self._sessions = session_factory
        self._clock = clock
        self._people = people
        self._hours = hours
        self._oauth_client_id = oauth_client_id

    def schedule(self, team_id: str, lead_id: str, person_id: str, text: str) -> tuple[OneOnOneSchedule, date, bool]:
        """Only someone who may see the person's actions (they assigned them one, or lead or sponsor a clinic
        the person has actions in) may set up recurring one-to-ones: each one messages both of them, so a bot
        or a deactivated account, which no agenda could reach, is refused. The schedule, its next day, and
        whether anything changed (the person is told of each change)."""
        if lead_id == person_id:
            raise UserError("A one-to-one needs someone else.")
        every, day = read_schedule(text)
        now = self._clock.now()
        with self._sessions.begin() as session:
            if not queries.sees_actions_of(session, team_id, lead_id, person_id):
                raise UserError(
                    "You can set up recurring one-to-ones only with someone whose actions you follow: you assigned "
                    "them one, or you lead or sponsor a clinic where they have actions. Nothing was scheduled."
                )
            check_active(self._people.cached(session, team_id, person_id), "person", "have recurring one-to-ones")
            lead_tz = queries.tz_of(session, team_id, lead_id)
            today = now.astimezone(zone(lead_tz)).date()
            first = today + timedelta(days=(day - today.weekday()) % 7 or 7)
            row = queries.one_on_one_schedule(session, team_id, lead_id, person_id)
            if row is not None and (row.every_weeks, row.weekday) == (every, day):  # set again: nothing moves
                return row, meetings(row, today + timedelta(days=1), today + timedelta(weeks=every + 1))[0], False
            before = row and cadence(row.every_weeks, row.weekday)
            row = row or OneOnOneSchedule(team_id=team_id, lead_id=lead_id, person_id=person_id, created_at=now)
            row.every_weeks, row.weekday, row.starts_on = every, day, first
            session.add(row)
            session.flush()
            when = f"{cadence(every, day)}, the {'next' if before else 'first'} on {first:%A} {first.day} {first:%B}"
            if before:
                news = f"{mention(lead_id)} has moved your one-to-ones: {when}, instead of {before}."
            else:
                news = (
                    f"{mention(lead_id)} has set up one-to-ones with you {when}. The working day before each, you "
                    "get your side of the agenda here, and your replies in its thread reach them."
                )
            _tell_person(session, row, now, f"{every}w{day}", news)
            return row, first, True

    def stop(self, team_id: str, lead_id: str, person_id: str) -> bool:
        """End the caller's recurring one-to-ones with a person; False when there were none. An agenda
        already queued for the next one is not sent."""
        with self._sessions.begin() as session:
            row = queries.one_on_one_schedule(session, team_id, lead_id, person_id)
            if row is not None:
                news = f"{mention(lead_id)} has stopped your recurring one-to-ones: no more agendas for them."
                _tell_person(session, row, self._clock.now(), "stop", news)
                session.delete(row)
            return row is not None

    def plan(self) -> int:
        """Queue the day-before agendas that are due (once per meeting and side: the outbox key says so).
        "The day before" is the working day before: a Monday one-to-one's agenda comes on the Friday, and
        one after a holiday comes before the holiday. Each side goes by its reader's own calendar: a person
        a day ahead of their lead gets theirs on their own day before, not on the meeting day, and one a day
        behind not two working days early. None go out once the lead has left the workspace."""
        now = self._clock.now()
        rows = []
        with self._sessions.begin() as session:
            for schedule in queries.one_on_one_schedules(session, self._oauth_client_id):
                lead = queries.get_user(session, schedule.team_id, schedule.lead_id)
                if lead is not None and lead.deleted:
                    continue  # the lead has left: nobody will hold these one-to-ones
                lead_tz = lead.tz if lead is not None else "UTC"
                person_tz = queries.tz_of(session, schedule.team_id, schedule.person_id)
                today = now.astimezone(zone(lead_tz)).date()  # the meeting days are the lead's
                pair = f"1on1:{schedule.team_id}:{schedule.lead_id}:{schedule.person_id}"
                for meeting in meetings(schedule, today, today + LOOK_AHEAD):
                    eve = self._hours.working_day_before(meeting)
                    for side, who, tz in (
                        ("lead", schedule.lead_id, lead_tz),
                        ("person", schedule.person_id, person_tz),
                    ):
                        if now < self._hours.window(eve, tz)[0]:
                            continue  # its reader's day before has not begun (the other side's may have)
                        rows.append(
                            {
                                "team_id": schedule.team_id,
                                "dedupe_key": f"{pair}:{meeting.isoformat()}:{side}",
                                "kind": "one_on_one",
                                "recipient": who,
                                "action_id": None,
                                "text": "",
                                "blocks": [],
                                "payload": {
                                    "schedule_id": schedule.id,
                                    "lead": schedule.lead_id,
                                    "person": schedule.person_id,
                                    "meeting": meeting.isoformat(),
                                    "side": side,
                                    "tz": tz,
                                },
                                "created_at": now,
                                "not_before": self._hours.next_open(now, tz),
                            }
                        )
            # Keyed by the pair, not the schedule: stopping and setting up again sends no second agenda. Keys
            # written by earlier versions, by the schedule's id, count too, so an upgrade sends none twice.
            fresh = queries.missing_keys(session, [key for r in rows for key in (r["dedupe_key"], _earlier_key(r))])
            # One dropped when the one-to-ones were stopped goes out after all: they have been set up again.
            requeued = queries.requeue_dropped(session, [r for r in rows if r["dedupe_key"] not in fresh])
            rows = [r for r in rows if r["dedupe_key"] in fresh and _earlier_key(r) in fresh]
            if rows:
                queries.enqueue_many(session, rows)
        return len(rows) + requeued
