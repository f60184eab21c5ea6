"""The `/clinic help` answer: every subcommand with one example."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, SectionBlock

from bot.views.actions import render
from bot.views.text import esc, md

COMMANDS = [
    ("`/clinic new`", "register a clinic: name, lead, sponsor, channel, up to 4 focus areas"),
    (
        "`/clinic edit Discharge flow`",
        "hand it to a new lead or sponsor, move it to another channel, edit its focus areas (outcome, why) and "
        "their lead and lag indicators (its lead or sponsor)",
    ),
    (
        "`/clinic metric Discharges before noon 42% yesterday`",
        "report an indicator's reading (its reporter, lead or sponsor); the day is optional",
    ),
    ("`/clinic add`", "assign an action in a form"),
    ("`/clinic add @owner Call the rota team by friday`", "assign an action in one line"),
    ("`/clinic status`", "your open actions (overdue first)"),
    ("`/clinic status @person`", "someone's open actions that you can see"),
    ("`/clinic status #channel`", "the clinic that reports to a channel"),
    ("`/clinic status Discharge flow`", "a clinic by name"),
    ("`/clinic status overdue`", "every overdue action you can see"),
    ("`/clinic status overdue share`", "add `share` to post the answer for the channel to see"),
    ("`/clinic done 12`", "close action #12"),
    ("`/clinic show 12`", "action #12 with its history"),
    ("`/clinic cancel 12 no longer needed`", "drop #12 (its assigner, lead or sponsor); the owner is told why"),
    ("`/clinic snooze 12 until monday`", "no reminders about #12 before then"),
    (
        "`/clinic chase Discharge flow nudges=2 lead_after=5`",
        "how a clinic's actions are chased (its lead or sponsor)",
    ),
    ("`/clinic 1on1 @person`", "a one-to-one agenda from the state of their actions"),
    ("`/clinic 1on1 @person every 2 weeks on thursday`", "recurring one-to-ones; both get their agenda the day before"),
    ("`/clinic 1on1 @person stop`", "no more recurring one-to-ones with them"),
    ("`/clinic digest`", "your weekly digest, now (for leads and sponsors)"),
    ("`/clinic wins Discharge flow off`", "stop (or start) celebrating done actions in the clinic's channel"),
    (
        "`/clinic export Discharge flow json`",
        "a clinic's actions with their history, focus areas, indicators and readings, as files in your DM "
        "(CSV in a zip unless you say `json`; its lead or sponsor)",
    ),
    ("`/clinic digest settings friday 16:00 combined`", "when your digest comes, and whether one for all your clinics"),
    ("`/clinic help`", "this list"),
]

DATES = (
    "Deadlines: 2026-12-04, 4 Dec, Dec 4, tomorrow, friday, next friday, in 3 days, "
    "in 2 weeks, end of month. A date means the end of that day in the owner's time zone."
)


def help_message(unknown: str | None = None) -> dict[str, Any]:
    lines = [f"{usage} {what}" for usage, what in COMMANDS]
    asked = esc((unknown or "").replace("`", "'"))  # a backtick typed would end the quote early
    intro = (
        f"I don't know `{asked}`. Here is what I can do:"
        if unknown
        else "Clinic Bot keeps your clinic's actions moving. Here is what I can do:"
    )
    blocks = [
        SectionBlock(text=md(intro)),
        SectionBlock(text=md("\n".join(lines))),
        ContextBlock(elements=[md(DATES)]),
    ]
    return {"response_type": "ephemeral", "text": intro, "blocks": render(blocks)}
