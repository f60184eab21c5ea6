"""Buttons on an action, the modals they open, the add-action modal and the "Make a clinic action" shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import DBAPIError

from bot.actions import NewAction, Status
from bot.errors import UserError
from bot.services import Services
from bot.slack import SlackGateway
from bot.views import actions as views
from bot.views import ids
from bot.views.text import esc, mention, unescape
from handlers.payloads import (
    clicked,
    home_page,
    metadata,
    metadata_action_id,
    picked_date,
    picked_option,
    picked_user,
    typed,
)
from handlers.replies import (
    EPHEMERAL,
    OPEN_VIEW,
    REPLY,
    TRY_AGAIN,
    changed,
    ephemeral,
    learn_caller,
    log,
    look_up_picked,
    make_follow_up,
    person_in_form,
    team_of,
)

STATUS_BUTTONS = {ids.ACTION_DONE: Status.DONE, ids.ACTION_ON_TRACK: Status.ON_TRACK}
FIELD_BLOCKS = {
    "title": ids.ACTION_TITLE,
    "owner": ids.ACTION_OWNER,
    "due": ids.ACTION_DUE,
    "clinic": ids.ACTION_CLINIC_AREA,
    "notes": ids.ACTION_NOTES,
}


def register(app: App, services: Services) -> None:
    follow_up = make_follow_up(services)
    lazies = [follow_up, learn_caller(services)]

    def press_status(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), body["user"]["id"]
        status = STATUS_BUTTONS[body["actions"][0]["action_id"]]
        action = services.actions.set_status(team_id, clicked(body), user_id, status)
        reader = services.people.cached_person(team_id, user_id)
        context[REPLY] = views.after_press(body.get("message") or {}, action, user_id, reader, services.clock.now())
        changed(context, *services.home.readers(action))

    def press_needs_form(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), body["user"]["id"]
        action = services.actions.get_changeable(team_id, clicked(body), user_id)
        if body["actions"][0]["action_id"] == ids.ACTION_BLOCKED:
            context[OPEN_VIEW] = views.blocked_modal(action, home_page(body))
        else:
            today = services.people.cached_person(team_id, action.owner_id).local(services.clock.now()).date()
            context[OPEN_VIEW] = views.more_time_modal(action, today, home_page(body))

    def press_history(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team_id, user_id = team_of(context, body), body["user"]["id"]
        action, history = services.actions.history(team_id, clicked(body), user_id)
        reader = services.people.cached_person(team_id, user_id)
        context[OPEN_VIEW] = views.history_modal(action, history, reader, services.clock.now())

    def submit_blocked(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        team_id, user_id = team_of(context, body), body["user"]["id"]
        reason = typed(view, ids.BLOCKED_REASON)
        try:
            action = services.actions.set_status(team_id, metadata_action_id(view), user_id, Status.BLOCKED, reason)
        except UserError as exc:
            ack(response_action="errors", errors={ids.BLOCKED_REASON: exc.message})
            return
        ack()
        changed(context, *services.home.readers(action))

    def submit_more_time(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        team_id, user_id = team_of(context, body), body["user"]["id"]
        reason = typed(view, ids.MORE_TIME_REASON)
        try:
            picked = picked_date(view, ids.NEW_DUE, "Pick the new date.")
            result = services.actions.request_more_time(team_id, metadata_action_id(view), user_id, picked, reason)
        except UserError as exc:
            block = ids.NEW_DUE if exc.field == "due" else ids.MORE_TIME_REASON
            ack(response_action="errors", errors={block: exc.message})
            return
        if result.decider_id:
            ack(
                response_action="update",
                view=views.notice_modal(
                    "Need more time",
                    f"I've asked {mention(result.decider_id)} to approve the new date; you'll hear back here.",
                ),
            )
        else:
            ack()
        changed(context, *services.home.readers(result.action))

    def open_add_from_message(ack: Ack, shortcut: dict[str, Any], context: BoltContext) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id")
        context["clinic_source"] = {
            "channel": channel,
            "ts": message.get("ts"),
            "text": unescape(message.get("text", "")),  # the form's notes show it as typed
        }

    def open_add_modal_with_source(
        context: BoltContext, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """After the ack, as the link back needs Slack: build the form, then the follow-up opens it or, when
        the database or Slack fails, tells the person so, as `/clinic add` does."""
        if source := context.get("clinic_source"):
            link = (
                SlackGateway(client).permalink(source["channel"], source["ts"])
                if source["channel"] and source["ts"]
                else None
            )
            try:
                clinics = services.clinics.list(team_of(context, body))
            except DBAPIError as exc:  # after the ack, so Bolt's error handler cannot answer: say it here
                log.error("database_unavailable", extra={"error": type(exc).__name__})
                context[REPLY] = ephemeral(TRY_AGAIN)
            else:
                context[OPEN_VIEW] = views.add_action_modal(
                    clinics, notes=source["text"], source_link=link, channel=source["channel"]
                )
        follow_up(context, body, respond, client)

    def submit_add(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        team_id, user_id = team_of(context, body), body["user"]["id"]
        try:
            new, owner = _read_add_form(services, client, team_id, user_id, view)
            action = services.actions.create(new, owner)
        except UserError as exc:
            ack(
                response_action="errors",
                errors={FIELD_BLOCKS.get(exc.field or "", ids.ACTION_TITLE): exc.message},
            )
            return
        ack()
        changed(context, *services.home.readers(action))
        channel = metadata(view).get("channel")
        if channel:
            reader = services.people.cached_person(team_id, user_id)
            context[EPHEMERAL] = {
                "channel": channel,
                "user": user_id,
                "text": f"Assigned *#{action.id} {esc(action.title)}* to {mention(action.owner_id)}, "
                f"{views.due_phrase(action, reader, services.clock.now())}.",
            }

    for action_id in STATUS_BUTTONS:
        app.action(action_id)(ack=press_status, lazy=lazies)
    app.action(ids.ACTION_BLOCKED)(ack=press_needs_form, lazy=lazies)
    app.action(ids.ACTION_MORE_TIME)(ack=press_needs_form, lazy=lazies)
    app.action(ids.ACTION_HISTORY)(ack=press_history, lazy=lazies)
    app.action(ids.ACTION_OWNER)(look_up_picked(services))
    app.view(ids.BLOCKED_MODAL)(ack=submit_blocked, lazy=[follow_up])
    app.view(ids.MORE_TIME_MODAL)(ack=submit_more_time, lazy=[follow_up])
    app.view(ids.ADD_ACTION_MODAL)(ack=submit_add, lazy=[follow_up])
    app.shortcut(ids.MAKE_ACTION_SHORTCUT)(ack=open_add_from_message, lazy=[open_add_modal_with_source])


def _read_add_form(
    services: Services, client: WebClient, team_id: str, user_id: str, view: dict[str, Any]
) -> tuple[NewAction, Any]:
    title = typed(view, ids.ACTION_TITLE)
    owner_id = picked_user(view, ids.ACTION_OWNER)
    choice = picked_option(view, ids.ACTION_CLINIC_AREA)
    notes = typed(view, ids.ACTION_NOTES)
    if not owner_id:
        raise UserError("Pick who owns this action.", field="owner")
    due = picked_date(view, ids.ACTION_DUE, "Pick the date it is due by.")
    owner = person_in_form(services, client, team_id, owner_id, "owner", "press Assign again")
    kind, _, number = choice.partition(":")
    clinic_id = int(number) if kind == "clinic" and number.isdigit() else None
    area_id = int(number) if kind == "area" and number.isdigit() else None
    new = NewAction(
        team_id=team_id,
        title=title,
        owner_id=owner_id,
        assigner_id=user_id,
        due_date=due,
        clinic_id=clinic_id,
        focus_area_id=area_id,
        notes=notes,
        source_link=metadata(view).get("source_link"),
    )
    return new, owner
