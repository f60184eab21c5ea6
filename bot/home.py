"""The App Home tab: each person's own actions (overdue, due in the next 7 days, later, recently done)
and, for leads and sponsors, a card per clinic with its numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.dates import end_of_day
from bot.people import People
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, Clinic

PAGE = 25  # actions a page: two blocks each, well inside the Home tab's 100


@dataclass
class Home:
    overdue: list[Action] = field(default_factory=list)
    next_7_days: list[Action] = field(default_factory=list)  # due from now to the end of the 6th day after today
    later: list[Action] = field(default_factory=list)
    done: list[Action] = field(default_factory=list)
    clinics: list[tuple[Clinic, int, int, int]] = field(default_factory=list)  # clinic, open, overdue, blocked
    page: int = 0
    pages: int = 1


class HomeService:
    def __init__(self, session_factory: SessionFactory, clock: Clock, people: People) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._people = people

    def home(self, team_id: str, user_id: str, page: int = 0) -> Home:
        now = self._clock.now()
        with self._sessions() as session:
            mine = list(queries.open_actions_owned_by(session, team_id, user_id, limit=2000))
            pages = max(1, -(-len(mine) // PAGE))
            page = min(max(page, 0), pages - 1)
            shown = mine[page * PAGE : (page + 1) * PAGE]
            # An action is due at the end of its day in its owner's time zone, so for the owner reading this the
            # next 7 days hold what is due today and on the six days after, whatever the time of day. Counted on
            # their calendar, not as 168 hours: a week across a daylight saving change is an hour longer or shorter.
            reader = self._people.cached(session, team_id, user_id)
            soon_end = end_of_day(reader.local(now).date() + timedelta(days=6), reader.tz)
            home = Home(
                overdue=[a for a in shown if a.due_at < now],
                next_7_days=[a for a in shown if now <= a.due_at <= soon_end],
                later=[a for a in shown if a.due_at > soon_end],
                done=list(queries.recently_done_by(session, team_id, user_id, now - timedelta(days=7), limit=10)),
                page=page,
                pages=pages,
            )
            for clinic in queries.clinics_of_leader(session, team_id, user_id):
                home.clinics.append((clinic, *queries.count_open_in_clinic(session, team_id, clinic.id, now)))
            return home

    def readers(self, action: Action) -> list[str]:
        """Whose Home tab a change to the action alters: its owner's and its assigner's, and, as its clinic's card
        counts it, the clinic's lead's and sponsor's. Each once."""
        people = {action.owner_id, action.assigner_id}
        if action.clinic_id is not None:
            with self._sessions() as session:
                clinic = queries.get_clinic(session, action.team_id, action.clinic_id)
            if clinic is not None:
                people |= {clinic.lead_id, *([clinic.sponsor_id] if clinic.sponsor_id else [])}
        return sorted(people)
