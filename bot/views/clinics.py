"""Block Kit for clinics: the registration modal and the note telling leads and sponsors their role."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.chasing import ChasePolicy
from bot.views import ids
from bot.views.actions import render
from bot.views.text import esc, is_channel_id, md, mention, plain
from storage.models import Clinic


def new_clinic_modal(lead_id: str, channel_id: str | None) -> dict[str, Any]:
    blocks = [
        InputBlock(
            block_id=ids.CLINIC_NAME,
            label=plain("Clinic name"),
            element=PlainTextInputElement(action_id=ids.CLINIC_NAME, max_length=100),
        ),
        InputBlock(
            block_id=ids.CLINIC_LEAD,
            label=plain("Clinic lead"),
            element=UserSelectElement(action_id=ids.CLINIC_LEAD, initial_user=lead_id),
        ),
        InputBlock(
            block_id=ids.CLINIC_SPONSOR,
            label=plain("Executive sponsor"),
            element=UserSelectElement(action_id=ids.CLINIC_SPONSOR),
            optional=True,
        ),
        InputBlock(
            block_id=ids.CLINIC_CHANNEL,
            label=plain("Channel it reports to"),
            element=ConversationSelectElement(
                action_id=ids.CLINIC_CHANNEL,
                initial_conversation=channel_id
                if channel_id and is_channel_id(channel_id) and channel_id[0] != "D"
                else None,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
            ),
            optional=True,
        ),
    ]
    for number, block_id in enumerate(ids.CLINIC_FOCUS, start=1):
        blocks.append(
            InputBlock(
                block_id=block_id,
                label=plain(f"Focus area {number}"),
                element=PlainTextInputElement(action_id=block_id, max_length=150),
                optional=True,
            )
        )
    view = View(
        type="modal",
        callback_id=ids.NEW_CLINIC_MODAL,
        title=plain("Register a clinic", 24),
        submit=plain("Register"),
        close=plain("Cancel"),
        blocks=blocks,
    )
    return view.to_dict()


def clinic_role_message(clinic: Clinic, recipient_id: str) -> tuple[str, list[dict[str, Any]]]:
    role = "lead" if recipient_id == clinic.lead_id else "executive sponsor"
    areas = "\n".join(f"• {esc(area.name)}" for area in clinic.focus_areas)
    text = f"{mention(clinic.created_by)} registered the clinic *{esc(clinic.name)}* with you as its {role}."
    if areas:
        text += f"\nFocus areas:\n{areas}"
    return text, render([SectionBlock(text=md(text))])


def chase_settings(clinic: Clinic, policy: ChasePolicy, changed: bool) -> dict[str, Any]:
    lines = [
        f"*How {esc(clinic.name)} chases its actions*" + (" (updated)" if changed else ""),
        f"• reminder the working day before the deadline: {'on' if policy.reminder else 'off'}  (`reminder`)",
        f"• overdue nudges to the owner: up to {policy.owner_nudges}, "
        f"every {policy.repeat_every_days} working days  (`nudges`, `repeat`)",
        f"• the lead hears after {policy.lead_after_days} working days overdue  (`lead_after`)",
        f"• the sponsor hears after {policy.sponsor_after_days} working days overdue  (`sponsor_after`)",
        f"• \u201cstill on track?\u201d after {policy.stalled_after_days} days without an update  (`stalled_after`)",
    ]
    text = "\n".join(lines)
    return {"response_type": "ephemeral", "text": text, "blocks": render([SectionBlock(text=md(text))])}
