"""Who people are: time zone, display name, whether they are still active. Cached from Slack's users.info."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.slack import SlackGateway
from storage import queries
from storage.db import SessionFactory
from storage.models import SlackUser

REFRESH_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    tz: str
    deleted: bool = False
    is_bot: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _person(row: SlackUser) -> Person:
    return Person(row.user_id, row.name, row.tz, row.deleted, row.is_bot)


class People:
    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def cached(self, session: Session, team_id: str, user_id: str) -> Person:
        """The person as last seen, or a placeholder in UTC when we have never looked them up."""
        row = queries.get_user(session, team_id, user_id)
        return _person(row) if row else Person(user_id, "", "UTC")

    def cached_person(self, team_id: str, user_id: str) -> Person:
        with self._sessions() as session:
            return self.cached(session, team_id, user_id)

    def lookup(self, slack: SlackGateway, team_id: str, user_id: str) -> Person:
        """The person, from cache while fresh, else from Slack (may raise the gateway's failures)."""
        now = self._clock.now()
        with self._sessions() as session:
            row = queries.get_user(session, team_id, user_id)
            if row is not None and now - row.refreshed_at < REFRESH_AFTER:
                return _person(row)
        profile = slack.profile(user_id)
        person = Person(profile.user_id, profile.name, profile.tz, profile.deleted, profile.is_bot)
        self.remember(team_id, person)
        return person

    def remember(self, team_id: str, person: Person) -> None:
        with self._sessions.begin() as session:
            queries.save_user(
                session,
                SlackUser(
                    team_id=team_id,
                    user_id=person.user_id,
                    name=person.name,
                    tz=person.tz,
                    deleted=person.deleted,
                    is_bot=person.is_bot,
                    refreshed_at=self._clock.now(),
                ),
            )
