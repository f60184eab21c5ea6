"""The clinic registration modal's submission."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.clinics import NewClinic
from bot.errors import UserError
from bot.services import Services
from bot.views import ids
from handlers.indicators import field_block
from handlers.payloads import picked_conversation, picked_user, typed
from handlers.replies import changed, look_up_picked, make_follow_up, person_in_form, team_of


def register(app: App, services: Services) -> None:
    def submit_clinic(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        team_id = team_of(context, body)
        new = NewClinic(
            team_id=team_id,
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
            # Both are usually known by now (the lead is the caller or was looked up when picked, as was the
            # sponsor); two lookups that are not share the 3 s the ack has.
            again = "press Register again"
            lead = person_in_form(services, client, team_id, new.lead_id, "lead", again, timeout=1)
            sponsor = None
            if new.sponsor_id:
                sponsor = person_in_form(services, client, team_id, new.sponsor_id, "sponsor", again, timeout=1)
            services.clinics.register(new, lead, sponsor)
        except UserError as exc:
            ack(response_action="errors", errors={field_block(exc.field or "name"): exc.message})
            return
        ack()
        changed(context)

    app.view(ids.NEW_CLINIC_MODAL)(ack=submit_clinic, lazy=[make_follow_up(services)])
    for picker in (ids.CLINIC_LEAD, ids.CLINIC_SPONSOR):
        app.action(picker)(look_up_picked(services))
