"""What a lead (or sponsor, or whoever assigned it) can do with an escalated action: nudge the owner
again, extend the deadline, reassign it, put it on the next one-to-one, and decide on an owner's request
for more time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.actions import (
    check_owner,
    clean_text,
    ensure_open,
    lapsed,
    load_changeable,
    may_lead,
    move_deadline,
    record,
    tell,
    touch,
)
from bot.clock import Clock
from bot.dates import end_of_day
from bot.errors import NotFound, UserError
from bot.patient_data import PatientData
from bot.people import People, Person
from bot.views import actions as views
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, AgendaItem, ExtensionRequest

# A second Nudge again by the same person within this long is a double click or an impatient one: the owner
# was nudged a moment ago, and hears it once.
NUDGE_AGAIN_AFTER = timedelta(minutes=5)


class EscalationService:
    def __init__(
        self, session_factory: SessionFactory, clock: Clock, people: People, patient_data: PatientData
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._people = people
        self._patient_data = patient_data

    def nudge_again(self, team_id: str, action_id: int, actor_id: str) -> tuple[Action, bool]:
        """The action, and whether its owner was nudged now: not when this person nudged them a moment ago."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id, allowed=may_lead)
            ensure_open(action)
            last = queries.last_event_at(session, team_id, action.id, "nudged", by=actor_id)
            # Held back only while nothing came between: an update from the owner, or a new owner.
            since = action.last_owner_update_at
            if last is not None and now - last < NUDGE_AGAIN_AFTER and (since is None or since <= last):
                return action, False
            record(session, action, actor_id, "nudged", now)
            owner = self._people.cached(session, team_id, action.owner_id)
            tell(
                session,
                action,
                "lead_nudge",
                owner.user_id,
                views.lead_nudge(action, actor_id, owner, now),
                now,
                unique=now.isoformat(),
            )
            return action, True

    def extend(self, team_id: str, action_id: int, actor_id: str, new_date: date, note: str = "") -> Action:
        note = self._patient_data.refuse(clean_text(note, "note", required=False), "note")
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id, allowed=may_lead)
            ensure_open(action)
            owner = self._people.cached(session, team_id, action.owner_id)
            move_deadline(session, action, actor_id, new_date, owner, now, reason=note)
            tell(
                session,
                action,
                "deadline_extended",
                owner.user_id,
                views.deadline_extended(action, actor_id, owner, now, note),
                now,
                unique=now.isoformat(),
            )
            return action

    def reassign(self, team_id: str, action_id: int, actor_id: str, new_owner: Person) -> tuple[Action, str]:
        """The action, now the new owner's, and who owned it before."""
        check_owner(new_owner)
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id, allowed=may_lead)
            ensure_open(action)
            if new_owner.user_id == action.owner_id:
                raise UserError("They already own it: pick someone else.", field="owner")
            before = action.owner_id
            action.owner_id = new_owner.user_id
            action.due_at = end_of_day(action.due_date, new_owner.tz)
            touch(action, actor_id, now)
            action.last_owner_update_at = now  # a new owner starts a fresh chase
            action.escalated_at = None  # and has not been escalated about: their Need more time is theirs
            record(session, action, actor_id, "reassigned", now, **{"from": before, "to": new_owner.user_id})
            # The new owner asked for nothing: a late approval must not move their deadline unasked.
            withdrawn = queries.withdraw_extensions(session, action.id, before, actor_id, now)
            # Put on a one-to-one, it is now to be discussed with whoever owns it.
            session.execute(
                update(AgendaItem)
                .where(AgendaItem.action_id == action.id, AgendaItem.discussed_at.is_(None))
                .values(person_id=new_owner.user_id)
            )
            tell(
                session,
                action,
                "assigned",
                new_owner.user_id,
                views.assignment_message(action, new_owner, now, handed_by=actor_id),
                now,
                unique=now.isoformat(),
            )
            tell(
                session,
                action,
                "reassigned_away",
                before,
                views.reassigned_away(action, actor_id, withdrawn=bool(withdrawn)),
                now,
                unique=now.isoformat(),
            )
            return action, before

    def add_to_agenda(self, team_id: str, action_id: int, actor_id: str) -> bool:
        """True when it was added; False when it was already on the next one-to-one. A closed action is
        refused: an agenda shows open actions only, so it would never come up."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            action = load_changeable(session, team_id, action_id, actor_id, allowed=may_lead)
            ensure_open(action)
            already = session.scalar(
                select(AgendaItem.id).where(
                    AgendaItem.team_id == team_id,
                    AgendaItem.lead_id == actor_id,
                    AgendaItem.action_id == action.id,
                    AgendaItem.discussed_at.is_(None),
                )
            )
            if already:
                return False
            session.add(
                AgendaItem(
                    team_id=team_id,
                    lead_id=actor_id,
                    person_id=action.owner_id,
                    action_id=action.id,
                    added_by=actor_id,
                    added_at=now,
                )
            )
            record(session, action, actor_id, "agenda", now)
            return True

    def decide_extension(
        self, team_id: str, request_id: int, actor_id: str, approve: bool
    ) -> tuple[ExtensionRequest, Action]:
        now = self._clock.now()
        with self._sessions.begin() as session:
            request = session.get(ExtensionRequest, request_id, with_for_update=True)
            if request is None or request.team_id != team_id:
                raise NotFound("That request no longer exists.")
            action = load_changeable(session, team_id, request.action_id, actor_id, allowed=may_lead)
            if request.state != "pending":
                raise already_decided(request.state, action)
            ensure_open(action)
            owner = self._people.cached(session, team_id, action.owner_id)
            asker = self._people.cached(session, team_id, request.requested_by)
            if approve and lapsed(request, owner, now):
                # A button has no date to pick: the request is settled as out of date, and its asker may ask
                # again (or the lead extends the deadline to a date of their own).
                settle(session, request, "lapsed", actor_id, now, action)
                message = views.extension_lapsed(action, request, actor_id, asker, now)
                tell(session, action, "extension_decided", asker.user_id, message, now, unique=str(request.id))
                return request, action
            settle(session, request, "approved" if approve else "refused", actor_id, now, action)
            if approve:
                move_deadline(
                    session,
                    action,
                    actor_id,
                    request.new_date,
                    owner,
                    now,
                    reason=request.reason,
                    approved_request=request.id,
                )
            else:
                touch(action, actor_id, now)
                record(session, action, actor_id, "extension_refused", now, request=request.id)
            tell(
                session,
                action,
                "extension_decided",
                asker.user_id,
                views.extension_decided(action, approve, actor_id, asker, now),
                now,
                unique=str(request.id),
            )
            if approve and action.assigner_id not in (asker.user_id, actor_id):
                # Before an escalation the same button told the assigner of the new date: so does its approval.
                assigner = self._people.cached(session, team_id, action.assigner_id)
                message = views.assigner_update(
                    action, asker.user_id, "more_time", assigner, now, request.reason, approved_by=actor_id
                )
                tell(session, action, "more_time", assigner.user_id, message, now, unique=str(request.id))
            return request, action


def settle(
    session: Session, request: ExtensionRequest, state: str, actor_id: str, now: datetime, action: Action
) -> None:
    """Decide a pending request, or refuse as already decided. The lead and the sponsor may both answer at the
    same moment, and SQLite has no row lock: the request read as pending may be decided by now, so only a write
    conditional on it still pending decides it."""
    if not queries.decide_extension(session, request.id, state, actor_id, now):
        session.refresh(request)
        raise already_decided(request.state, action)


def already_decided(state: str, action: Action) -> UserError:
    if state == "withdrawn":
        return UserError(f"That request was already withdrawn: #{action.id} was reassigned.")
    if state == "lapsed":
        return UserError("That request is out of date: the date asked for passed before it was answered.")
    return UserError(f"That request was already {state}.")
