"""Block Kit for a clinic channel's celebration of its wins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, SectionBlock

from bot.views.actions import render, undeliverable_because
from bot.views.text import esc, listing, md, mention, quote
from storage.models import Action, Clinic

SHOWN = 20


def wins_message(clinic: Clinic, done: Sequence[Action]) -> tuple[str, list[dict[str, Any]]]:
    head = (
        f":tada: *{mention(done[0].owner_id)}* finished *{esc(done[0].title)}*"
        if len(done) == 1
        else f":tada: *{len(done)} clinic actions done* for *{esc(clinic.name)}*:"
    )
    lines = [] if len(done) == 1 else [f"• {mention(a.owner_id)}: {quote(a.title, 150)}" for a in done]
    more = f". `/clinic status {esc(clinic.name)}` shows what is left."
    blocks = [listing(head, lines, more, at_most=SHOWN)[0]]
    blocks.append(ContextBlock(elements=[md(f"{esc(clinic.name)} · one step closer. Thank you!")]))
    return f"Wins for {esc(clinic.name)}", render(blocks)


# What can be done about each reason the channel gives, besides pointing the clinic at another channel.
_REMEDIES = {
    "is_archived": ("the channel is archived", "unarchive it"),
    "channel_not_found": (
        "I can't see the channel: it was deleted, or it is private and I was removed from it",
        "add me back to it",
    ),
    "not_in_channel": ("I'm not in that channel", "invite me to it"),
}


def wins_undeliverable(
    clinic: Clinic, channel: str, error: str, lead_unreachable: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """Whoever answers for the clinic hears, once, that its channel refuses its celebrations, and what they
    can do about it: the lead, or its sponsor when the lead cannot be reached either."""
    because, remedy = _REMEDIES.get(error.split(": ")[-1], (undeliverable_because(error), ""))
    name = esc(clinic.name)
    body = (
        f":warning: I couldn't celebrate *{name}*'s wins in <#{channel}>: {because}. To go on, "
        f"{remedy + ', or ' if remedy else ''}pick another channel with `/clinic edit {name}`; "
        f"or stop these posts with `/clinic wins {name} off`."
    )
    if lead_unreachable:
        body += f" (I couldn't tell its lead, {mention(clinic.lead_id)}, either.)"
    return f"Couldn't post {esc(clinic.name)}'s wins", render([SectionBlock(text=md(body))])
