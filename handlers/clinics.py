"""The clinic registration modal's submission."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.clinics import NewClinic
from bot.errors import UserError
from bot.services import Services
from bot.slack import SlackFailure, SlackGateway
from bot.views import ids
from handlers.indicators import area_block
from handlers.payloads import picked_conversation, picked_user, typed
from handlers.replies import changed, make_follow_up, team_of

LEADERS = "clinic_leaders"
FIELD_BLOCKS = {"name": ids.CLINIC_NAME, "sponsor": ids.CLINIC_SPONSOR}


def register(app: App, services: Services) -> None:
    def submit_clinic(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        new = NewClinic(
            team_id=team_of(context, body),
            name=typed(view, ids.CLINIC_NAME),
            lead_id=picked_user(view, ids.CLINIC_LEAD) or body["user"]["id"],
            created_by=body["user"]["id"],
            sponsor_id=picked_user(view, ids.CLINIC_SPONSOR),
            channel_id=picked_conversation(view, ids.CLINIC_CHANNEL),
            focus_areas=[typed(view, block) for block in ids.CLINIC_FOCUS],
            outcomes=[typed(view, block) for block in ids.FOCUS_OUTCOME],
            whys=[typed(view, block) for block in ids.FOCUS_WHY],
        )
        try:
            services.clinics.register(new)
        except UserError as exc:
            ack(
                response_action="errors",
                errors={
                    FIELD_BLOCKS.get(exc.field or "") or (area_block(exc.field) if exc.field else ids.CLINIC_NAME): (
                        exc.message
                    )
                },
            )
            return
        ack()
        changed(context)
        context[LEADERS] = [uid for uid in (new.lead_id, new.sponsor_id) if uid]

    def learn_leaders(context: BoltContext, body: dict[str, Any], client: WebClient) -> None:
        """Escalations reach leads and sponsors in their own working hours: learn their time zones now."""
        for user_id in context.get(LEADERS) or []:
            with suppress(SlackFailure):
                services.people.lookup(SlackGateway(client), team_of(context, body), user_id)

    app.view(ids.NEW_CLINIC_MODAL)(ack=submit_clinic, lazy=[make_follow_up(services), learn_leaders])
