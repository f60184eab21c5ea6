"""Block Kit for what a pass sends: reminders and nudges to owners, escalations to leads and sponsors,
all items for one person in one message, each with its own buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    SectionBlock,
)

from bot.chasing import Step
from bot.dates import describe_date
from bot.people import Person, zone
from bot.views import ids
from bot.views.actions import action_buttons, clinic_phrase, event_phrase, render, undeliverable_because
from bot.views.text import esc, md, mention, plain, quote
from bot.working_time import WorkingHours
from storage.models import Action, ActionEvent

ITEMS_PER_MESSAGE = 12  # up to four blocks each; Slack allows 50 a message

WHY = {
    "reminder": "is due on the next working day",
    "overdue": "is overdue",
    "lead": "is overdue and the owner has not updated it",
    "sponsor": "is still overdue after the lead was told",
    "stalled": "has had no update for a while",
}

OPENERS = {
    "reminder": ":alarm_clock: Due {due}",  # the working day before: a Friday's reminder may be for Monday
    "overdue": ":warning: Overdue",
    "stalled": ":wave: Still on track?",
    "lead": ":rotating_light: Needs your help",
    "sponsor": ":rotating_light: Escalated to you",
}


def chase_message(
    items: Sequence[tuple[Action, Step]],
    tz: str,
    now: datetime,
    hours: WorkingHours,
    lead_actions: dict[int, Sequence[ActionEvent]],
    handovers: dict[int, datetime | None],
    lead_unreached: dict[int, str | None],
) -> tuple[str, list[dict[str, Any]]]:
    """`lead_actions`: what the lead did since being told, for a sponsor's item; `handovers`: when an
    escalated item was last reassigned; `lead_unreached`: why the lead's escalation about a sponsor's item
    could not be delivered, if it was not."""
    reader = Person("", "", tz)
    today = reader.local(now).date()
    blocks: list[Block] = []
    if len(items) > 1:
        blocks.append(SectionBlock(text=md(f"You have *{len(items)} clinic actions* that need a look:")))
    for index, (action, step) in enumerate(items):
        if index:
            blocks.append(DividerBlock())
        if step.kind in ("lead", "sponsor"):
            blocks += _escalation(
                action,
                step,
                reader,
                now,
                hours,
                lead_actions.get(action.id),
                handovers.get(action.id),
                lead_unreached.get(action.id),
            )
        else:
            blocks += _owner_item(action, step, today, hours, now)
    first = items[0]
    text = (
        f"{_opener(first[0], first[1].kind, today)}: #{first[0].id} {quote(first[0].title, 100)}"
        if len(items) == 1
        else f"{len(items)} clinic actions need a look"
    )
    return text, render(blocks)


def _owner_item(action: Action, step: Step, today, hours: WorkingHours, now: datetime) -> list[Block]:  # type: ignore[no-untyped-def]
    due = describe_date(action.due_date, today)
    where = clinic_phrase(action)
    if step.kind == "reminder":
        line = f"*#{action.id} {esc(action.title)}* is due {due}."
        ask = "Will it be done? Let me know with a button, or ask for more time."
    elif step.kind == "overdue":
        days = hours.working_days_between(action.due_at, now, step.tz)
        line = f"*#{action.id} {esc(action.title)}* was due {due}" + (
            f" ({days} working day{'s' if days != 1 else ''} ago)." if days else "."
        )
        ask = "Is it done? If not, say what's in the way or ask for more time." + (
            f" (reminder {step.number})" if step.number > 1 else ""
        )
    else:
        line = f"*#{action.id} {esc(action.title)}* (due {due}) has had no update from you for a while."
        ask = "Still on track? One click is enough."
    body = f"{_opener(action, step.kind, today)}\n{line}" + (f"\n_{where}_" if where else "")
    return [SectionBlock(text=md(body)), ContextBlock(elements=[md(ask)]), action_buttons(action)]


def _opener(action: Action, kind: str, today: date) -> str:
    return OPENERS[kind].format(due=describe_date(action.due_date, today))


def _escalation(
    action: Action,
    step: Step,
    reader: Person,
    now: datetime,
    hours: WorkingHours,
    lead_events: Sequence[ActionEvent] | None,
    handed_over: datetime | None,
    lead_unreached: str | None,
) -> list[Block]:
    today = reader.local(now).date()
    days = hours.working_days_between(action.due_at, now, reader.tz)

    def day(instant: datetime) -> str:
        return describe_date(instant.astimezone(zone(reader.tz)).date(), today)

    # Reassigning restarts the chase from the handover, which is no update from the new owner.
    updated = action.last_owner_update_at
    if updated and handed_over and updated <= handed_over:
        last = f"reassigned to them {day(handed_over)}, no update from them since"
    elif updated:
        last = f"last update from the owner {day(updated)}"
    else:
        last = "no update from the owner yet"
    facts = [
        OPENERS[step.kind],
        f"*#{action.id} {esc(action.title)}*",
        f"Owner {mention(action.owner_id)} · due {describe_date(action.due_date, today)} · "
        f"*{days} working day{'s' if days != 1 else ''} overdue* · {last}",
    ]
    where = clinic_phrase(action)
    if where:
        facts.append(f"_{where}_")
    if action.status == "blocked" and action.blocked_reason:
        facts.append(f"Blocked: _{quote(action.blocked_reason, 300)}_")
    blocks: list[Block] = [SectionBlock(text=md("\n".join(facts)))]
    if step.kind == "sponsor":
        done = [event_phrase(e) for e in lead_events or []]
        if done:
            lead_line = "What the lead did: " + "; ".join(done[-3:])
        elif lead_unreached:
            lead_line = f"My message didn't reach the lead: {undeliverable_because(lead_unreached)}."
        else:
            lead_line = "The lead has not acted on it yet."
        # Each phrase quotes at most 500 characters, so three stay within the 3000 a context allows; cutting
        # the assembled line could split a mention or an escape.
        blocks.append(ContextBlock(elements=[md(lead_line)]))
    value = str(action.id)
    blocks.append(
        ActionsBlock(
            block_id=f"escalation:{action.id}",
            elements=[
                ButtonElement(text=plain("Nudge again"), action_id=ids.ESCALATION_NUDGE, value=value),
                ButtonElement(text=plain("Extend deadline"), action_id=ids.ESCALATION_EXTEND, value=value),
                ButtonElement(text=plain("Reassign"), action_id=ids.ESCALATION_REASSIGN, value=value),
                ButtonElement(text=plain("Add to next 1:1"), action_id=ids.ESCALATION_AGENDA, value=value),
            ],
        )
    )
    return blocks
