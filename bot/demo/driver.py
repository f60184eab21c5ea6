"""Plays Slack's side of the conversation: builds the payloads Slack sends an app (shapes from Slack's own
samples), signs them with the signing secret exactly as Slack does, and dispatches them into the real Bolt app."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest

from bot.demo.standin import text_in

TEAM = "T0001"
_counter = itertools.count(1)


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)  # ok: Slack signs with the wall clock
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


@dataclass
class Answer:
    """What the app sent back in the HTTP response to Slack (the ack)."""

    status: int
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return text_in(self.body)


class SlackDriver:
    def __init__(
        self, app: App, signing_secret: str, response_url: str, team_id: str = TEAM, enterprise_id: str | None = None
    ) -> None:
        """`enterprise_id`: the Enterprise Grid org the workspace belongs to; Slack names it in every payload."""
        self.app = app
        self.secret = signing_secret
        self.response_url = response_url
        self.team_id = team_id
        self.enterprise_id = enterprise_id

    def _dispatch(self, body: str, content_type: str, extra_headers: dict[str, str] | None = None) -> Answer:
        headers = {"content-type": content_type, **sign(self.secret, body), **(extra_headers or {})}
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        try:
            parsed = json.loads(response.body) if response.body else {}
        except ValueError:
            parsed = {"raw": response.body}
        return Answer(response.status, parsed)

    def _interaction(self, payload: dict[str, Any]) -> Answer:
        if self.enterprise_id:
            payload["enterprise"] = {"id": self.enterprise_id, "name": "Grid org"}
        return self._dispatch(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def command(self, user: str, text: str, *, channel: str = "C0CLINIC") -> Answer:
        n = next(_counter)
        form = {
            "token": "placeholder",
            "team_id": self.team_id,
            "team_domain": "clinic",
            "channel_id": channel,
            "channel_name": "clinic",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/clinic",
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": f"{self.response_url}-cmd{n}",
            "trigger_id": f"trigger-{n}",
        }
        if self.enterprise_id:
            form |= {"enterprise_id": self.enterprise_id, "enterprise_name": "Grid org"}
        return self._dispatch(urlencode(form), "application/x-www-form-urlencoded")

    def click(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str | None = None,
        message_ts: str = "1700000000.000100",
        blocks: list[dict[str, Any]] | None = None,
        ephemeral: bool = False,
        home: bool = False,
        home_view: dict[str, Any] | None = None,
        modal: str | None = None,
    ) -> Answer:
        """A button pressed on a message holding `blocks`, on the person's Home tab (`home_view`: the tab as
        published, which Slack sends back with the press), or in an open modal whose callback id is `modal`.
        Slack sends an ephemeral message's blocks back to no one (its payload has no `message`), and a press on
        the Home tab or in a modal has neither a message nor a `response_url` to answer through."""
        n = next(_counter)
        channel = channel or "D" + user
        where: dict[str, Any]
        if modal:
            where = {
                "container": {"type": "view", "view_id": "VMODAL"},
                "view": {"id": "VMODAL", "type": "modal", "callback_id": modal, "state": {"values": {}}},
            }
        elif home or home_view is not None:
            shown = home_view or {"blocks": blocks or []}
            where = {
                "container": {"type": "view", "view_id": "VHOME"},
                "view": {**shown, "id": "VHOME", "type": "home", "state": {"values": {}}},
            }
        else:
            where = {
                "container": {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel,
                    "is_ephemeral": ephemeral,
                },
                "channel": {"id": channel, "name": "directmessage"},
                **(
                    {}
                    if ephemeral
                    else {"message": {"type": "message", "ts": message_ts, "text": "", "blocks": blocks or []}}
                ),
                "response_url": f"{self.response_url}-click{n}",
            }
        return self._interaction(
            {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
                "api_app_id": "A0001",
                "token": "placeholder",
                "trigger_id": f"trigger-{n}",
                "team": {"id": self.team_id, "domain": "clinic"},
                **where,
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": f"action:{value}",
                        "text": {"type": "plain_text", "text": action_id},
                        "value": value,
                        "type": "button",
                        "action_ts": "1700000001.000200",
                    }
                ],
            }
        )

    def select_user(self, user: str, action_id: str, selected: str) -> Answer:
        n = next(_counter)
        return self._interaction(
            {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
                "api_app_id": "A0001",
                "token": "placeholder",
                "container": {"type": "view", "view_id": "V0001"},
                "trigger_id": f"trigger-{n}",
                "team": {"id": self.team_id, "domain": "clinic"},
                "view": {
                    "id": "V0001",
                    "type": "modal",
                    "callback_id": "action_add",
                    "state": {"values": {}},
                },
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": action_id,
                        "type": "users_select",
                        "selected_user": selected,
                        "action_ts": "1700000001.000200",
                    }
                ],
            }
        )

    def submit(
        self,
        user: str,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        private_metadata: str = "",
    ) -> Answer:
        """`values` maps block id -> the element state, for example
        {"action_title": {"type": "plain_text_input", "value": "x"}}. In our modals an input's action id
        equals its block id."""
        n = next(_counter)
        state = {block: {block: element} for block, element in values.items()}
        return self._interaction(
            {
                "type": "view_submission",
                "team": {"id": self.team_id, "domain": "clinic"},
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
                "api_app_id": "A0001",
                "token": "placeholder",
                "trigger_id": f"trigger-{n}",
                "view": {
                    "id": f"V{n:04d}",
                    "team_id": self.team_id,
                    "type": "modal",
                    "blocks": [],
                    "private_metadata": private_metadata,
                    "callback_id": callback_id,
                    "state": {"values": state},
                    "hash": "1",
                    "title": {"type": "plain_text", "text": "x"},
                    "app_id": "A0001",
                    "bot_id": "B0001",
                },
                "response_urls": [],
            }
        )

    def shortcut(self, user: str, callback_id: str, *, channel: str, message_ts: str, text: str) -> Answer:
        n = next(_counter)
        return self._interaction(
            {
                "type": "message_action",
                "token": "placeholder",
                "action_ts": "1700000001.000200",
                "team": {"id": self.team_id, "domain": "clinic"},
                "user": {"id": user, "name": user.lower()},
                "channel": {"id": channel, "name": "clinic"},
                "callback_id": callback_id,
                "trigger_id": f"trigger-{n}",
                "message_ts": message_ts,
                "message": {"type": "message", "user": "UNOTES", "text": text, "ts": message_ts},
                "response_url": f"{self.response_url}-shortcut{n}",
            }
        )

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None) -> Answer:
        body = {
            "token": "placeholder",
            "team_id": self.team_id,
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):08d}",
            "event_time": int(time.time()),  # ok: stamped by Slack when it sends
            "authorizations": [
                {"enterprise_id": self.enterprise_id, "team_id": self.team_id, "user_id": "UBOT", "is_bot": True}
            ],
        }
        if self.enterprise_id:
            body["enterprise_id"] = self.enterprise_id
        headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"} if retry else None
        return self._dispatch(json.dumps(body), "application/json", headers)

    def dm_reply(self, user: str, channel: str, thread_ts: str, text: str, **kw: Any) -> Answer:
        n = next(_counter)
        return self.event(
            {
                "type": "message",
                "channel": channel,
                "channel_type": "im",
                "user": user,
                "text": text,
                "ts": f"17000{n:05d}.000100",
                "thread_ts": thread_ts,
                "event_ts": f"17000{n:05d}.000100",
            },
            **kw,
        )
