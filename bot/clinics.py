"""Clinics: registering one with its lead, sponsor, channel and focus areas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.errors import UserError
from bot.views import clinics as views
from storage import queries
from storage.db import SessionFactory
from storage.models import Clinic, FocusArea

MAX_FOCUS_AREAS = 4
NAME_LIMIT = 100
AREA_LIMIT = 150


@dataclass(frozen=True)
class NewClinic:
    team_id: str
    name: str
    lead_id: str
    created_by: str
    sponsor_id: str | None = None
    channel_id: str | None = None
    focus_areas: Sequence[str] = field(default_factory=tuple)


class ClinicService:
    def __init__(self, session_factory: SessionFactory, clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def register(self, new: NewClinic) -> Clinic:
        name = " ".join(new.name.split())
        if not name:
            raise UserError("The clinic needs a name.", field="name")
        if len(name) > NAME_LIMIT:
            raise UserError(f"Keep the name under {NAME_LIMIT} characters.", field="name")
        areas = [" ".join(a.split()) for a in new.focus_areas if a.strip()]
        if len(areas) > MAX_FOCUS_AREAS:
            raise UserError(
                f"A clinic agrees at most {MAX_FOCUS_AREAS} focus areas, so that each gets "
                "real attention. Merge or drop one.",
                field="focus",
            )
        for area in areas:
            if len(area) > AREA_LIMIT:
                raise UserError(f"Keep each focus area under {AREA_LIMIT} characters.", field="focus")
        if new.sponsor_id and new.sponsor_id == new.lead_id:
            raise UserError(
                "The executive sponsor should be someone other than the lead: "
                "they are who escalations go to next.",
                field="sponsor",
            )
        now = self._clock.now()
        key = queries.clinic_name_key(name)
        try:
            with self._sessions.begin() as session:
                if queries.find_clinic_by_name(session, new.team_id, name) is not None:
                    raise _duplicate(name)
                clinic = Clinic(
                    team_id=new.team_id,
                    name=name,
                    name_key=key,
                    lead_id=new.lead_id,
                    sponsor_id=new.sponsor_id,
                    channel_id=new.channel_id,
                    created_by=new.created_by,
                    created_at=now,
                    focus_areas=[
                        FocusArea(team_id=new.team_id, position=i, name=area)
                        for i, area in enumerate(areas, start=1)
                    ],
                )
                session.add(clinic)
                session.flush()
                for recipient in {new.lead_id, new.sponsor_id} - {None, new.created_by}:
                    text, blocks = views.clinic_role_message(clinic, recipient)
                    queries.enqueue(
                        session,
                        team_id=new.team_id,
                        dedupe_key=f"clinic_role:{clinic.id}:{recipient}",
                        kind="clinic_role",
                        recipient=recipient,
                        action_id=None,
                        text=text,
                        blocks=blocks,
                        created_at=now,
                        not_before=now,
                    )
                return clinic
        except IntegrityError:
            # Two people registering the same name at once: the unique constraint decides.
            raise _duplicate(name) from None

    def list(self, team_id: str) -> Sequence[Clinic]:
        with self._sessions() as session:
            return queries.list_clinics(session, team_id)


def _duplicate(name: str) -> UserError:
    return UserError(f"There is already a clinic called \u201c{name}\u201d here.", field="name")
