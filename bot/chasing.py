"""The chasing policy: which reminders, nudges and escalations are due for an action at `now`.

Pure functions of an action's state and the clock, so they can be reasoned about and property-tested:
`due_steps` says what to send, `next_check` says when anything could next become due. Days are working
days in the RECIPIENT's time zone; each step becomes due at the opening of a working window."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel, Field

from bot.working_time import WorkingHours

OPEN = ("open", "on_track", "blocked")


class ChasePolicy(BaseModel):
    """How persistently to chase. Workspace defaults come from settings; a clinic's lead may override."""

    reminder: bool = Field(True, description="remind the owner on the working day before the deadline")
    repeat_every_days: int = Field(2, ge=1, le=20, description="working days between overdue nudges")
    owner_nudges: int = Field(3, ge=0, le=10, description="overdue nudges to the owner, at most, per cycle")
    lead_after_days: int = Field(3, ge=1, le=60, description="working days overdue before the lead hears")
    sponsor_after_days: int = Field(7, ge=1, le=90, description="working days overdue before the sponsor hears")
    stalled_after_days: int = Field(14, ge=1, le=180, description="days without an owner update before a check-in")

    model_config = {"frozen": True, "extra": "forbid"}

    @property
    def escalates_in_order(self) -> bool:
        """The sponsor hears after the lead, never with or before them."""
        return self.sponsor_after_days > self.lead_after_days


class Person(NamedTuple):
    user_id: str
    tz: str


class ChaseState(NamedTuple):
    """What the policy needs to know about one action; built from its row, nothing else."""

    action_id: int
    status: str
    owner: Person
    lead: Person  # the clinic lead, else whoever assigned it
    sponsor: Person | None
    created_at: datetime
    due_at: datetime
    due_date: date
    last_owner_update_at: datetime | None = None
    snoozed_until: datetime | None = None
    # progress, reset whenever a new cycle starts
    cycle_start: datetime | None = None
    owner_nudges: int = 0
    owner_nudged_at: datetime | None = None  # when the latest overdue nudge goes out (it may wait for morning)
    lead_escalated_at: datetime | None = None
    sponsor_escalated_at: datetime | None = None
    reminded_for: date | None = None
    stalled_for: datetime | None = None


class Step(NamedTuple):
    kind: str  # reminder | overdue | lead | sponsor | stalled
    recipient: str
    tz: str
    number: int  # which overdue nudge; 1 for everything else
    cycle: datetime  # the instant the chase cycle started (deadline, or the owner's last update)
    due_at: datetime  # when it became due: the opening of a working window in the recipient's zone
    send_at: datetime | None = None  # once chosen: when it goes out, in the recipient's working hours
    # Once chosen: the owner's other steps due by then that this one message stands for (a reminder and a
    # "still on track?" due together, or after downtime), marked as sent with it so none follows it.
    covers: tuple[Step, ...] = ()


def cycle_start(state: ChaseState) -> datetime:
    return cycle_start_of(state.due_at, state.last_owner_update_at)


def cycle_start_of(due_at: datetime, last_owner_update_at: datetime | None) -> datetime:
    """Overdue chasing counts from the deadline, or from the owner's latest update after it."""
    update = last_owner_update_at
    return update if update is not None and update > due_at else due_at


def current(state: ChaseState) -> ChaseState:
    """The state with progress reset when the cycle moved on (an owner update, a new deadline)."""
    start = cycle_start(state)
    if state.cycle_start == start:
        return state
    return state._replace(
        cycle_start=start, owner_nudges=0, owner_nudged_at=None, lead_escalated_at=None, sponsor_escalated_at=None
    )


def planned_steps(state: ChaseState, policy: ChasePolicy, hours: WorkingHours) -> list[Step]:
    """Every step this state calls for, due now or later, in order of time."""
    if state.status not in OPEN:
        return []
    state = current(state)
    start = cycle_start(state)
    owner, steps = state.owner, []
    overdue_cycle = start == state.due_at
    if policy.reminder and state.reminded_for != state.due_date:
        day_before = hours.working_day_before(state.due_date)
        remind_at = hours.window(day_before, owner.tz)[0]
        if state.created_at < remind_at < state.due_at:
            steps.append(Step("reminder", owner.user_id, owner.tz, 1, state.due_at, remind_at))
    first = 1 if overdue_cycle else policy.repeat_every_days
    for number in range(state.owner_nudges + 1, policy.owner_nudges + 1):
        offset = first + policy.repeat_every_days * (number - 1)
        at = hours.start_of_working_day_after(start, offset, owner.tz)
        steps.append(Step("overdue", owner.user_id, owner.tz, number, start, at))
    if state.lead_escalated_at is None and state.lead.user_id != owner.user_id:
        at = hours.start_of_working_day_after(start, policy.lead_after_days, state.lead.tz)
        steps.append(Step("lead", state.lead.user_id, state.lead.tz, 1, start, at))
    if state.sponsor is not None and state.sponsor_escalated_at is None and state.sponsor.user_id != state.lead.user_id:
        at = hours.start_of_working_day_after(start, policy.sponsor_after_days, state.sponsor.tz)
        steps.append(Step("sponsor", state.sponsor.user_id, state.sponsor.tz, 1, start, at))
    last_update = max(state.created_at, state.last_owner_update_at or state.created_at)
    if state.stalled_for != last_update:
        at = hours.next_open(last_update + timedelta(days=policy.stalled_after_days), owner.tz)
        if at < state.due_at:
            steps.append(Step("stalled", owner.user_id, owner.tz, 1, last_update, at))
    return sorted(steps, key=lambda s: s.due_at)


OWNER_KINDS = ("reminder", "overdue", "stalled")


def due_steps(state: ChaseState, now: datetime, policy: ChasePolicy, hours: WorkingHours) -> list[Step]:
    """What to send at `now`. At most one owner message per action, the latest that is due (after
    downtime: one catch-up, not every missed step); escalation strictly owner -> lead -> sponsor, each
    going out no sooner than the one before it, and the sponsor's not before the working day after the
    lead was told; nothing while snoozed or closed."""
    if state.snoozed_until is not None and now < state.snoozed_until:
        return []
    state = current(state)
    return _select(state, now, planned_steps(state, policy, hours), policy, hours)


def _select(state: ChaseState, now: datetime, plan: list[Step], policy: ChasePolicy, hours: WorkingHours) -> list[Step]:
    """Each chosen step with when it goes out: in its recipient's working hours, and never before the step
    below it, chosen now or in an earlier pass (after downtime or a snooze, the owner's catch-up may wait
    for a morning the lead's would not)."""
    due = [s for s in plan if s.due_at <= now]
    overdue = now >= state.due_at
    to_owner = [s for s in due if s.kind in OWNER_KINDS and not (overdue and s.kind != "overdue")]
    chosen = [s._replace(send_at=hours.next_open(now, s.tz), covers=tuple(to_owner[:-1])) for s in to_owner[-1:]]
    owner_heard = state.owner_nudges > 0 or policy.owner_nudges == 0 or any(s.kind == "overdue" for s in chosen)
    after = max([now, *(s.send_at for s in chosen if s.send_at is not None), state.owner_nudged_at or now])
    for step in due:
        ready = _ready_at(step, state, hours)
        if (step.kind == "lead" and owner_heard) or (step.kind == "sponsor" and ready is not None and ready <= now):
            chosen.append(step._replace(send_at=hours.next_open(after, step.tz)))
    return chosen


def _ready_at(step: Step, state: ChaseState, hours: WorkingHours) -> datetime | None:
    """When a planned step may be chosen: once due; the sponsor's not before the working day after the
    lead was told, so that the lead has had a day to act (None: the lead has not been told yet)."""
    if step.kind != "sponsor" or state.lead.user_id == state.owner.user_id:
        return step.due_at
    if state.lead_escalated_at is None:
        return None
    return max(step.due_at, hours.start_of_working_day_after(state.lead_escalated_at, 1, step.tz))


def _later(plan: list[Step], state: ChaseState, now: datetime, hours: WorkingHours) -> datetime | None:
    """The next moment one of the planned steps may be chosen."""
    ready = (_ready_at(step, state, hours) for step in plan)
    return min((at for at in ready if at is not None and at > now), default=None)


class Decision(NamedTuple):
    steps: list[Step]  # to send now
    after: ChaseState  # the state once they are queued
    next_check: datetime | None  # when to look again; None: never, until something changes


def decide(state: ChaseState, now: datetime, policy: ChasePolicy, hours: WorkingHours) -> Decision:
    """`due_steps`, `advance` and `next_check` in one go, planning each state once (a pass's hot path)."""
    if state.status not in OPEN:
        return Decision([], state, None)
    if state.snoozed_until is not None and now < state.snoozed_until:
        return Decision([], state, state.snoozed_until)
    state = current(state)
    plan = planned_steps(state, policy, hours)
    steps = _select(state, now, plan, policy, hours)
    after = advance(state, steps, now)
    plan = [step for step in plan if _still_planned(step, after)]  # what planning `after` would give
    if _select(after, now, plan, policy, hours):
        return Decision(steps, after, now)
    return Decision(steps, after, _later(plan, after, now, hours))


def _still_planned(step: Step, state: ChaseState) -> bool:
    """Whether `planned_steps(state)` has `step`, for a state advanced from the one it was planned for:
    advancing marks steps as sent and changes nothing a step's time depends on."""
    if step.kind == "reminder":
        return state.reminded_for != state.due_date
    if step.kind == "overdue":
        return step.number > state.owner_nudges
    if step.kind == "lead":
        return state.lead_escalated_at is None
    if step.kind == "sponsor":
        return state.sponsor_escalated_at is None
    return state.stalled_for != step.cycle


def advance(state: ChaseState, sent: list[Step], now: datetime) -> ChaseState:
    """The state after `sent` were queued."""
    state = current(state)
    for step in [covered for chosen in sent for covered in (*chosen.covers, chosen)]:
        if step.kind == "reminder":
            state = state._replace(reminded_for=state.due_date)
        elif step.kind == "overdue":
            state = state._replace(
                owner_nudges=max(state.owner_nudges, step.number), owner_nudged_at=step.send_at or now
            )
        elif step.kind == "lead":  # when the lead is told, which may be later than now
            state = state._replace(lead_escalated_at=step.send_at or now)
        elif step.kind == "sponsor":
            state = state._replace(sponsor_escalated_at=step.send_at or now)
        elif step.kind == "stalled":
            state = state._replace(stalled_for=step.cycle)
    return state


def next_check(state: ChaseState, now: datetime, policy: ChasePolicy, hours: WorkingHours) -> datetime | None:
    """When this action could next need something sent; None when it never will (closed)."""
    if state.status not in OPEN:
        return None
    if state.snoozed_until is not None and now < state.snoozed_until:
        return state.snoozed_until
    if due_steps(state, now, policy, hours):
        return now
    state = current(state)
    return _later(planned_steps(state, policy, hours), state, now, hours)
