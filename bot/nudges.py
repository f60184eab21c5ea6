"""A scheduler pass: ask the chasing policy what is due for every action whose check time has come,
record each decision in the step ledger (its unique key makes a second pass a no-op), and queue one
message per recipient listing all their items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.chasing import ChasePolicy, ChaseState, Person, Step, advance, due_steps, next_check
from bot.clock import Clock
from bot.views import chasing as views
from bot.working_time import WorkingHours
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, Clinic

BATCH = 500


@dataclass(frozen=True)
class Planned:
    """One message decided by a pass (also what `tick --dry-run` prints)."""

    team_id: str
    recipient: str
    not_before: datetime
    items: tuple[tuple[int, str], ...]  # (action id, step kind)
    why: str


@dataclass
class PassReport:
    checked: int = 0
    planned: list[Planned] = field(default_factory=list)


class NudgePlanner:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        hours: WorkingHours,
        policy: ChasePolicy,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._hours = hours
        self._policy = policy

    def policy_for(self, clinic: Clinic | None) -> ChasePolicy:
        if clinic is None or not clinic.chase_overrides:
            return self._policy
        return self._policy.model_copy(update=clinic.chase_overrides)

    def plan(self, *, dry_run: bool = False) -> PassReport:
        """One sweep over the actions due a check, in batches, each batch in its own transaction."""
        now = self._clock.now()
        report = PassReport()
        last_id = 0
        while True:
            with self._sessions() as session:
                actions = list(queries.actions_to_check(session, now, after_id=last_id, limit=BATCH))
                if not actions:
                    return report
                last_id = actions[-1].id
                report.checked += len(actions)
                report.planned += self._plan_batch(session, actions, now, dry_run)
                if dry_run:
                    session.rollback()
                else:
                    session.commit()

    def _plan_batch(
        self, session: Session, actions: list[Action], now: datetime, dry_run: bool
    ) -> list[Planned]:
        people = queries.users_by_id(
            session,
            {(a.team_id, uid) for a in actions for uid in _people_of(a)},
        )

        def person(team_id: str, user_id: str) -> Person:
            row = people.get((team_id, user_id))
            return Person(user_id, row.tz if row else "UTC")

        groups: dict[tuple[str, str], list[tuple[Action, Step, ChaseState]]] = defaultdict(list)
        for action in actions:
            state = _state(action, person)
            policy = self.policy_for(action.clinic)
            steps = due_steps(state, now, policy, self._hours)
            for step in steps:
                if dry_run or queries.record_step(
                    session,
                    team_id=action.team_id,
                    action_id=action.id,
                    kind=step.kind,
                    cycle=step.cycle,
                    number=step.number,
                    recipient=step.recipient,
                    planned_at=now,
                ):
                    groups[(action.team_id, step.recipient)].append((action, step, state))
            after = advance(state, steps, now)
            _save(action, after, next_check(after, now, policy, self._hours))
        planned = []
        for (team_id, recipient), items in groups.items():
            tz = items[0][1].tz
            not_before = self._hours.next_open(now, tz)
            why = "; ".join(f"#{action.id} {views.WHY[step.kind]}" for action, step, _ in items)
            planned.append(
                Planned(team_id, recipient, not_before, tuple((a.id, s.kind) for a, s, _ in items), why)
            )
            if not dry_run:
                self._enqueue(session, team_id, recipient, tz, items, now, not_before)
        return planned

    def _enqueue(
        self,
        session: Session,
        team_id: str,
        recipient: str,
        tz: str,
        items: list[tuple[Action, Step, ChaseState]],
        now: datetime,
        not_before: datetime,
    ) -> None:
        for chunk_start in range(0, len(items), views.ITEMS_PER_MESSAGE):
            chunk = items[chunk_start : chunk_start + views.ITEMS_PER_MESSAGE]
            lead_actions = {
                action.id: queries.events_since(
                    session, team_id, action.id, state.lead.user_id, state.lead_escalated_at
                )
                for action, step, state in chunk
                if step.kind == "sponsor" and state.lead_escalated_at is not None
            }
            text, blocks = views.chase_message(
                [(action, step) for action, step, _ in chunk], tz, now, self._hours, lead_actions
            )
            first = chunk[0]
            queries.enqueue(
                session,
                team_id=team_id,
                dedupe_key=f"chase:{recipient}:{first[0].id}:{first[1].key}",
                kind="chase",
                recipient=recipient,
                action_id=first[0].id if len(chunk) == 1 else None,
                text=text,
                blocks=blocks,
                created_at=now,
                not_before=not_before,
            )


def _people_of(action: Action) -> list[str]:
    ids = [action.owner_id, action.assigner_id]
    if action.clinic is not None:
        ids += [action.clinic.lead_id] + ([action.clinic.sponsor_id] if action.clinic.sponsor_id else [])
    return ids


def _state(action: Action, person: Callable[[str, str], Person]) -> ChaseState:
    clinic = action.clinic
    lead_id = clinic.lead_id if clinic is not None else action.assigner_id
    sponsor_id = clinic.sponsor_id if clinic is not None else None
    return ChaseState(
        action_id=action.id,
        status=action.status,
        owner=person(action.team_id, action.owner_id),
        lead=person(action.team_id, lead_id),
        sponsor=person(action.team_id, sponsor_id) if sponsor_id else None,
        created_at=action.created_at,
        due_at=action.due_at,
        due_date=action.due_date,
        last_owner_update_at=action.last_owner_update_at,
        snoozed_until=action.snoozed_until,
        cycle_start=action.chase_cycle,
        owner_nudges=action.owner_nudges,
        lead_escalated_at=action.lead_escalated_at,
        sponsor_escalated_at=action.sponsor_escalated_at,
        reminded_for=action.reminded_for,
        stalled_for=action.stalled_for,
    )


def _save(action: Action, state: ChaseState, check_at: datetime | None) -> None:
    action.chase_cycle = state.cycle_start
    action.owner_nudges = state.owner_nudges
    action.lead_escalated_at = state.lead_escalated_at
    action.sponsor_escalated_at = state.sponsor_escalated_at
    action.reminded_for = state.reminded_for
    action.stalled_for = state.stalled_for
    action.next_check_at = check_at
