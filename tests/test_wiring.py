"""The app as Slack sees it: the manifest and the listeners agree, and every message and view is valid Block Kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.people import Person
from bot.views import ids
from tests.conftest import ASSIGNER, LEAD, OWNER
from tests.helpers import opened_view, wait_dms, wait_response

MANIFEST = yaml.safe_load((Path(__file__).parents[1] / "app.yaml").read_text())
TEAM = {"id": "T0001"}
USER = {"id": "U1", "team_id": "T0001"}


def _probe(body: dict[str, Any]) -> BoltRequest:
    return BoltRequest(body=body, mode="socket_mode")


def manifest_probes() -> dict[str, BoltRequest]:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    probes = {}
    for command in features.get("slash_commands", []):
        probes[f"command {command['command']}"] = _probe(
            {
                "command": command["command"],
                "text": "",
                "team_id": "T0001",
                "user_id": "U1",
                "channel_id": "C1",
            }
        )
    for shortcut in features.get("shortcuts", []):
        kind = "message_action" if shortcut["type"] == "message" else "shortcut"
        probes[f"shortcut {shortcut['callback_id']}"] = _probe(
            {"type": kind, "callback_id": shortcut["callback_id"], "team": TEAM, "user": USER}
        )
    for name in settings["event_subscriptions"]["bot_events"]:
        event_type, _, channel_type = name.partition(".")
        event = {"type": event_type, **({"channel_type": channel_type} if channel_type else {})}
        probes[f"event {name}"] = _probe({"type": "event_callback", "team_id": "T0001", "event": event})
    return probes


def interactive_probes() -> list[BoltRequest]:
    """Buttons and modals live under `interactivity` and need no manifest entry of their own."""
    probes = [
        _probe(
            {
                "type": "block_actions",
                "team": TEAM,
                "user": USER,
                "actions": [{"action_id": action_id, "type": "button"}],
            }
        )
        for action_id in (
            ids.HOME_PAGE,
            ids.HOME_BACK,
            ids.HOME_CLINIC_STATUS,
            *ids.ACTION_BUTTONS,
            *ids.ESCALATION_BUTTONS,
            ids.EXTENSION_APPROVE,
            ids.EXTENSION_REFUSE,
            ids.ACTION_OWNER,
            ids.CLINIC_LEAD,
            ids.CLINIC_SPONSOR,
            *ids.INDICATOR_BUTTONS,
            ids.AGENDA_DISCUSSED,
            ids.STATUS_PAGE,
            ids.STATUS_BACK,
        )
    ]
    probes += [
        _probe(
            {
                "type": "view_submission",
                "team": TEAM,
                "user": USER,
                "view": {"type": "modal", "callback_id": callback_id},
            }
        )
        for callback_id in (
            ids.NEW_CLINIC_MODAL,
            ids.ADD_ACTION_MODAL,
            ids.BLOCKED_MODAL,
            ids.MORE_TIME_MODAL,
            ids.EXTEND_MODAL,
            ids.REASSIGN_MODAL,
            ids.EDIT_CLINIC_MODAL,
            ids.INDICATOR_MODAL,
            ids.REPORT_MODAL,
        )
    ]
    return probes


def test_every_command_shortcut_and_event_in_the_manifest_has_a_listener(bot):
    listeners = bot.bolt._listeners
    for name, probe in manifest_probes().items():
        assert any(listener.matches(req=probe, resp=BoltResponse(status=200)) for listener in listeners), name


def test_every_listener_answers_something_in_the_manifest_or_our_interactive_ids(bot):
    bot.services.people.remember("T0001", Person("U1", "Una", "UTC"))  # status for someone seen lately
    status = _probe({"command": "/clinic", "text": "status", "team_id": "T0001", "user_id": "U1", "channel_id": "C1"})
    probes = [*manifest_probes().values(), *interactive_probes(), status]
    for listener in bot.bolt._listeners:
        assert any(listener.matches(req=probe, resp=BoltResponse(status=200)) for probe in probes), (
            listener.ack_function.__module__,
            listener.ack_function.__qualname__,
        )


def test_manifest_asks_for_escaped_commands_and_no_more_scopes_than_used():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["should_escape"] is True
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "im:history",
        "im:write",
        "users:read",
        "reactions:write",
    }


def test_every_message_and_view_the_bot_sent_is_valid_block_kit(user, slack, db):
    from tests.test_clinics import register_clinic

    register_clinic(user, slack, db)
    user.command(LEAD, "add")
    opened_view(slack)
    user.command(ASSIGNER, f"add <@{OWNER}> Chase <!channel> & the TTOs by friday")
    wait_dms(slack, OWNER)
    wait_response(slack)
    status = user.command(OWNER, "status")
    help_answer = user.command(OWNER, "help")

    messages = [c.params for c in slack.calls if c.method in ("chat.postMessage", "chat.postEphemeral", "response_url")]
    messages += [status.body, help_answer.body]
    assert len(messages) >= 5
    for message in messages:
        blocks = message.get("blocks") or []
        assert len(blocks) <= 50
        for block in blocks:
            Block.parse(block).validate_json()
    for call in slack.calls_to("views.open"):
        View(**call.params["view"]).validate_json()
