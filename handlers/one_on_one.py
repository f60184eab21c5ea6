"""The button under what a lead put on a one-to-one agenda: "Discussed" takes those items off."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.errors import UserError
from bot.services import Services
from bot.views import ids
from handlers.payloads import MAX_ID
from handlers.replies import REPLY, ephemeral, learn_caller, make_follow_up, team_of


def register(app: App, services: Services) -> None:
    def discussed(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        count = services.one_on_one.discussed(team_of(context, body), body["user"]["id"], _item_ids(body))
        context[REPLY] = ephemeral(
            "Marked as discussed: they are off your next one-to-one's agenda."
            if count
            else "Those were already marked as discussed."
        )

    app.action(ids.AGENDA_DISCUSSED)(ack=discussed, lazy=[make_follow_up(services), learn_caller(services)])


def _item_ids(body: dict[str, Any]) -> list[int]:
    try:
        item_ids = [int(part) for part in str(body["actions"][0]["value"]).split(",")]
    except (KeyError, IndexError, ValueError):
        item_ids = []
    if not item_ids or not all(0 < i <= MAX_ID for i in item_ids):
        raise UserError("That button is out of date; run `/clinic 1on1 @person` for a fresh agenda.")
    return item_ids
