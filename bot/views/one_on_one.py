"""Block Kit for a prepared one-to-one agenda."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, HeaderBlock, SectionBlock

from bot.indicators import WORSENING
from bot.one_on_one import Agenda
from bot.people import Person
from bot.views import ids
from bot.views.actions import due_phrase, render, undeliverable_because
from bot.views.indicators import standing, where
from bot.views.text import listing, md, mention, plain, quote
from storage.models import Action


def agenda_message(agenda: Agenda, reader: Person, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [
        HeaderBlock(text=plain("One-to-one agenda", 150)),
        SectionBlock(text=md(f"Prepared from the state of {mention(agenda.person_id)}'s actions that you can see.")),
    ]

    status = f": `/clinic status {mention(agenda.person_id)}`"

    def part(title: str, actions: Sequence[Action], extra=None) -> int:  # type: ignore[no-untyped-def]
        """Adds the list if there is anything in it; how many of the actions it shows."""
        if not actions:
            return 0
        lines = [
            f"• *#{a.id} {quote(a.title, 120)}* · {due_phrase(a, reader, now)}" + (extra(a) if extra else "")
            for a in actions
        ]
        block, shown = listing(f"*{title}*", lines, status)
        blocks.append(block)
        return shown

    # What the lead can mark as discussed: the topics and actions put on this agenda that it shows.
    discussable: list[int] = []
    if agenda.topics:
        lines = [f"• {quote(t.topic or '', 300)}" for t in agenda.topics]
        title = f"*:speech_balloon: {mention(agenda.person_id)} wants to talk about*"
        block, shown = listing(title, lines, ", on the next agenda once these are discussed")
        blocks.append(block)
        discussable += [t.id for t in agenda.topics[:shown]]
    shown = part(":pushpin: You put these on the agenda", [a for _, a in agenda.added])
    discussable += [item.id for item, _ in agenda.added[:shown]]
    if discussable:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=plain("Discussed: take these off"),
                        action_id=ids.AGENDA_DISCUSSED,
                        value=",".join(str(i) for i in discussable),
                    )
                ]
            )
        )
    part(":warning: Overdue", agenda.overdue)
    part(":red_circle: Blocked", agenda.blocked, lambda a: f"\n   _{quote(a.blocked_reason or '', 200)}_")
    part(":hourglass: No update for two weeks", agenda.stalled)
    part(":calendar: Due in the next week", agenda.due_soon)
    if agenda.requests:
        lines = [
            f"• *#{a.id} {quote(a.title, 120)}*: to {r.new_date:%a %d %b}: _{quote(r.reason, 200)}_"
            for a, r in agenda.requests
        ]
        blocks.append(listing("*:hourglass_flowing_sand: Waiting for your answer on more time*", lines, status)[0])
    if agenda.indicators:
        today = reader.local(now).date()
        lines = [
            f"• *{quote(i.name, 60)}* ({where(i)})"
            + (f", reported by {mention(i.reporter_id)}" if i.reporter_id == agenda.person_id else "")
            + f"\n   {standing(i, t, today)}"
            # The worsening first: when they do not all fit, "…and N more" ends the list, never one of those.
            for i, t in sorted(agenda.indicators, key=lambda it: it[1].verdict != WORSENING)
        ]
        blocks.append(listing("*:bar_chart: How will we know? Their indicators*", lines, "")[0])
    if agenda.wins:
        lines = [f"• {quote(a.title, 120)}" for a in agenda.wins]
        blocks.append(listing("*:tada: Recognise: done in the last two weeks*", lines, "")[0])
    if len(blocks) == 2:
        blocks.append(
            SectionBlock(text=md("Nothing open that you can see. A good time to talk about what comes next."))
        )
    blocks.append(
        SectionBlock(
            text=md("*Coaching questions*\n" + "\n".join(f"{n}. {q}" for n, q in enumerate(agenda.questions, 1)))
        )
    )
    blocks.append(ContextBlock(elements=[md("Only you can see this.")]))
    return {"response_type": "ephemeral", "text": "One-to-one agenda", "blocks": render(blocks)}


def person_side(agenda: Agenda, schedule, meeting: date, reader: Person, now: datetime, *, side: str):  # type: ignore[no-untyped-def]
    """The day before a one-to-one: the lead's agenda, or the person's own view of where they stand."""
    when = f"{meeting:%A} {meeting.day} {meeting:%B}"
    if side == "lead":
        message = agenda_message(agenda, reader, now)
        intro = SectionBlock(text=md(f":calendar: Your one-to-one with {mention(schedule.person_id)} is on *{when}*."))
        return f"Your one-to-one with {mention(schedule.person_id)} is on {when}", [intro.to_dict(), *message["blocks"]]
    mine = [*agenda.overdue, *agenda.blocked, *agenda.stalled, *agenda.due_soon]
    lines = [f"• *#{a.id} {quote(a.title, 120)}* · {due_phrase(a, reader, now)}" for a in mine]
    title = "*Your open actions to talk about*"
    blocks: list[Block] = [
        SectionBlock(text=md(f":calendar: Your one-to-one with {mention(schedule.lead_id)} is on *{when}*.")),
        listing(title, lines, ": `/clinic status`")[0]
        if lines
        else SectionBlock(text=md(f"{title}\nNothing overdue or blocked. :tada:")),
        SectionBlock(text=md("*Think about*\n" + "\n".join(f"{n}. {q}" for n, q in enumerate(agenda.questions, 1)))),
        ContextBlock(elements=[md("Reply in this thread with anything you want to raise: it goes on the agenda.")]),
    ]
    return f"Your one-to-one is on {when}", render(blocks)


def agenda_undeliverable(person_id: str, meeting: date, error: str) -> tuple[str, list[dict[str, Any]]]:
    """The lead hears, once, that the person's side of their one-to-ones' agenda cannot reach them, and how
    to end one-to-ones with someone who has left."""
    when = f"{meeting:%A} {meeting.day} {meeting:%B}"
    body = (
        f":warning: I couldn't send {mention(person_id)} their side of the agenda for your one-to-one on *{when}*: "
        f"{undeliverable_because(error)}. I'll still try before each one-to-one, without telling you again. If they "
        f"have left, `/clinic 1on1 {mention(person_id)} stop` ends these one-to-ones."
    )
    return f"Couldn't send {mention(person_id)} their side of your one-to-one", render([SectionBlock(text=md(body))])
