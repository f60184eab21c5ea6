"""Which bot token speaks for which workspace: one token for one workspace, or an installation per
workspace (Slack's OAuth flow). Delivery asks here for each message; an uninstalled workspace has none."""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize

from bot.clock import Clock
from bot.settings import SettingsError
from bot.slack import REFUSED_TOKEN_ERRORS, RecipientGone, SlackFailure, SlackGateway, new_web_client
from storage import queries
from storage.db import SessionFactory
from storage.installations import EncryptedInstallationStore

log = logging.getLogger("clinic_bot.workspaces")

UNINSTALLED = "app_uninstalled"


class Tokens(Protocol):
    def gateway(self, team_id: str) -> SlackGateway: ...

    def forget(self, team_id: str) -> None: ...

    def check(self) -> None:
        """At start-up: raise SettingsError when the tokens can definitely not be used."""
        ...


class OneToken(Authorize):
    """Bolt's authorization of a request when one token serves one workspace. Bolt's own asks Slack who the
    token is (auth.test) before the first ack after a start, and when Slack blips it tells the person to
    reinstall the app and answers an event 200, so Slack never sends it again. The request is signed, so
    the token is the one to use; who it speaks for is only known once the start-up check asked, and is only
    needed to skip the bot's own events, which the listeners skip by their `bot_id` anyway."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.identity: dict[str, Any] = {}

    def __call__(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: Any
    ) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=self.identity.get("user_id"),
            bot_id=self.identity.get("bot_id"),
            bot_token=self.token,
            user_id=user_id,
        )


class OneWorkspace:
    """One token for one workspace. Removing the app revokes it, and the admin adds the app again and starts
    the bot with the new token: the workspace is marked removed until a start finds Slack accepting it."""

    def __init__(self, token: str | None, api_url: str, session_factory: SessionFactory, clock: Clock) -> None:
        self._gateway = SlackGateway(new_web_client(token, api_url))
        self._token, self._api_url = token, api_url
        self._sessions, self._clock = session_factory, clock
        self.authorize = OneToken(token)

    def check(self) -> None:
        """Ask Slack whether it knows the token. A wrong or revoked one would otherwise start cleanly and
        then close every queued message as failed; a Slack outage must not keep the bot from starting
        (delivery waits it out), so only a definite refusal stops start-up."""
        try:
            who = SlackGateway(new_web_client(self._token, self._api_url, timeout=5)).identity()
        except SlackFailure as exc:
            if exc.error in REFUSED_TOKEN_ERRORS:
                raise SettingsError(
                    f"SLACK_BOT_TOKEN: Slack refused it ({exc.error}). Copy the Bot User OAuth Token (xoxb-...) "
                    "again from the app's OAuth & Permissions page at api.slack.com/apps."
                ) from None
            log.warning("token_not_checked", extra={"error": exc.error})
            return
        self.authorize.identity = who
        log.info("token_checked", extra={"team_id": who.get("team_id")})
        if who.get("team_id"):
            with self._sessions.begin() as session:
                back = queries.mark_back(session, who["team_id"])
            if back:  # what went overdue meanwhile is caught up by the next pass, one message per item
                log.warning("workspace_back", extra={"team_id": who["team_id"]})

    def gateway(self, team_id: str) -> SlackGateway:
        return self._gateway

    def forget(self, team_id: str) -> None:
        """The token is revoked with the app: the passes plan nothing more for the workspace (the settings
        hold the token, so there is none to delete)."""
        with self._sessions.begin() as session:
            queries.mark_removed(session, team_id, self._clock.now())


class InstalledWorkspaces:
    def __init__(self, store: EncryptedInstallationStore, api_url: str) -> None:
        self._store = store
        self._api_url = api_url
        self._gateways: dict[str, SlackGateway] = {}  # by token: a reinstall brings a new one
        self._lock = threading.Lock()

    def gateway(self, team_id: str) -> SlackGateway:
        bot = self._store.find_bot(enterprise_id=self._store.enterprises_of(team_id)[0], team_id=team_id)
        if bot is None or not bot.bot_token:
            raise RecipientGone(UNINSTALLED)
        with self._lock:
            if bot.bot_token not in self._gateways:
                self._gateways[bot.bot_token] = SlackGateway(new_web_client(bot.bot_token, self._api_url))
            return self._gateways[bot.bot_token]

    def check(self) -> None:
        """With a wrong TOKEN_ENCRYPTION_KEY every stored token is unreadable and the bot would run on
        saying nothing to anyone; refuse that. A few unreadable ones are logged: those workspaces reinstall."""
        stored, readable = self._store.readable_bots()
        if stored and not readable:
            raise SettingsError(
                f"TOKEN_ENCRYPTION_KEY: it opens none of the {stored} stored workspace token(s); set the key "
                "they were stored with (a new key means every workspace installs again)."
            )
        if readable < stored:
            log.warning("tokens_unreadable", extra={"stored": stored, "readable": readable})

    def forget(self, team_id: str) -> None:
        for enterprise_id in self._store.enterprises_of(team_id):
            self._store.delete_installation(enterprise_id=enterprise_id, team_id=team_id)
            self._store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        with self._lock:
            self._gateways.clear()


class Workspaces:
    """What happens when a workspace removes the app or revokes its token: no more sending there."""

    def __init__(self, session_factory: SessionFactory, tokens: Tokens) -> None:
        self._sessions = session_factory
        self.tokens = tokens

    def removed(self, team_id: str) -> int:
        """Forget the workspace's token and close what was still to be sent there; returns how many."""
        self.tokens.forget(team_id)
        with self._sessions.begin() as session:
            closed = queries.close_pending_for_team(session, team_id, UNINSTALLED)
        log.warning("workspace_removed", extra={"team_id": team_id, "messages_closed": closed})
        return closed
