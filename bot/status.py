"""`/clinic status`: which open actions a person asked about, limited to what they may see, a page at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal, get_args

from bot.clock import Clock
from bot.errors import NotFound
from bot.people import People
from storage import queries
from storage.db import SessionFactory
from storage.models import Action, Clinic

SHOWN = 15  # each action is two blocks; Slack allows 50 a message
FETCH = 200  # loaded to say how many more there are; past that, they are counted, not loaded

StatusKind = Literal["mine", "person", "channel", "clinic", "clinic_id", "overdue"]
KINDS = get_args(StatusKind)
LAST_PAGE = FETCH // SHOWN - 1  # the furthest a list is paged (each page whole); past it, narrowing it down


@dataclass(frozen=True)
class StatusQuery:
    team_id: str
    viewer_id: str
    kind: StatusKind = "mine"
    target: str | None = None
    page: int = 0


def page_value(query: StatusQuery, page: int) -> str:
    """What a paging button carries: the list and the page, never who may see it (decided on each press)."""
    return json.dumps({"kind": query.kind, "target": query.target, "page": page})


def paged(team_id: str, viewer_id: str, value: str) -> StatusQuery:
    """The query a paging button asks for, for whoever pressed it; the first page of their own actions when
    the value is not one the bot wrote."""
    try:
        asked = json.loads(value)
        kind, target, page = asked["kind"], asked["target"], asked["page"]
    except (ValueError, TypeError, KeyError):
        return StatusQuery(team_id, viewer_id)
    if kind not in KINDS or not isinstance(page, int) or not 0 <= page <= LAST_PAGE:
        return StatusQuery(team_id, viewer_id)
    if kind not in ("mine", "overdue") and not (isinstance(target, str) and target):
        return StatusQuery(team_id, viewer_id)
    return StatusQuery(team_id, viewer_id, kind, target, page)


@dataclass(frozen=True)
class ClinicSummary:
    clinic: Clinic
    open: int
    overdue: int
    blocked: int
    full_view: bool


@dataclass
class StatusReport:
    heading: str
    actions: Sequence[Action]  # the page asked for
    more: int = 0  # after it
    clinics: list[ClinicSummary] = field(default_factory=list)
    page: int = 0

    @property
    def first(self) -> int:
        """How many come before the page."""
        return self.page * SHOWN

    @property
    def further(self) -> bool:
        """Whether a next page can be shown."""
        return self.more > 0 and self.page < LAST_PAGE


class StatusService:
    def __init__(self, session_factory: SessionFactory, clock: Clock, people: People) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._people = people

    def report(self, query: StatusQuery) -> StatusReport:
        now = self._clock.now()
        cut = partial(_cut, page=query.page)
        with self._sessions() as session:
            if query.kind == "mine":
                found = queries.open_actions_owned_by(
                    session, query.team_id, query.viewer_id, limit=FETCH, loading=queries.FOR_LINES
                )
                total = _total(found, lambda: queries.count_open_owned_by(session, query.team_id, query.viewer_id))
                return cut("Your open actions", found, total)
            if query.kind == "overdue":
                found = queries.open_actions_visible_to(
                    session, query.team_id, query.viewer_id, overdue_at=now, limit=FETCH, loading=queries.FOR_LINES
                )
                total = _total(
                    found,
                    lambda: queries.count_open_visible_to(session, query.team_id, query.viewer_id, overdue_at=now),
                )
                return cut("Overdue actions you can see", found, total)
            if query.kind == "person":
                assert query.target
                found = queries.open_actions_visible_to(
                    session,
                    query.team_id,
                    query.viewer_id,
                    owner_id=query.target,
                    limit=FETCH,
                    loading=queries.FOR_LINES,
                )
                total = _total(
                    found,
                    lambda: queries.count_open_visible_to(
                        session, query.team_id, query.viewer_id, owner_id=query.target
                    ),
                )
                # The heading is plain text, where a mention would show as its raw id.
                name = self._people.cached(session, query.team_id, query.target).name or "that person"
                return cut(f"Open actions of {name} that you can see", found, total)
            assert query.target
            if query.kind == "channel":
                clinics = list(queries.clinics_in_channel(session, query.team_id, query.target))
                if not clinics:
                    raise NotFound("No clinic reports to that channel. Register one with `/clinic new`.")
            elif query.kind == "clinic_id":
                clinic = (
                    queries.get_clinic(session, query.team_id, int(query.target)) if query.target.isdigit() else None
                )
                if clinic is None:
                    raise NotFound("That clinic no longer exists.")
                clinics = [clinic]
            else:
                clinic = queries.find_clinic_by_name(session, query.team_id, query.target)
                if clinic is None:
                    names = ", ".join(c.name for c in queries.list_clinics(session, query.team_id))
                    raise NotFound(
                        "There is no clinic with that name."
                        + (f" Clinics here: {names}." if names else " Register one with `/clinic new`.")
                    )
                clinics = [clinic]
            summaries = []
            full_ids, own_ids = [], []
            for clinic in clinics:
                full = query.viewer_id in (clinic.lead_id, clinic.sponsor_id)
                counts = queries.count_open_in_clinic(session, query.team_id, clinic.id, now)
                summaries.append(ClinicSummary(clinic, *counts, full_view=full))
                (full_ids if full else own_ids).append(clinic.id)
            found = list(
                queries.open_actions_in_clinics(
                    session, query.team_id, full_ids, limit=(query.page + 1) * SHOWN, loading=queries.FOR_LINES
                )
            )
            total = sum(s.open for s in summaries if s.full_view)
            if own_ids:  # a clinic they neither lead nor sponsor: the actions they own or assigned in it
                own = queries.open_actions_visible_to(
                    session, query.team_id, query.viewer_id, clinic_ids=own_ids, limit=FETCH, loading=queries.FOR_LINES
                )
                found = sorted([*found, *own], key=lambda a: (a.due_at, a.id))
                total += _total(
                    own,
                    lambda: queries.count_open_visible_to(session, query.team_id, query.viewer_id, clinic_ids=own_ids),
                )
            heading = "Open actions in " + ", ".join(c.name for c in clinics)
            report = cut(heading, found, total)
            report.clinics = summaries
            return report


def _total(found: Sequence[Action], count: Callable[[], int]) -> int:
    """How many there are: those loaded, or counted when the load stopped at FETCH."""
    return count() if len(found) >= FETCH else len(found)


def _cut(heading: str, found: Sequence[Action], total: int, *, page: int) -> StatusReport:
    """The `page`th SHOWN of `found` (in the order they are listed), and how many of `total` come after; the
    last page when the list has grown shorter than that since its button was drawn."""
    if page * SHOWN >= len(found) > 0:
        page = (len(found) - 1) // SHOWN
    shown = found[page * SHOWN : (page + 1) * SHOWN]
    return StatusReport(heading, shown, more=max(0, total - page * SHOWN - len(shown)), page=page)
