"""Clinic actions: their lifecycle, who may change them, and the audit history of every change."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.dates import DueDateError, check_horizon, describe_date, end_of_day, parse_due_date
from bot.errors import NotAllowed, NotFound, UserError, too_long
from bot.names import clean_name
from bot.patient_data import PatientData
from bot.people import People, Person, check_active
from bot.views import actions as views
from bot.wins import queue_win
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, ActionEvent, ExtensionRequest

TITLE_LIMIT = 200
NOTE_LIMIT = 3000


class Status(StrEnum):
    OPEN = "open"
    ON_TRACK = "on_track"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


CLOSED = frozenset({Status.DONE, Status.CANCELLED})


@dataclass(frozen=True)
class MoreTime:
    action: Action
    decider_id: str | None = None  # set when the request awaits a lead's decision


@dataclass(frozen=True)
class NewAction:
    team_id: str
    title: str
    owner_id: str
    assigner_id: str
    due_date: date
    clinic_id: int | None = None
    focus_area_id: int | None = None
    notes: str = ""
    source_link: str | None = None


def clean_title(title: str) -> str:
    title = clean_name(title)
    if not title:
        raise UserError("The action needs a title: what will be done?", field="title")
    if len(title) > TITLE_LIMIT:
        raise UserError(
            f"The title is {len(title)} characters; keep it under {TITLE_LIMIT} and put the detail in the notes.",
            field="title",
        )
    return title


def clean_text(text: str, what: str, *, required: bool = True) -> str:
    """Text someone wrote, stripped; "" when nothing in it would show (see `clean_name`)."""
    text = text.strip() if clean_name(text) else ""
    if required and not text:
        raise UserError(f"Please write the {what}.", field=what)
    if len(text) > NOTE_LIMIT:
        raise UserError(f"The {what} is too long; keep it under {NOTE_LIMIT} characters.", field=what)
    return text


def check_owner(owner: Person) -> None:
    check_active(owner, "owner", "own an action")


def check_due_date(due: date, owner: Person, now: datetime) -> None:
    today = owner.local(now).date()
    if due < today:
        raise UserError(
            f"{describe_date(due, today)} is in the past (today is {describe_date(today, today)} "
            "for the owner). Pick today or a later date.",
            field="due",
        )
    try:
        check_horizon(due, today)
    except DueDateError as exc:
        raise UserError(str(exc), field="due") from None


def may_change(action: Action, user_id: str) -> bool:
    """The owner, whoever assigned it, and the clinic's lead and sponsor may change an action."""
    if user_id in (action.owner_id, action.assigner_id):
        return True
    clinic = action.clinic
    return clinic is not None and user_id in (clinic.lead_id, clinic.sponsor_id)


def lead_of(action: Action) -> str:
    """Who answers for an action above its owner: the clinic's lead, else whoever assigned it."""
    return action.clinic.lead_id if action.clinic is not None else action.assigner_id


def may_lead(action: Action, user_id: str) -> bool:
    """The lead's tools (extend, reassign, nudge, decide on extensions): assigner, lead and sponsor. Never
    its owner as assigner of their own action: they would approve their own request for more time."""
    if user_id == action.assigner_id != action.owner_id:
        return True
    clinic = action.clinic
    return clinic is not None and user_id in (clinic.lead_id, clinic.sponsor_id)


def may_cancel(action: Action, user_id: str) -> bool:
    """Whoever assigned it (an owner who assigned themselves an action may drop it), its lead and sponsor."""
    return user_id == action.assigner_id or may_lead(action, user_id)


def may_see(action: Action, user_id: str) -> bool:
    return may_change(action, user_id)


def _refuse(action: Action, allowed) -> NotAllowed:  # type: ignore[no-untyped-def]
    if allowed in (may_lead, may_cancel):
        return NotAllowed(
            f"Only whoever assigned action #{action.id} and its clinic's lead and sponsor can do that. "
            "Nothing was changed."
        )
    return NotAllowed(
        f"Only the owner of action #{action.id}, whoever assigned it, and its clinic's lead "
        "and sponsor can change it. Nothing was changed."
    )


class ActionService:
    def __init__(
        self, session_factory: SessionFactory, clock: Clock, people: People, patient_data: PatientData
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._people = people
        self._patient_data = patient_data

    # --- creating ---------------------------------------------------------------------------

    def create(self, new: NewAction, owner: Person) -> Action:
        """Register an action and queue the owner's DM, in one transaction."""
        title = self._patient_data.refuse(clean_title(new.title), "title")
        notes = self._patient_data.refuse(clean_text(new.notes, "notes", required=False), "notes")
        check_owner(owner)
        now = self._clock.now()
        check_due_date(new.due_date, owner, now)
        with self._sessions.begin() as session:
            clinic_id, area_id = self._check_clinic(session, new)
            action = Action(
                team_id=new.team_id,
                clinic_id=clinic_id,
                focus_area_id=area_id,
                title=title,
                notes=notes,
                source_link=new.source_link,
                owner_id=owner.user_id,
                assigner_id=new.assigner_id,
                status=Status.OPEN,
                due_date=new.due_date,
                due_at=end_of_day(new.due_date, owner.tz),
                created_at=now,
                updated_at=now,
                next_check_at=now,
            )
            session.add(action)
            session.flush()
            record(session, action, new.assigner_id, "created", now, due=new.due_date.isoformat())
            action = queries.get_action(session, new.team_id, action.id)
            assert action is not None
            tell(session, action, "assigned", owner.user_id, views.assignment_message(action, owner, now), now)
            return action

    def _check_clinic(self, session: Session, new: NewAction) -> tuple[int | None, int | None]:
        area_id = new.focus_area_id
        clinic_id = new.clinic_id
        if area_id is not None:
            area = queries.get_focus_area(session, new.team_id, area_id)
            if area is None:
                raise UserError("That focus area no longer exists; pick another.", field="clinic")
            clinic_id = area.clinic_id
        if clinic_id is not None and queries.get_clinic(session, new.team_id, clinic_id) is None:
            raise UserError("That clinic no longer exists; pick another.", field="clinic")
        return clinic_id, area_id

    # --- changing ---------------------------------------------------------------------------

    def set_status(self, team_id: str, action_id: int, actor_id: str, status: Status, reason: str = "") -> Action:
        now = self._clock.now()
        if status == Status.BLOCKED:
            reason = self._patient_data.refuse(clean_text(reason, "reason"), "reason")
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id)
            ensure_open(action)
            before = action.status
            action.status = status
            action.blocked_reason = reason if status == Status.BLOCKED else None
            if status in CLOSED:
                action.closed_at = now
            if status == Status.DONE:
                queue_win(session, action, now)
            touch(action, actor_id, now)
            detail: dict[str, Any] = {"from": before, "to": str(status)}
            if reason:
                detail["reason"] = reason
            record(session, action, actor_id, "status", now, **detail)
            if status == Status.BLOCKED and action.assigner_id != actor_id:
                self._tell_assigner(session, action, actor_id, "blocked", now)
            if status == Status.DONE and action.owner_id != actor_id:
                message = views.closed_for_owner(action, actor_id)
                tell(session, action, "closed", action.owner_id, message, now, unique=now.isoformat())
            return action

    def request_more_time(self, team_id: str, action_id: int, actor_id: str, new_date: date, reason: str) -> MoreTime:
        """Move the deadline and tell the assigner; once the action has been escalated, the owner's
        request goes to the lead instead, and the deadline moves only when they approve (updates from the
        owner since do not change that: only a new deadline from the lead's side or a new owner does)."""
        reason = self._patient_data.refuse(clean_text(reason, "reason"), "reason")
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id)
            ensure_open(action)
            owner = self._people.cached(session, team_id, action.owner_id)
            queries.lapse_extensions(session, action.id, owner.local(now).date(), now)
            waiting = queries.pending_extension(session, action.id, asked_by=actor_id)
            if waiting is not None:  # asking again must not move it past the lead's answer
                who = self._people.cached(session, team_id, waiting.decider_id).name or "The lead"
                raise UserError(
                    f"You asked for more time already, and {who} has not answered yet. Nothing was changed.",
                    field="due",
                )
            if action.escalated_at is not None and actor_id == action.owner_id:
                decider = lead_of(action)
                # Checked now, as the lead's approval would: a date they could never approve would leave
                # the owner waiting on a request that blocks asking again.
                check_new_deadline(action, new_date, owner, now)
                request = ExtensionRequest(
                    team_id=team_id,
                    action_id=action.id,
                    requested_by=actor_id,
                    decider_id=decider,
                    new_date=new_date,
                    reason=reason,
                    created_at=now,
                )
                session.add(request)
                session.flush()
                touch(action, actor_id, now)
                record(
                    session,
                    action,
                    actor_id,
                    "extension_requested",
                    now,
                    to=new_date.isoformat(),
                    reason=reason,
                )
                reader = self._people.cached(session, team_id, decider)
                message = views.extension_request(action, request, reader, now)
                tell(session, action, "extension_request", decider, message, now, unique=str(request.id))
                return MoreTime(action, decider_id=decider)
            move_deadline(session, action, actor_id, new_date, owner, now, reason=reason)
            if actor_id != owner.user_id:  # a lead, sponsor or assigner moved it: the owner must know, and why
                message = views.deadline_extended(action, actor_id, owner, now, reason)
                tell(session, action, "deadline_extended", owner.user_id, message, now, unique=now.isoformat())
            if action.assigner_id not in (actor_id, owner.user_id):
                self._tell_assigner(session, action, actor_id, "more_time", now, reason)
            return MoreTime(action)

    def note_from_reply(
        self, team_id: str, *, channel: str, thread_ts: str, actor_id: str, text: str, event_id: str
    ) -> bool:
        """A reply in the thread of a message about an action becomes a progress note on it (on the one it
        names, for a nudge about several). Keyed by Slack's event id, so a redelivered event adds nothing
        twice."""
        text = text.strip()
        if not text:
            return False
        now = self._clock.now()
        with self._sessions.begin() as session:
            message = queries.outbox_for_message(session, team_id, channel, thread_ts)
            if message is None or not message.action_ids:
                return False
            try:
                action = load_changeable(session, team_id, replied_about(message.action_ids, text), actor_id)
                if len(text) > NOTE_LIMIT:
                    raise UserError(too_long("note", text, NOTE_LIMIT))
            except (NotFound, NotAllowed) as error:  # say, the owner it was taken from
                refused = UserError(f"I didn't keep that note. {error.message}")
            except UserError as error:
                refused = error
            else:
                if event_id and not queries.mark_event_processed(session, team_id, event_id, now):
                    return False
                touch(action, actor_id, now)
                record(session, action, actor_id, "note", now, text=text)
                return True
            # The event is kept as processed, so that Slack delivering it again repeats no hint.
            if event_id and not queries.mark_event_processed(session, team_id, event_id, now):
                return False
        raise refused

    def first_delivery(self, team_id: str, event_id: str) -> bool:
        """Whether Slack delivers this event for the first time: records its id (a reply refused before
        anything of it is stored is still explained only once, however often Slack delivers it)."""
        if not event_id:
            return True
        with self._sessions.begin() as session:
            return queries.mark_event_processed(session, team_id, event_id, self._clock.now())

    # --- reading ----------------------------------------------------------------------------

    def snooze(self, team_id: str, action_id: int, actor_id: str, until_text: str) -> tuple[Action, date]:
        """No reminders, nudges or escalations before the day typed (from its start, owner's time)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id)
            ensure_open(action)
            owner = self._people.cached(session, team_id, action.owner_id)
            until = parse_due(until_text, owner, now)
            if until <= owner.local(now).date():
                raise UserError("Snooze until a future date, for example `/clinic snooze 12 until monday`.")
            action.snoozed_until = datetime.combine(until, time(0, 0), tzinfo=owner.zone).astimezone(UTC)
            touch(action, actor_id, now)
            record(session, action, actor_id, "snoozed", now, until=until.isoformat())
            return action, until

    def get_changeable(self, team_id: str, action_id: int, actor_id: str, *, lead: bool = False) -> Action:
        """The open action, for a form about to change it (`lead`: one of the lead's tools)."""
        with self._sessions() as session:
            allowed = may_lead if lead else may_change
            # Nothing is written here: no lock, which would hold up writers while the form opens.
            action = load_changeable(session, team_id, action_id, actor_id, allowed=allowed, lock=False)
            ensure_open(action)
            return action

    def get_visible(self, team_id: str, action_id: int, viewer_id: str) -> Action:
        with self._sessions() as session:
            action = queries.get_action(session, team_id, action_id)
            if action is None or not may_see(action, viewer_id):
                raise NotFound(f"There is no action #{action_id} that you can see.")
            return action

    def history(self, team_id: str, action_id: int, viewer_id: str) -> tuple[Action, Sequence[ActionEvent]]:
        action = self.get_visible(team_id, action_id, viewer_id)
        with self._sessions() as session:
            return action, queries.action_history(session, team_id, action_id)

    def cancel(self, team_id: str, action_id: int, actor_id: str, reason: str) -> Action:
        """Drop an action that is no longer needed: its assigner, the clinic's lead or sponsor may; the owner
        hears why. It leaves every list and is never chased again; its history stays."""
        reason = self._patient_data.refuse(clean_text(reason, "reason", required=False), "reason")
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id, allowed=may_cancel)
            ensure_open(action)
            before = action.status
            action.status = Status.CANCELLED
            action.closed_at = now
            touch(action, actor_id, now)
            detail: dict[str, Any] = {"from": before, "to": str(Status.CANCELLED)}
            if reason:
                detail["reason"] = reason
            record(session, action, actor_id, "status", now, **detail)
            if action.owner_id != actor_id:
                tell(session, action, "cancelled", action.owner_id, views.cancelled(action, actor_id, reason), now)
            return action

    def _tell_assigner(
        self, session: Session, action: Action, actor_id: str, kind: str, now: datetime, reason: str = ""
    ) -> None:
        assigner = self._people.cached(session, action.team_id, action.assigner_id)
        message = views.assigner_update(action, actor_id, kind, assigner, now, reason)
        tell(session, action, kind, assigner.user_id, message, now, unique=now.isoformat())


# --- shared by the services that change actions ---------------------------------------------------


def load_changeable(
    session: Session,
    team_id: str,
    action_id: int,
    actor_id: str,
    allowed=may_change,  # type: ignore[no-untyped-def]
    *,
    lock: bool = True,
) -> Action:
    """The action, for a change `actor_id` may make; locked (`lock`) until the change is committed."""
    action = queries.get_action(session, team_id, action_id, lock=lock)
    if action is None:
        raise NotFound(f"There is no action #{action_id} in this workspace.")
    if not allowed(action, actor_id):
        raise _refuse(action, allowed)
    return action


def ensure_open(action: Action) -> None:
    if action.status in CLOSED:
        raise UserError(f"Action #{action.id} is already {views.STATUS_WORDS[action.status]}.")


def touch(action: Action, actor_id: str, now: datetime) -> None:
    """Any change asks the next pass to look again; an owner's update restarts the chase."""
    action.updated_at = now
    action.next_check_at = None if action.closed_at is not None else now
    if actor_id == action.owner_id:
        action.last_owner_update_at = now


def record(session: Session, action: Action, actor_id: str, kind: str, now: datetime, **detail: Any) -> None:
    session.add(
        ActionEvent(team_id=action.team_id, action_id=action.id, at=now, actor_id=actor_id, kind=kind, detail=detail)
    )


def replied_about(action_ids: list[int], text: str) -> int:
    """Which of a message's actions a reply is about: its only one, or the one of several the reply names."""
    if len(action_ids) == 1:
        return action_ids[0]
    named = {int(number) for number in re.findall(r"#(\d{1,9})\b", text)} & set(action_ids)
    if len(named) == 1:
        return named.pop()
    numbers = ", ".join(f"#{action_id}" for action_id in action_ids)
    raise UserError(
        f"I didn't note that: this message is about {numbers}. Reply once for each, starting with its "
        f"number, for example “#{action_ids[0]} waiting on pharmacy”."
    )


def tell(
    session: Session,
    action: Action,
    kind: str,
    recipient: str,
    message: tuple[str, list[dict[str, Any]]],
    now: datetime,
    unique: str = "",
    also: Sequence[Action] = (),
) -> None:
    """Queue a message about an action (and `also` others: then a reply in its thread must name which),
    in the same transaction as the change it reports."""
    text, blocks = message
    about: dict[str, Any] = {"action_id": action.id}
    if also:
        about = {"action_id": None, "payload": {"items": [[a.id] for a in (action, *also)]}}
    queries.enqueue(
        session,
        team_id=action.team_id,
        dedupe_key=f"{kind}:{action.id}:{recipient}:{unique}",
        kind=kind,
        recipient=recipient,
        text=text,
        blocks=blocks,
        created_at=now,
        not_before=now,
        **about,
    )


def check_new_deadline(action: Action, new_date: date, owner: Person, now: datetime) -> None:
    check_due_date(new_date, owner, now)
    if new_date <= action.due_date:
        raise UserError(
            f"The new date must be after the current deadline "
            f"({describe_date(action.due_date, owner.local(now).date())}).",
            field="due",
        )


def lapsed(request: ExtensionRequest, owner: Person, now: datetime) -> bool:
    """A request for more time has lapsed once the date it asks for has passed on its owner's calendar: no lead
    can approve it any more, and it no longer stops the owner asking again (`queries.lapse_extensions` writes
    that down when they do)."""
    return request.new_date < owner.local(now).date()


def move_deadline(
    session: Session,
    action: Action,
    actor_id: str,
    new_date: date,
    owner: Person,
    now: datetime,
    **detail: Any,
) -> None:
    check_new_deadline(action, new_date, owner, now)
    before = action.due_date
    action.due_date = new_date
    action.due_at = end_of_day(new_date, owner.tz)
    # A new deadline settles an escalation: once escalated, only the lead's side moves it (an approval,
    # Extend deadline, their own Need more time), and the owner asks the lead again once it is escalated anew.
    action.escalated_at = None
    touch(action, actor_id, now)
    # A request waiting for the lead that this deadline already grants could never be approved (its date
    # is no longer after the deadline), and would stop the owner from asking again.
    queries.settle_extensions(session, action.id, new_date, actor_id, now)
    record(
        session,
        action,
        actor_id,
        "deadline",
        now,
        **{"from": before.isoformat(), "to": new_date.isoformat(), **detail},
    )


def parse_due(text: str, owner: Person, now: datetime) -> date:
    """Read a typed deadline relative to the owner's today; raises UserError with how to write it."""
    try:
        return parse_due_date(text, owner.local(now).date())
    except DueDateError as exc:
        raise UserError(str(exc), field="due") from None
