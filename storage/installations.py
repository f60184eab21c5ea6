"""Installations in several workspaces (Slack's OAuth flow), kept by slack_sdk's SQLAlchemy store in our
database, with every token encrypted at rest by a key that lives only in the environment. A dump of the
database holds no usable token."""

from __future__ import annotations

import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, desc, select

from storage.models import SLACK_BOTS, SLACK_INSTALLATIONS

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
PREFIX = "enc:"

log = logging.getLogger("clinic_bot.installations")


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    def __init__(self, client_id: str, engine: Engine, key: str) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.installations, self.bots = SLACK_INSTALLATIONS, SLACK_BOTS
        self._fernet = Fernet(key.encode())

    def save(self, installation: Installation) -> None:
        super().save(self._sealed(installation))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._sealed(bot))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False):  # type: ignore[no-untyped-def, override]
        found = super().find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return self._opened(found) if found is not None else None

    def find_installation(self, **kwargs: Any):  # type: ignore[no-untyped-def, override]
        found = super().find_installation(**kwargs)
        return self._opened(found) if found is not None else None

    def _sealed(self, entity: Any) -> Any:
        copy = _copy(entity)
        for name in TOKEN_FIELDS:
            value = getattr(copy, name, None)
            if value and not value.startswith(PREFIX):
                setattr(copy, name, PREFIX + self._fernet.encrypt(value.encode()).decode())
        return copy

    def _opened(self, entity: Any) -> Any:
        for name in TOKEN_FIELDS:
            value = getattr(entity, name, None)
            if value and value.startswith(PREFIX):
                try:
                    setattr(entity, name, self._fernet.decrypt(value[len(PREFIX) :].encode()).decode())
                except InvalidToken:
                    # Another key: as good as no token. Said each time, or a wrong key passes for silence.
                    log.warning(
                        "token_unreadable",
                        extra={"team_id": getattr(entity, "team_id", None), "token_field": name},
                    )
                    setattr(entity, name, None)
        return entity

    def enterprises_of(self, team_id: str) -> list[str | None]:
        """The Enterprise Grid org(s) the workspace installed the app in, latest first; [None] when not in
        one. A workspace of a Grid org is stored under its org's id, and found only with it."""
        c = self.bots.c
        query = (
            select(c.enterprise_id)
            .where(c.client_id == self.client_id, c.team_id == team_id)
            .order_by(desc(c.installed_at))
        )
        with self.engine.connect() as connection:
            found = list(dict.fromkeys(row[0] for row in connection.execute(query)))
        return found or [None]

    def readable_bots(self) -> tuple[int, int]:
        """How many workspaces have a bot token stored, and how many of those this key opens."""
        query = select(self.bots.c.team_id, self.bots.c.bot_token).where(
            self.bots.c.client_id == self.client_id, self.bots.c.bot_token.is_not(None)
        )
        with self.engine.connect() as connection:
            latest = dict(connection.execute(query.order_by(self.bots.c.id)).all())  # reinstalls add rows
        readable = sum(1 for token in latest.values() if self._opens(token))
        return len(latest), readable

    def _opens(self, value: str) -> bool:
        if not value.startswith(PREFIX):
            return True  # kept as written, as `_opened` reads it
        try:
            self._fernet.decrypt(value.removeprefix(PREFIX).encode())
        except InvalidToken:
            return False
        return True


def _copy(entity: Any) -> Any:
    """slack_sdk's Installation and Bot are plain classes: a copy of the attributes leaves the caller's
    object holding its readable token."""
    copy = object.__new__(type(entity))
    copy.__dict__.update(vars(entity))
    return copy
