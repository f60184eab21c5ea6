"""Block Kit for clinics: the registration modal and the note telling leads and sponsors their role."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
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

OUTCOME_LENGTH = 500  # bot.clinics.OUTCOME_LIMIT, which checks it again


def area_inputs(slot: int, name: str = "", outcome: str = "", why: str = "") -> list[Block]:
    """A focus area's three fields (name, desired outcome, why it matters), for slot 1 to 4."""
    i = slot - 1
    return [
        InputBlock(
            block_id=ids.CLINIC_FOCUS[i],
            label=plain(f"Focus area {slot}"),
            element=PlainTextInputElement(action_id=ids.CLINIC_FOCUS[i], max_length=150, initial_value=name or None),
            optional=True,
        ),
        InputBlock(
            block_id=ids.FOCUS_OUTCOME[i],
            label=plain(f"Area {slot}: desired outcome"),
            hint=plain("What will be different when it works? For example: 60% of discharges before noon.", 150),
            element=PlainTextInputElement(
                action_id=ids.FOCUS_OUTCOME[i], max_length=OUTCOME_LENGTH, initial_value=outcome or None
            ),
            optional=True,
        ),
        InputBlock(
            block_id=ids.FOCUS_WHY[i],
            label=plain(f"Area {slot}: why it matters"),
            element=PlainTextInputElement(
                action_id=ids.FOCUS_WHY[i], max_length=OUTCOME_LENGTH, multiline=True, initial_value=why or None
            ),
            optional=True,
        ),
    ]


def role_inputs(lead_id: str, sponsor_id: str | None = None, channel_id: str | None = None) -> list[Block]:
    """Who leads and sponsors a clinic and the channel it reports to: in the form that registers it and the
    one that edits it. The people pickers are looked up as soon as someone is picked."""
    return [
        InputBlock(
            block_id=ids.CLINIC_LEAD,
            label=plain("Clinic lead"),
            element=UserSelectElement(action_id=ids.CLINIC_LEAD, initial_user=lead_id),
            dispatch_action=True,
        ),
        InputBlock(
            block_id=ids.CLINIC_SPONSOR,
            label=plain("Executive sponsor"),
            element=UserSelectElement(action_id=ids.CLINIC_SPONSOR, initial_user=sponsor_id),
            optional=True,
            dispatch_action=True,
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


def new_clinic_modal(lead_id: str, channel_id: str | None) -> dict[str, Any]:
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.CLINIC_NAME,
            label=plain("Clinic name"),
            element=PlainTextInputElement(action_id=ids.CLINIC_NAME, max_length=100),
        ),
        *role_inputs(lead_id, channel_id=channel_id),
    ]
    for slot in range(1, len(ids.CLINIC_FOCUS) + 1):
        blocks += area_inputs(slot)
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


def role_changed_message(
    clinic: Clinic, role: str, actor_id: str, recipient_id: str, new_id: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """To whoever takes a role in a clinic (`recipient_id == new_id`), or gives it up."""
    named = f"*{esc(clinic.name)}*"
    if recipient_id == new_id:
        hears = (
            "its escalations, the owners' requests for more time and its weekly digest"
            if role == "lead"
            else "the escalations its lead has not settled and its weekly digest"
        )
        text = f"{mention(actor_id)} made you the {role} of {named}: {hears} now come to you."
    else:
        who = mention(new_id) if new_id else "nobody"
        text = f"{mention(actor_id)} made {who} the {role} of {named} in your place: its news no longer comes to you."
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
