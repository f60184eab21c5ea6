"""Preparing a one-to-one from the real state of a person's actions: what slipped, what is blocked or
stalled, what is due soon, what to thank them for, what they asked for, and the coaching questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from bot.clock import Clock
from bot.errors import UserError
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, AgendaItem, ExtensionRequest

QUESTIONS = (
    "From 1 to 10, how committed are you to this change?",
    "If you're not at a 9 or 10, what would help get you there?",
    "What is blocking you?",
    "What help do you need from me?",
)
STALLED = timedelta(days=14)
SOON = timedelta(days=7)


@dataclass
class Agenda:
    person_id: str
    overdue: list[Action] = field(default_factory=list)
    blocked: list[Action] = field(default_factory=list)
    stalled: list[Action] = field(default_factory=list)
    due_soon: list[Action] = field(default_factory=list)
    wins: list[Action] = field(default_factory=list)
    requests: list[tuple[Action, ExtensionRequest]] = field(default_factory=list)
    added: list[Action] = field(default_factory=list)  # put on the agenda from an escalation
    questions: tuple[str, ...] = QUESTIONS


class OneOnOneService:
    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def agenda(self, team_id: str, lead_id: str, person_id: str) -> Agenda:
        if lead_id == person_id:
            raise UserError("A one-to-one needs someone else: `/clinic 1on1 @person`.")
        now = self._clock.now()
        with self._sessions() as session:
            visible = list(queries.open_actions_visible_to(session, team_id, lead_id, owner_id=person_id, limit=500))
            agenda = Agenda(person_id)
            for action in visible:
                if action.status == "blocked":
                    agenda.blocked.append(action)
                elif action.due_at < now:
                    agenda.overdue.append(action)
                elif now - (action.last_owner_update_at or action.created_at) >= STALLED:
                    agenda.stalled.append(action)
                elif action.due_at < now + SOON:
                    agenda.due_soon.append(action)
            agenda.wins = list(
                queries.recently_done_by(session, team_id, person_id, now - timedelta(days=14), limit=10)
            )
            ids = [a.id for a in visible]
            if ids:
                agenda.requests = [
                    (next(a for a in visible if a.id == r.action_id), r)
                    for r in session.scalars(
                        select(ExtensionRequest).where(
                            ExtensionRequest.team_id == team_id,
                            ExtensionRequest.action_id.in_(ids),
                            ExtensionRequest.state == "pending",
                        )
                    )
                ]
                added = set(
                    session.scalars(
                        select(AgendaItem.action_id).where(
                            AgendaItem.team_id == team_id,
                            AgendaItem.lead_id == lead_id,
                            AgendaItem.person_id == person_id,
                            AgendaItem.discussed_at.is_(None),
                        )
                    )
                )
                agenda.added = [a for a in visible if a.id in added]
            return agenda
