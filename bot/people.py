"""Who people are: time zone, display name, whether they are still active and members of the workspace. Cached
from Slack's users.info."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import UserError
from bot.slack import SlackGateway, SlackProfile
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
    outsider: bool = False  # not a member of the workspace: a Slack Connect user of another organisation...

    @classmethod
    def from_profile(cls, profile: SlackProfile, team_id: str) -> Person:
        """The person as the workspace `team_id` sees them."""
        return cls(
            profile.user_id, profile.name, profile.tz, profile.deleted, profile.is_bot, not profile.member_of(team_id)
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)


def check_active(person: Person, field: str, duty: str) -> None:
    """Refuse a bot, a deactivated account or someone from outside the workspace for `duty` ("own an
    action"...), which needs a working person of the workspace: what the clinic asks of them must not leave it."""
    if person.outsider:
        raise UserError(
            f"{person.name or 'That person'} is not a member of this workspace (a guest from another organisation "
            f"or workspace in a shared channel), so they cannot {duty}. Pick someone from this workspace.",
            field=field,
        )
    if person.is_bot:
        raise UserError(f"Bots cannot {duty}: pick a person.", field=field)
    if person.deleted:
        raise UserError(
            f"{person.name or 'That person'} is deactivated in Slack, so they cannot {duty}. Pick someone active.",
            field=field,
        )


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _person(row: SlackUser) -> Person:
    return Person(row.user_id, row.name, row.tz, row.deleted, row.is_bot, row.outsider)


class People:
    """People as last seen. Every answer reads one, so this process keeps each row it read for a minute
    (`KEEP`): a change seen here applies at once, one seen by another process within the minute."""

    KEEP = 60.0  # seconds, real time
    KEPT_AT_MOST = 10_000

    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, Person, datetime]] = {}

    def cached(self, session: Session, team_id: str, user_id: str) -> Person:
        """The person as last seen, or a placeholder in UTC when we have never looked them up."""
        known = self._known(session, team_id, user_id)
        return known[0] if known else Person(user_id, "", "UTC")

    def cached_person(self, team_id: str, user_id: str) -> Person:
        with self._sessions() as session:
            return self.cached(session, team_id, user_id)

    def knows(self, team_id: str, user_id: str) -> bool:
        """Whether the person was seen lately enough that `lookup` would not ask Slack (no database read)."""
        kept = self._kept.get((team_id, user_id))
        return kept is not None and kept[0] > time.monotonic() and self._fresh(kept[2])

    def _known(self, session: Session, team_id: str, user_id: str) -> tuple[Person, datetime] | None:
        kept = self._kept.get((team_id, user_id))
        if kept is not None and kept[0] > time.monotonic():
            return kept[1], kept[2]
        row = queries.get_user(session, team_id, user_id)
        if row is None:
            return None
        self._keep(team_id, _person(row), row.refreshed_at)
        return _person(row), row.refreshed_at

    def _keep(self, team_id: str, person: Person, refreshed_at: datetime) -> None:
        if len(self._kept) >= self.KEPT_AT_MOST:
            self._kept.clear()
        self._kept[(team_id, person.user_id)] = (time.monotonic() + self.KEEP, person, refreshed_at)

    def _fresh(self, refreshed_at: datetime) -> bool:
        return self._clock.now() - refreshed_at < REFRESH_AFTER

    def lookup(self, slack: SlackGateway, team_id: str, user_id: str) -> Person:
        """The person, from cache while fresh, else from Slack (may raise the gateway's failures)."""
        with self._sessions() as session:
            known = self._known(session, team_id, user_id)
            if known is not None and self._fresh(known[1]):
                return known[0]
        person = Person.from_profile(slack.profile(user_id), team_id)
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
                    outsider=person.outsider,
                    refreshed_at=self._clock.now(),
                ),
            )
        self._keep(team_id, person, self._clock.now())
