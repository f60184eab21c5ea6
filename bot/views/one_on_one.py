"""Block Kit for a prepared one-to-one agenda."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.one_on_one import Agenda
from bot.people import Person
from bot.views.actions import due_phrase, render
from bot.views.text import clip, esc, md, mention, plain
from storage.models import Action


def agenda_message(agenda: Agenda, reader: Person, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [
        HeaderBlock(text=plain("One-to-one agenda", 150)),
        SectionBlock(text=md(f"Prepared from the state of {mention(agenda.person_id)}'s actions that you can see.")),
    ]

    def part(title: str, actions: Sequence[Action], extra=None) -> None:  # type: ignore[no-untyped-def]
        if actions:
            lines = [
                f"• *#{a.id} {esc(clip(a.title, 120))}* · {due_phrase(a, reader, now)}" + (extra(a) if extra else "")
                for a in actions[:10]
            ]
            if len(actions) > 10:
                lines.append(f"…and {len(actions) - 10} more: `/clinic status {mention(agenda.person_id)}`")
            blocks.append(SectionBlock(text=md(f"*{title}*\n" + "\n".join(lines))))

    part(":pushpin: You put these on the agenda", agenda.added)
    part(":warning: Overdue", agenda.overdue)
    part(":red_circle: Blocked", agenda.blocked, lambda a: f"\n   _{esc(clip(a.blocked_reason or '', 200))}_")
    part(":hourglass: No update for two weeks", agenda.stalled)
    part(":calendar: Due in the next week", agenda.due_soon)
    if agenda.requests:
        lines = [
            f"• *#{a.id} {esc(clip(a.title, 120))}*: to {r.new_date:%a %d %b}: _{esc(clip(r.reason, 200))}_"
            for a, r in agenda.requests
        ]
        blocks.append(
            SectionBlock(
                text=md("*:hourglass_flowing_sand: Waiting for your answer on more time*\n" + "\n".join(lines))
            )
        )
    if agenda.wins:
        lines = [f"• {esc(clip(a.title, 120))}" for a in agenda.wins]
        blocks.append(SectionBlock(text=md("*:tada: Recognise: done in the last two weeks*\n" + "\n".join(lines))))
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
