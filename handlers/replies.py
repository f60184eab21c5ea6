"""What every listener shares: answering after the ack, and turning failures into words a person can act on.

Listeners run with `process_before_response=True`, so anything that talks to Slack's Web API happens in
the lazy `follow_up` that Bolt starts after the ack: the listener leaves instructions in `context`
(plain data, copied to the lazy run) and `follow_up` carries them out."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from slack_bolt import Ack, BoltContext, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.errors import UserError
from bot.people import Person
from bot.services import Services
from bot.slack import SlackFailure, SlackGateway, quick_client
from bot.views.actions import notice_modal
from bot.views.text import esc
from handlers.payloads import home_page

log = logging.getLogger("clinic_bot.handlers")

REPLY = "clinic_reply"  # kwargs for respond(): an ephemeral answer or a replacement of the message
OPEN_VIEW = "clinic_open_view"  # a modal to open with the request's trigger_id
EPHEMERAL = "clinic_ephemeral"  # {"channel", "user", "text", "blocks"} for chat.postEphemeral
DELIVER = "clinic_deliver"  # the request changed something: deliver what it queued, refresh Home tabs
HOME_FOR = "clinic_home_for"  # besides the person who acted, whose Home tab the change affects
REACT = "clinic_react"  # {"channel", "ts", "name"}: acknowledge a message with an emoji

TRY_AGAIN = "I can't reach the clinic database just now. Nothing was changed: please try again in a minute."


def changed(context: BoltContext, *affected: str) -> None:
    """After the ack: deliver what the change queued and refresh the Home tabs of those it affects."""
    context[DELIVER] = True
    context[HOME_FOR] = sorted({*context.get(HOME_FOR, []), *affected})


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def team_of(context: BoltContext, body: dict[str, Any]) -> str:
    team = context.team_id or body.get("team_id") or (body.get("team") or {}).get("id")
    if not team:
        raise UserError("I couldn't tell which workspace this came from.")
    return str(team)


def make_follow_up(services: Services) -> Callable[..., None]:
    def follow_up(context: BoltContext, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        try:
            if view := context.get(OPEN_VIEW):
                client.views_open(trigger_id=body["trigger_id"], view=view)
            if reply := context.get(REPLY):
                if body.get("response_url"):
                    respond(**reply)
                elif reply.get("response_type") == "ephemeral":  # a Home tab press: nothing to answer through
                    client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Clinic Bot", reply["text"]))
            if note := context.get(EPHEMERAL):
                try:
                    client.chat_postEphemeral(**note)
                except SlackApiError:  # a conversation the bot is not in: say it in their DM with the bot
                    client.chat_postMessage(channel=note["user"], text=note["text"])
            if reaction := context.get(REACT):
                SlackGateway(client).react(**reaction)
        except Exception:
            ref = _ref()
            log.exception("follow_up_failed", extra={"ref": ref})
            _try(lambda: respond(**ephemeral(f"Something went wrong talking to Slack (ref {ref}).")))
        finally:
            if context.get(DELIVER):
                services.delivery.kick()
            # The change shows at once on the Home tab of whoever acted and whoever it affects; a press on a
            # Home tab that changed nothing (an action closed meanwhile) refreshes it too, on the page it was
            # pressed on (or the last page left, when the change leaves fewer).
            if context.get(DELIVER) or (body.get("view") or {}).get("type") == "home":
                for user_id in {context.user_id, *context.get(HOME_FOR, [])} - {None}:
                    page = home_page(body) if user_id == context.user_id else 0
                    _try(lambda u=user_id, p=page: publish_home(services, client, team_of(context, body), u, p))

    return follow_up


def publish_home(services: Services, client: WebClient, team_id: str, user_id: str, page: int = 0) -> None:
    from bot.views.home import home_view

    home = services.home.home(team_id, user_id, page)
    reader = services.people.cached_person(team_id, user_id)
    client.views_publish(user_id=user_id, view=home_view(home, reader, services.clock.now()))


def learn_caller(services: Services) -> Callable[..., None]:
    """Keep the caller's time zone fresh so the next answer renders dates in it."""

    def learn(context: BoltContext, body: dict[str, Any], client: WebClient) -> None:
        user_id = context.user_id
        if not user_id:
            return
        _try(lambda: services.people.lookup(SlackGateway(client), team_of(context, body), user_id))

    return learn


def person_in_form(
    services: Services, client: WebClient, team_id: str, user_id: str, field: str, again: str, timeout: int = 2
) -> Person:
    """Someone picked in a form, looked up before the ack (from cache, else from Slack with a short
    timeout); a field error saying so when Slack cannot tell who they are. `again`: how to retry."""
    try:
        return services.people.lookup(SlackGateway(quick_client(client, timeout)), team_id, user_id)
    except SlackFailure as exc:
        if exc.error == "user_not_found":
            raise UserError("I can't find that person in this workspace.", field=field) from None
        raise UserError(f"Slack didn't answer when I checked this person; {again}.", field=field) from None


def look_up_picked(services: Services) -> Callable[..., None]:
    """For a person picker that dispatches on change: look them up as soon as they are picked, so that
    submitting the form usually needs no Slack call before its ack."""

    def look_up(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        picked = (body.get("actions") or [{}])[0].get("selected_user")
        if picked:
            # If Slack is unreachable now, the submit looks again and says so.
            with suppress(SlackFailure):
                services.people.lookup(SlackGateway(client), team_of(context, body), picked)

    return look_up


def handle_error(error: Exception, request: BoltRequest, body: dict[str, Any]) -> BoltResponse:
    """Bolt calls this when a listener raised. The person always gets an answer; nothing leaks."""
    if isinstance(error, UserError):
        message = esc(error.message)
    elif isinstance(error, (OperationalError, DBAPIError)):
        log.error("database_unavailable", extra={"error": type(error).__name__})
        message = TRY_AGAIN
    else:
        ref = _ref()
        log.exception("listener_failed", extra={"ref": ref}, exc_info=error)
        message = f"Something went wrong (ref {ref}). Nothing was changed; try again, or quote the ref to your admin."
    kind = body.get("type")
    if kind == "event_callback":
        # Tell Slack to retry the event: the retry is the only copy we will get.
        return BoltResponse(status=503, body="")
    if body.get("command"):
        return BoltResponse(
            status=200, body=json.dumps(ephemeral(message)), headers={"content-type": "application/json"}
        )
    if kind == "view_submission":
        return BoltResponse(
            status=200,
            body=json.dumps({"response_action": "update", "view": _error_view(message)}),
            headers={"content-type": "application/json"},
        )
    request.context[REPLY] = ephemeral(message)
    return BoltResponse(status=200, body="")


def _error_view(message: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Clinic Bot"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message, "verbatim": True}}],
    }


def _ref() -> str:
    return secrets.token_hex(3).upper()


def _try(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:
        log.warning("best_effort_call_failed", exc_info=True)
