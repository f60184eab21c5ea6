"""Events: progress notes replied in an action's DM thread, people changing their profile, and a workspace
removing the app."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.errors import UserError
from bot.patient_data import ADVICE
from bot.people import Person
from bot.services import Services
from bot.slack import SlackProfile
from bot.views.text import unescape
from handlers.replies import EPHEMERAL, REACT, make_follow_up, team_of

# A reply with a file attached, or also sent to the conversation, is still the person's reply in the thread;
# edits, deletions, bot messages and the rest are not.
REPLY_SUBTYPES = {None, "file_share", "thread_broadcast"}


def reply_text(event: dict[str, Any]) -> str:
    """What the person typed; for files sent without words, their names, so the note says what came."""
    if text := unescape(event.get("text") or "").strip():
        return text
    names = [f.get("name") or f.get("title") for f in event.get("files") or []]
    if not names:
        return ""
    return "Attached " + ", ".join(name or "a file" for name in names)


def register(app: App, services: Services) -> None:
    def note_from_thread(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        if event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id") or not event.get("thread_ts"):
            return
        if event.get("channel_type") != "im":
            return
        reply = {
            "channel": event["channel"],
            "thread_ts": event["thread_ts"],
            "actor_id": event.get("user", ""),
            "text": reply_text(event),
            "event_id": body.get("event_id", ""),
        }
        hint = {"channel": event["channel"], "user": reply["actor_id"], "thread_ts": event["thread_ts"]}
        team_id = team_of(context, body)
        if found := services.patient_data.found_in(reply["text"]):
            if services.actions.first_delivery(team_id, reply["event_id"]):  # explained once, however often sent
                context[EPHEMERAL] = {**hint, "text": f"I didn't keep that: it looks like {found}. {ADVICE}"}
            return
        try:
            noted = services.one_on_one.topic_from_reply(team_id, **reply) or services.actions.note_from_reply(
                team_id, **reply
            )
        except UserError as exc:  # which action a reply to a nudge about several is about
            context[EPHEMERAL] = {**hint, "text": exc.message}
            return
        if noted:
            context[REACT] = {"channel": event["channel"], "ts": event["ts"], "name": "memo"}

    def profile_changed(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        user = event.get("user") or {}
        if not user.get("id"):
            return
        team_id = team_of(context, body)
        services.people.remember(team_id, Person.from_profile(SlackProfile.from_user(user), team_id))

    def workspace_removed(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        """The app was uninstalled, or its bot token revoked: send nothing more there, keep no token."""
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens went, and the bot holds none
        services.workspaces.removed(team_of(context, body))

    app.event("message")(ack=note_from_thread, lazy=[make_follow_up(services)])
    app.event("app_uninstalled")(workspace_removed)
    app.event("tokens_revoked")(workspace_removed)
    app.event("user_change")(profile_changed)
