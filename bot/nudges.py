"""A scheduler pass: ask the chasing policy what is due for every action whose check time has come,
record each decision in the step ledger (its unique key makes a second pass a no-op), and queue one
message per recipient listing all their items. The message is rendered when it is sent, so it says
how things stand then, and an item closed, snoozed, given a new deadline or handed on in between is left
out."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.chasing import ChasePolicy, ChaseState, Decision, Person, Step, cycle_start_of, decide
from bot.clock import Clock
from bot.views import chasing as views
from bot.working_time import WorkingHours
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, Clinic, OutboxMessage

BATCH = 2000


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
        *,
        oauth_client_id: str | None = None,
    ) -> None:
        """`oauth_client_id`: the OAuth client when workspaces install the app, None with one token. A
        workspace that removed the app is not chased until it has it again (see `queries._installed_only`);
        then each item is caught up in one message, as after downtime."""
        self._sessions = session_factory
        self._clock = clock
        self._hours = hours
        self._policy = policy
        self._oauth_client_id = oauth_client_id

    def policy_for(self, clinic: Clinic | None) -> ChasePolicy:
        return self._policy_with(clinic.chase_overrides if clinic is not None else None)

    def _policy_with(self, overrides: dict[str, Any] | None) -> ChasePolicy:
        if not overrides:
            return self._policy
        return self._policy.model_copy(update=overrides)

    def plan(self, *, dry_run: bool = False) -> PassReport:
        """One sweep over the actions due a check, in batches, each batch in its own transaction. While
        another replica is planning, this one leaves it to them (and only delivers)."""
        with self._sessions() as lock:
            if not queries.try_pass_lock(lock):
                return PassReport()
            try:
                return self._sweep(dry_run)
            finally:
                queries.release_pass_lock(lock)

    def _sweep(self, dry_run: bool) -> PassReport:
        now = self._clock.now()
        report = PassReport()
        after: tuple[datetime, int] | None = None
        while True:
            with self._sessions() as session:
                actions = queries.actions_to_check(
                    session, now, after=after, limit=BATCH, oauth_client_id=self._oauth_client_id
                )
                if not actions:
                    return report
                after = (actions[-1].next_check_at, actions[-1].id)
                report.checked += len(actions)
                report.planned += self._plan_batch(session, actions, now, dry_run)
                if dry_run:
                    session.rollback()
                else:
                    session.commit()

    def _plan_batch(
        self, session: Session, actions: list[queries.ToCheck], now: datetime, dry_run: bool
    ) -> list[Planned]:
        policies: dict[str, ChasePolicy] = {}
        decided: list[tuple[queries.ToCheck, Step]] = []
        progress = []
        for action in actions:
            overrides = action.chase_overrides
            key = json.dumps(overrides, sort_keys=True) if overrides else ""
            if key not in policies:
                policies[key] = self._policy_with(overrides)
            policy = policies[key]
            decision = decide(_state(action), now, policy, self._hours)
            decided += [(action, step) for step in decision.steps]
            progress.append(_progress(action.id, decision.after, decision.next_check, _escalated_at(action, decision)))
        if dry_run:
            return self._messages(session, decided, now, dry_run)
        queries.save_chase_progress(session, progress, {action.id: action.next_check_at for action in actions})
        if decided:
            fresh = queries.record_steps(
                session,
                [
                    {
                        "team_id": a.team_id,
                        "action_id": a.id,
                        "kind": s.kind,
                        "cycle": s.cycle,
                        "number": s.number,
                        "recipient": s.recipient,
                        "planned_at": now,
                    }
                    for a, s in decided
                ],
            )
            decided = [(a, s) for a, s in decided if (a.id, s.kind, s.cycle, s.number) in fresh]
        return self._messages(session, decided, now, dry_run)

    def _messages(
        self, session: Session, decided: list[tuple[queries.ToCheck, Step]], now: datetime, dry_run: bool
    ) -> list[Planned]:
        """One message per recipient listing all their items that go out at the same time (split when there
        are many), queued. An escalation waiting for its owner's nudge to go out first holds back no other."""
        groups: dict[tuple[str, str, datetime], list[tuple[queries.ToCheck, Step]]] = defaultdict(list)
        for action, step in decided:
            groups[(action.team_id, step.recipient, step.send_at or now)].append((action, step))
        planned, rows = [], []
        for (team_id, recipient, not_before), items in groups.items():
            tz = items[0][1].tz
            why = "; ".join(f"#{a.id} {views.WHY[s.kind]}" for a, s in items)
            planned.append(Planned(team_id, recipient, not_before, tuple((a.id, s.kind) for a, s in items), why))
            for start in range(0, len(items), views.ITEMS_PER_MESSAGE):
                chunk = [
                    [a.id, s.kind, s.number, s.cycle.isoformat()]
                    for a, s in items[start : start + views.ITEMS_PER_MESSAGE]
                ]
                rows.append(chase_row(team_id, recipient, tz, chunk, now, not_before))
        if rows and not dry_run:
            queries.enqueue_many(session, rows)
        return planned

    def render(self, session: Session, message: OutboxMessage) -> tuple[str, list[dict[str, Any]]] | None:
        """The text of a chase message as things stand now; None when no item still holds."""
        payload = message.payload or {}
        now = self._clock.now()
        items = []
        for action_id, kind, number, cycle in payload.get("items", []):
            action = queries.get_action(session, message.team_id, action_id)
            step = Step(kind, message.recipient, payload["tz"], number, datetime.fromisoformat(cycle), now)
            if action is not None and _still_called_for(action, step, now):
                items.append((action, step))
        if not items:
            return None
        # What a reply in its thread can be about: the items it shows, not those it was decided with.
        # Stored with the message, which delivery commits with the outcome of the post.
        message.payload = {**payload, "shown": [action.id for action, _ in items]}
        lead_events = {
            action.id: queries.events_since(
                session, message.team_id, action.id, _lead_id(action), action.lead_escalated_at
            )
            for action, step in items
            if step.kind == "sponsor" and action.lead_escalated_at is not None
        }
        unreached = {
            action.id: queries.lead_escalation_failure(
                session, message.team_id, _lead_id(action), action.id, step.cycle.isoformat()
            )
            for action, step in items
            if step.kind == "sponsor"
        }
        handovers = {
            action.id: queries.last_event_at(session, message.team_id, action.id, "reassigned")
            for action, step in items
            if step.kind in ("lead", "sponsor")
        }
        return views.chase_message(items, payload["tz"], now, self._hours, lead_events, handovers, unreached)


def chase_row(
    team_id: str, recipient: str, tz: str, items: list[list[Any]], now: datetime, not_before: datetime
) -> dict[str, Any]:
    """The outbox row of one chase message: its items are [action id, step kind, number, cycle], and its
    key is its first item's step, to its recipient."""
    action_id, kind, number, cycle = items[0]
    return {
        "team_id": team_id,
        "dedupe_key": f"chase:{recipient}:{action_id}:{kind}:{cycle}:{number}",
        "kind": "chase",
        "recipient": recipient,
        "action_id": action_id if len(items) == 1 else None,
        "text": "",
        "blocks": [],
        "payload": {"tz": tz, "items": items},
        "created_at": now,
        "not_before": not_before,
    }


def _lead_id(action: Action) -> str:
    return action.clinic.lead_id if action.clinic is not None else action.assigner_id


def _still_called_for(action: Action, step: Step, now: datetime) -> bool:
    """Whether a step decided earlier still holds when its message goes out (it may have waited for the
    recipient's working hours): the action is open and not snoozed, the recipient still has the role the
    step is for (a lead who owns the action is not escalated to), and the deadline or owner update the
    step counts from has not moved since."""
    if action.closed_at is not None or (action.snoozed_until is not None and now < action.snoozed_until):
        return False
    role = {
        "lead": _lead_id(action),
        "sponsor": action.clinic.sponsor_id if action.clinic is not None else None,
    }.get(step.kind, action.owner_id)
    if step.recipient != role or (step.kind == "lead" and role == action.owner_id):
        return False  # its role changed hands since (and nobody is escalated to about their own action)
    update = action.last_owner_update_at
    if step.kind == "reminder":
        return step.cycle == action.due_at
    if step.kind == "stalled":
        return step.cycle == max(action.created_at, update or action.created_at)
    return step.cycle == cycle_start_of(action.due_at, update)


def _state(action: queries.ToCheck) -> ChaseState:
    return ChaseState(
        action_id=action.id,
        status=action.status,
        owner=Person(action.owner_id, action.owner_tz or "UTC"),
        lead=Person(action.lead_id, action.lead_tz or "UTC"),
        sponsor=Person(action.sponsor_id, action.sponsor_tz or "UTC") if action.sponsor_id else None,
        created_at=action.created_at,
        due_at=action.due_at,
        due_date=action.due_date,
        last_owner_update_at=action.last_owner_update_at,
        snoozed_until=action.snoozed_until,
        cycle_start=action.chase_cycle,
        owner_nudges=action.owner_nudges,
        owner_nudged_at=action.owner_nudged_at,
        lead_escalated_at=action.lead_escalated_at,
        sponsor_escalated_at=action.sponsor_escalated_at,
        reminded_for=action.reminded_for,
        stalled_for=action.stalled_for,
    )


def _escalated_at(action: queries.ToCheck, decision: Decision) -> datetime | None:
    """When the lead was first told of the action since it was last settled (`Action.escalated_at`): kept
    past the chase cycle that told them, which an owner's update ends, unless that update came before their
    escalation went out, which then left it out (see `_still_called_for`)."""
    told, cycle = action.escalated_at, decision.after.cycle_start
    restarted_at = cycle if cycle != action.chase_cycle else None  # an update from the owner, in this pass
    if told is not None and told == action.lead_escalated_at and restarted_at is not None and restarted_at < told:
        told = None
    if told is None and any(step.kind == "lead" for step in decision.steps):
        told = decision.after.lead_escalated_at
    return told


def _progress(
    action_id: int, state: ChaseState, check_at: datetime | None, escalated_at: datetime | None
) -> dict[str, Any]:
    return {
        "id": action_id,
        "chase_cycle": state.cycle_start,
        "owner_nudges": state.owner_nudges,
        "owner_nudged_at": state.owner_nudged_at,
        "lead_escalated_at": state.lead_escalated_at,
        "sponsor_escalated_at": state.sponsor_escalated_at,
        "reminded_for": state.reminded_for,
        "stalled_for": state.stalled_for,
        "escalated_at": escalated_at,
        "next_check_at": check_at,
    }
