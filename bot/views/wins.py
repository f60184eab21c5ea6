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


def wins_undeliverable(clinic: Clinic, channel: str, error: str) -> tuple[str, list[dict[str, Any]]]:
    """The lead hears, once, that the clinic's channel refuses its celebrations."""
    body = (
        f":warning: I couldn't celebrate *{esc(clinic.name)}*'s wins in <#{channel}>: "
        f"{undeliverable_because(error)}. Invite me to the channel, or stop these posts with "
        f"`/clinic wins {esc(clinic.name)} off`."
    )
    return f"Couldn't post {esc(clinic.name)}'s wins", render([SectionBlock(text=md(body))])
