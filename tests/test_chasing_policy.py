"""Properties of the chasing policy, over random time zones, deadlines, holidays, owner updates and
pass timings: never outside the recipient's working window, never the same step twice, and escalation
always owner -> lead -> sponsor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.chasing import OWNER_KINDS, ChasePolicy, ChaseState, Person, advance, decide, due_steps, next_check
from bot.dates import end_of_day
from bot.working_time import WorkingHours

ZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "UTC"]


@st.composite
def scenarios(draw):
    created = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 24 * 330)))
    owner = Person("UOWNER", draw(st.sampled_from(ZONES)))
    lead = Person("ULEAD", draw(st.sampled_from(ZONES)))
    sponsor = draw(st.none() | st.builds(Person, st.just("USPONSOR"), st.sampled_from(ZONES)))
    due_date = (created + timedelta(days=draw(st.integers(0, 30)))).date()
    holidays = frozenset(created.date() + timedelta(days=d) for d in draw(st.sets(st.integers(0, 60), max_size=6)))
    policy = ChasePolicy(
        repeat_every_days=draw(st.integers(1, 4)),
        owner_nudges=draw(st.integers(0, 4)),
        lead_after_days=draw(st.integers(1, 5)),
        sponsor_after_days=draw(st.integers(1, 10)),
        stalled_after_days=draw(st.integers(1, 20)),
    )
    steps = draw(st.lists(st.integers(5, 60 * 12), min_size=20, max_size=120))  # minutes between passes
    updates = draw(st.sets(st.integers(0, 119), max_size=3))  # at which passes the owner updates
    state = ChaseState(
        action_id=1,
        status="open",
        owner=owner,
        lead=lead,
        sponsor=sponsor,
        created_at=created,
        due_at=end_of_day(due_date, owner.tz),
        due_date=due_date,
    )
    return state, policy, WorkingHours(holidays=holidays), steps, updates


def simulate(state, policy, hours, steps, updates):
    now, sent = state.created_at, []
    for index, minutes in enumerate(steps):
        now += timedelta(minutes=minutes * 6)
        if index in updates:
            state = state._replace(last_owner_update_at=now)
        check = next_check(state, now, policy, hours)
        due = due_steps(state, now, policy, hours)
        assert (check is not None and check <= now) or not due, "next_check must not hide a due step"
        decision = decide(state, now, policy, hours)  # a pass's shortcut: it plans each state once
        sent += [(now, step, state) for step in due]
        state = advance(state, due, now)
        if any(step.kind in OWNER_KINDS for step in due):  # one message to the owner stands for all due
            assert not [s for s in due_steps(state, now, policy, hours) if s.kind in OWNER_KINDS]
        assert (decision.steps, decision.after) == (due, state), "a pass must decide what the definitions say"
        assert decision.next_check == next_check(state, now, policy, hours)
    return sent


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_step_opens_in_the_recipients_working_window(scenario):
    state, policy, hours, steps, updates = scenario
    for now, step, _ in simulate(state, policy, hours, steps, updates):
        assert hours.in_window(step.due_at, step.tz)
        assert step.send_at is not None and step.send_at >= now and hours.in_window(step.send_at, step.tz)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_no_step_is_ever_decided_twice(scenario):
    state, policy, hours, steps, updates = scenario
    keys = [(step.kind, step.cycle, step.number) for _, step, _ in simulate(state, policy, hours, steps, updates)]
    assert len(keys) == len(set(keys))


# Found by this test with more examples: after a day's gap between passes, the owner's catch-up nudge waits
# for their morning in London while the lead's working day in Auckland comes first.
CATCH_UP_BEFORE_THE_LEADS_MORNING = (
    ChaseState(
        action_id=1,
        status="open",
        owner=Person("UOWNER", "Europe/London"),
        lead=Person("ULEAD", "Pacific/Auckland"),
        sponsor=None,
        created_at=datetime(2026, 1, 13, 3, tzinfo=UTC),
        due_at=end_of_day(date(2026, 1, 19), "Europe/London"),
        due_date=date(2026, 1, 19),
    ),
    ChasePolicy(repeat_every_days=1, owner_nudges=2, lead_after_days=4, sponsor_after_days=1, stalled_after_days=1),
    WorkingHours(),
    [5] * 15 + [305, 720, 720, 720, 510],
    set(),
)


@settings(max_examples=150, deadline=None)
@given(scenarios())
@example(CATCH_UP_BEFORE_THE_LEADS_MORNING)
def test_escalation_goes_owner_then_lead_then_sponsor(scenario):
    state, policy, hours, steps, updates = scenario
    by_cycle: dict[datetime, list[tuple[datetime, str, datetime]]] = {}
    for now, step, _ in simulate(state, policy, hours, steps, updates):
        by_cycle.setdefault(step.cycle, []).append((now, step.kind, step.send_at))
    for _cycle, told in by_cycle.items():
        kinds = [kind for _, kind, _ in told]
        if "lead" in kinds and policy.owner_nudges:
            assert "overdue" in kinds[: kinds.index("lead") + 1], kinds
        if "lead" in kinds:  # and what the owner was sent first reaches them first
            lead_sent = told[kinds.index("lead")][2]
            assert all(sent <= lead_sent for _, kind, sent in told[: kinds.index("lead")] if kind == "overdue")
        if "sponsor" in kinds:
            assert "lead" in kinds, kinds
            lead_at, _, lead_sent = told[kinds.index("lead")]
            sponsor_at, _, sponsor_sent = told[kinds.index("sponsor")]
            assert sponsor_at > lead_at and sponsor_sent > lead_sent


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_closed_or_snoozed_actions_are_never_chased(scenario):
    state, policy, hours, _steps, _ = scenario
    far = state.due_at + timedelta(days=60)
    assert due_steps(state._replace(status="done"), far, policy, hours) == []
    assert next_check(state._replace(status="cancelled"), far, policy, hours) is None
    assert due_steps(state._replace(snoozed_until=far + timedelta(days=1)), far, policy, hours) == []
