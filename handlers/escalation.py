"""The buttons on an escalation (Nudge again, Extend deadline, Reassign, Add to next 1:1), their modals,
and a lead's Approve / Refuse on an owner's request for more time."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import UserError
from bot.services import Services
from bot.views import actions as views
from bot.views import ids
from bot.views.text import esc, mention
from handlers.payloads import clicked, metadata_action_id, picked_date, picked_user, typed
from handlers.replies import (
    OPEN_VIEW,
    REPLY,
    changed,
    ephemeral,
    learn_caller,
    make_follow_up,
    person_in_form,
    team_of,
)


def register(app: App, services: Services) -> None:
    follow_up = make_follow_up(services)
    lazies = [follow_up, learn_caller(services)]

    def nudge_again(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        action, nudged = services.escalation.nudge_again(team_of(context, body), clicked(body), body["user"]["id"])
        about = f"*#{action.id} {esc(action.title)}*"
        if not nudged:
            context[REPLY] = ephemeral(f"I nudged them a moment ago about {about}: once is enough for now.")
            return
        context[REPLY] = ephemeral(f"I've nudged {mention(action.owner_id)} about {about}.")
        changed(context)

    def add_to_agenda(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        added = services.escalation.add_to_agenda(team_of(context, body), clicked(body), body["user"]["id"])
        context[REPLY] = ephemeral(
            "Added to your next one-to-one with its owner." if added else "It is already on your next one-to-one."
        )

    def open_form(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), body["user"]["id"]
        action = services.actions.get_changeable(team_id, clicked(body), user_id, lead=True)
        if body["actions"][0]["action_id"] == ids.ESCALATION_EXTEND:
            today = services.people.cached_person(team_id, user_id).local(services.clock.now()).date()
            context[OPEN_VIEW] = views.extend_modal(action, today)
        else:
            context[OPEN_VIEW] = views.reassign_modal(action)

    def submit_extend(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        note = typed(view, ids.MORE_TIME_REASON)
        try:
            action = services.escalation.extend(
                team_of(context, body),
                metadata_action_id(view),
                body["user"]["id"],
                picked_date(view, ids.NEW_DUE, "Pick the new date."),
                note,
            )
        except UserError as exc:
            ack(
                response_action="errors",
                errors={ids.NEW_DUE if exc.field == "due" else ids.MORE_TIME_REASON: exc.message},
            )
            return
        ack()
        changed(context, *services.home.readers(action))

    def submit_reassign(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        team_id = team_of(context, body)
        picked = picked_user(view, ids.NEW_OWNER)
        try:
            if not picked:
                raise UserError("Pick the new owner.", field="owner")
            new_owner = person_in_form(services, client, team_id, picked, "owner", "press Reassign again")
            action, before = services.escalation.reassign(
                team_id, metadata_action_id(view), body["user"]["id"], new_owner
            )
        except UserError as exc:
            ack(response_action="errors", errors={ids.NEW_OWNER: exc.message})
            return
        ack()
        changed(context, before, *services.home.readers(action))

    def decide(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        approve = body["actions"][0]["action_id"] == ids.EXTENSION_APPROVE
        team_id, user_id = team_of(context, body), body["user"]["id"]
        request, action = services.escalation.decide_extension(team_id, clicked(body), user_id, approve)
        if request.state == "lapsed":
            reader = services.people.cached_person(team_id, user_id)
            text = views.extension_lapsed_for_lead(action, request, reader, services.clock.now())
            context[REPLY] = {"replace_original": True, "text": text}
            return
        word = "Approved" if approve else "Refused"
        context[REPLY] = {
            "replace_original": True,
            "text": f"{word}: more time for #{action.id} {esc(action.title)}. "
            f"{mention(request.requested_by)} has been told.",
        }
        changed(context, *services.home.readers(action))

    app.action(ids.ESCALATION_NUDGE)(ack=nudge_again, lazy=lazies)
    app.action(ids.ESCALATION_AGENDA)(ack=add_to_agenda, lazy=lazies)
    app.action(ids.ESCALATION_EXTEND)(ack=open_form, lazy=lazies)
    app.action(ids.ESCALATION_REASSIGN)(ack=open_form, lazy=lazies)
    app.action(ids.EXTENSION_APPROVE)(ack=decide, lazy=lazies)
    app.action(ids.EXTENSION_REFUSE)(ack=decide, lazy=lazies)
    app.view(ids.EXTEND_MODAL)(ack=submit_extend, lazy=[follow_up])
    app.view(ids.REASSIGN_MODAL)(ack=submit_reassign, lazy=[follow_up])
