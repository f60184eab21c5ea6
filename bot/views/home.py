"""Block Kit for the App Home tab, paged so it never passes Slack's 100 blocks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.home import Home
from bot.people import Person
from bot.views import ids
from bot.views.actions import action_buttons, action_line
from bot.views.text import esc, listing, md, mention, plain

HOME_BLOCKS = 100  # Slack's limit for a Home tab: a page of actions takes at most 57, the clinic cards the rest


def home_view(home: Home, reader: Person, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text=plain("Your clinic actions", 150))]
    sections = [
        (":warning: Overdue", home.overdue),
        (":calendar: Due in the next 7 days", home.next_7_days),
        (":spiral_calendar_pad: Later", home.later),
    ]
    if not any(actions for _, actions in sections):
        blocks.append(
            SectionBlock(
                text=md("Nothing open. :tada:  `/clinic add` assigns an action; `/clinic help` shows the rest.")
            )
        )
    for title, actions in sections:
        if actions:
            blocks.append(SectionBlock(text=md(f"*{title}*")))
            for action in actions:
                blocks.append(SectionBlock(text=md(action_line(action, reader, now, show_owner=False))))
                blocks.append(action_buttons(action))
    if home.pages > 1:
        buttons = []
        if home.page > 0:
            buttons.append(ButtonElement(text=plain("Back"), action_id=ids.HOME_BACK, value=str(home.page - 1)))
        if home.page + 1 < home.pages:
            buttons.append(ButtonElement(text=plain("Show more"), action_id=ids.HOME_PAGE, value=str(home.page + 1)))
        blocks.append(ContextBlock(elements=[md(f"Page {home.page + 1} of {home.pages}")]))
        blocks.append(ActionsBlock(block_id="home_paging", elements=buttons))
    if home.done:
        lines = [f":white_check_mark: #{a.id} {esc(a.title)}" for a in home.done]
        blocks.append(listing("*Done in the last week*", lines, "")[0])
    # A card is two blocks. Every card when they all fit; else as many as fit with a line for the rest.
    room = HOME_BLOCKS - len(blocks)
    shown = home.clinics if 2 * len(home.clinics) <= room else home.clinics[: (room - 1) // 2]
    for clinic, open_count, overdue, blocked in shown:
        blocks.append(DividerBlock())
        role = "lead" if reader.user_id == clinic.lead_id else "sponsor"
        blocks.append(
            SectionBlock(
                text=md(
                    f"*{esc(clinic.name)}* (you are its {role}; lead {mention(clinic.lead_id)})\n"
                    f"{open_count} open · {overdue} overdue · {blocked} blocked"
                ),
                accessory=ButtonElement(
                    text=plain("Full status"), action_id=ids.HOME_CLINIC_STATUS, value=str(clinic.id)
                ),
            )
        )
    if hidden := len(home.clinics) - len(shown):
        blocks.append(ContextBlock(elements=[md(f"…and {hidden} more: `/clinic status &lt;name&gt;`")]))
    # The page travels with every press on the tab, so that the tab refreshed after it stays on that page.
    return View(type="home", blocks=blocks, private_metadata=json.dumps({"page": home.page})).to_dict()
